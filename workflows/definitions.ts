import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow'
import type { BillingSettings, ChargeSplit } from './billing.js'

/** Names and data shapes shared by the call workflow, its activities, the client and the web. */

export const CALL_WORKFLOW_TYPE = 'callWorkflow'
export const callWorkflowId = (callId: string) => `call-${callId}`

/** Custom search attributes registered on the namespace, so admins can find a call by member, operator, status. */
export const searchAttributeNames = {
  memberId: 'MemberId',
  operatorId: 'OperatorId',
  callStatus: 'CallStatus',
} as const

export type CallMode = 'per_minute' | 'prepaid'

/**
 * How a call is carried (docs/decisions/060): in the platform's LiveKit room, with or without video, billed from the
 * moment LiveKit saw both parties joined; or on the operator's outside app, billed from the moment the member confirmed
 * on their own page that the call is connected.
 */
export type CallChannel = 'audio' | 'video' | 'outside'
export const CALL_CHANNELS = ['audio', 'video', 'outside'] as const satisfies readonly CallChannel[]
/** Channels whose media the platform carries (a LiveKit room). */
export const isPlatformChannel = (channel: CallChannel | undefined): boolean => channel === 'audio' || channel === 'video'

/** Why a call ended. The first three come from the plugin; the rest are decided by the platform. */
export type EndReason =
  | 'operator_hangup'
  | 'member_hangup'
  | 'other'
  | 'funds_exhausted'
  | 'heartbeat_lost'
  | 'prepaid_exhausted'
  | 'operator_disabled'
  /** The next period would pass the member's own daily or monthly spending cap. */
  | 'spending_cap'
  /** The call was accepted but the parties never both connected in time: nothing is charged. */
  | 'not_connected'
  /** The platform saw a party leave the call's room (or lose it for longer than the reconnect allowance). */
  | 'member_left'
  | 'operator_left'

export const PLUGIN_END_REASONS = ['operator_hangup', 'member_hangup', 'other'] as const
export const PLATFORM_END_REASONS: readonly EndReason[] = [
  'funds_exhausted',
  'heartbeat_lost',
  'prepaid_exhausted',
  'operator_disabled',
  'spending_cap',
  'not_connected',
  'member_left',
  'operator_left',
]

export interface CallInput {
  callId: string
  memberId: string
  operatorId: string
  companyId: string | null
  mode: CallMode
  /** Only for prepaid calls: the size of the block, in periods. */
  prepaidMinutes: number | null
  /** Frozen at call start. */
  ratePerMinuteCents: number
  settings: BillingSettings
  /** SHA-256 of the canonical start request; a reused callId with another body is refused by the API. */
  requestHash: string
  /** What the call answers: the member's own request or booking (docs/decisions/046). Opening checks it again. */
  consent: CallConsent
  /**
   * How the call is carried. Set for every call started since calls connect first (docs/decisions/060): the call is
   * then accepted, waits for both parties, and starts at that moment. Runs recorded before have none: they opened at once.
   */
  channel?: CallChannel
  /** How long an accepted call waits for both parties before it ends unbilled (not_connected). */
  connectTimeoutMs?: number
  /** Periods per workflow run before continue-as-new (default 240); tests lower it to exercise the hand-over. */
  periodsPerRun?: number
  /** Set when the workflow continues as new: the call is already open and this much is held. */
  resume?: { startedAtMs: number; heldPeriods: number }
}

/**
 * The member's consent a call answers: their open call request to this operator, or their scheduled call whose money
 * is reserved. The call takes its terms (mode, prepaid minutes, price) from it. answeredAtMs is when the platform
 * received the operator's answer: a request must still have been open then.
 */
export interface CallConsent {
  requestId: string | null
  scheduledCallId: string | null
  answeredAtMs: number
}

/** Why a start that names the member's consent cannot answer it (the opening decides; the API answers the same). */
export const CONSENT_REFUSALS = [
  'call_request_required',
  'call_request_not_found',
  'call_request_closed',
  'scheduled_call_not_found',
  'scheduled_call_not_reserved',
  'call_terms_mismatch',
] as const
export type ConsentRefusal = (typeof CONSENT_REFUSALS)[number]

export type StartRefusal = 'insufficient_funds' | 'spending_cap' | 'operator_busy' | 'member_not_found' | 'operator_unavailable' | ConsentRefusal

export type StartOutcome =
  | {
      status: 'active'
      callId: string
      requestHash: string
      startedAtMs: number
      ratePerMinuteCents: number
      /** Periods the member's money covers from the start: those held plus those still available. */
      fundedMinutes: number
    }
  | { status: 'refused'; callId: string; requestHash: string; reason: StartRefusal }
  /** Accepted: the parties are connecting; nothing is held until both are connected. */
  | {
      status: 'connecting'
      callId: string
      requestHash: string
      acceptedAtMs: number
      ratePerMinuteCents: number
      /** Periods the member's available money covers at the call's price now (nothing is held yet). */
      fundedMinutes: number
      channel: CallChannel
    }
  /** Accepted, but it ended before both parties were connected: nothing was charged. */
  | { status: 'ended'; callId: string; requestHash: string; endReason: EndReason }

export interface Settlement extends ChargeSplit {
  callId: string
  status: 'settled'
  billedMinutes: number
  endReason: EndReason
  startedAtMs: number
  endedAtMs: number
}

export interface EndRequest {
  reason: EndReason
  /** When the platform received the request (ms since epoch); the workflow clamps it to the call's span. */
  requestedAtMs: number
}

export interface CallState {
  callId: string
  phase: 'opening' | 'connecting' | 'active' | 'ending' | 'settled' | 'refused'
  startedAtMs: number | null
  heldPeriods: number
  /** When the workflow will hold the next period (a little before it begins), or null when none is due. */
  nextHoldAtMs: number | null
  endReason: EndReason | null
  settlement: Settlement | null
}

/** Resolves when the call has opened (or was refused): the API's answer to a call start. */
export const awaitCallStart = defineUpdate<StartOutcome>('awaitCallStart')
/** Asks the call to end and resolves with its settlement. Repeating it returns the same settlement. */
export const endCall = defineUpdate<Settlement, [EndRequest]>('endCall')
/**
 * Both parties are connected, at `atMs` as the platform saw it (LiveKit's webhooks, or the member's own confirmation):
 * the accepted call starts then. Resolves when it has started (or could not). The first connection counts.
 */
export const callConnected = defineUpdate<StartOutcome, [{ atMs: number }]>('callConnected')
/** From the heartbeat monitor: the plugin went quiet; bill up to its last heartbeat. */
export const heartbeatLost = defineSignal<[{ lastHeartbeatAtMs: number }]>('heartbeatLost')
/** From the back office (an operator disabled mid-call, say): end now. */
export const forceEnd = defineSignal<[EndRequest]>('forceEnd')
export const callState = defineQuery<CallState>('callState')

export type HoldResult =
  | { held: true; heldPeriods: number; availableAfterCents: number; lowBalance: boolean }
  | { held: false; reason: 'insufficient_funds' | 'spending_cap' }
  | { held: false; reason: 'heartbeat_lost'; lastHeartbeatAtMs: number }
  /** The call was settled already (a settlement whose workflow task was lost and is being replayed). */
  | { held: false; reason: 'already_settled' }

/**
 * The side effects a call needs, implemented in activities/calls.ts. Every one is idempotent:
 * replaying it with the same arguments changes nothing and returns the first result.
 */
export interface CallActivities {
  /** Records the call and holds its first period (or its whole prepaid block) in one transaction, or refuses. */
  openCall(input: CallInput & { startedAtMs: number }): Promise<StartOutcome>
  /**
   * The operator accepted: records the call 'connecting' under the member's consent (nothing held) and opens its room
   * for a platform channel. Answers 'connecting', or why not.
   */
  acceptCall(input: CallInput & { acceptedAtMs: number }): Promise<StartOutcome>
  /** Both parties are connected: the call starts at startedAtMs and its first period (or block) is held, or refused. */
  startConnectedCall(input: { callId: string; startedAtMs: number }): Promise<StartOutcome>
  /** Ends the media of the call's room: both parties removed, the room deleted. Idempotent. */
  closeCallRoom(input: { callId: string }): Promise<void>
  /**
   * For period k (a little ahead of it, see holdAheadMs): checks the plugin's heartbeat, then holds one period's
   * price. With notBeforeMs, waits until then first (the worker's clock is more punctual than a timer's round trip).
   */
  holdNextPeriod(input: { callId: string; period: number; notBeforeMs?: number }): Promise<HoldResult>
  /** Posts the used holds, voids the rest, splits the charge, and tells the member and the plugin. */
  settleCall(input: { callId: string; endReason: EndReason; endedAtMs: number }): Promise<Settlement>
}

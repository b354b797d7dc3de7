import { createHash } from 'node:crypto'
import { z } from 'zod'
import { toCents } from '../../../activities/ledger/tx.js'
import { walletBalance } from '../../../activities/ledger/balances.js'
import { readPlatformSettings } from '../../../activities/settings.js'
import { billingSettingsFrom, endCallWorkflow, startCallWorkflow } from '../../../temporal/calls.js'
import { billablePeriods, canStartCall, fundedPeriods, type BillingSettings } from '../../../workflows/billing.js'
import type { PlatformConfig } from '../../../config/env.js'
import { mediaJoinFor, type CallMediaJoin } from '../calls/call-media.server.js'
import { CALL_CHANNELS, callWorkflowId, isPlatformChannel, PLUGIN_END_REASONS, type CallChannel, type CallInput, type EndReason, type Settlement, type StartRefusal } from '../../../workflows/definitions.js'
import type { AuthenticatedOperator } from './auth.server.js'
import { agreedTerms, consentRefusals, type AgreedTerms } from './call-requests.server.js'
import { apiError } from './errors.server.js'
import type { PlatformServices } from './services.server.js'
import { uuid } from './validation.server.js'

/**
 * A call as the plugin sees it. The web never moves money: it validates, answers what it can from the database,
 * and drives the call's workflow (temporal/calls.ts), which holds, charges and settles.
 */

/** A day: far beyond any real booking, and small enough that rate × minutes stays an exact integer. */
export const MAX_PREPAID_MINUTES = 24 * 60

export const startCallRequest = z
  .object({
    callId: uuid,
    // What the call answers (docs/decisions/046): the member's open call request, or their reserved scheduled call.
    // Exactly one is required; the call takes its terms from it.
    requestId: uuid.nullish(),
    scheduledCallId: uuid.nullish(),
    // The terms the plugin showed the operator, optional: when sent they must be the member's (409 otherwise).
    memberId: uuid.optional(),
    mode: z.enum(['per_minute', 'prepaid']).optional(),
    prepaidMinutes: z.number().int().positive().max(MAX_PREPAID_MINUTES).nullish(),
    ratePerMinuteCents: z.number().int().positive().optional(),
    channel: z.enum(CALL_CHANNELS).optional(),
  })
  .superRefine((body, ctx) => {
    if (body.requestId && body.scheduledCallId) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['scheduledCallId'], message: 'a call answers a request or a scheduled call, not both' })
    }
    if (body.mode === 'prepaid' && body.prepaidMinutes == null) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['prepaidMinutes'], message: 'a prepaid call needs prepaidMinutes' })
    }
    if (body.mode === 'per_minute' && body.prepaidMinutes != null) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['prepaidMinutes'], message: 'only prepaid calls take prepaidMinutes' })
    }
  })

export type StartCallRequest = z.infer<typeof startCallRequest>

export const endCallRequest = z.object({ reason: z.enum(PLUGIN_END_REASONS) })

export interface CallStarted {
  callId: string
  workflowId: string
  /** 'connecting' at first: billed only from the moment both parties are connected (docs/decisions/060). */
  status: 'connecting' | 'active' | 'ending' | 'settled'
  channel: CallChannel
  ratePerMinuteCents: number
  fundedMinutes: number
  /** For a call in the platform's room: where and how the operator joins it (a fresh token each time). */
  media: CallMediaJoin | null
}

export interface CallSettled {
  callId: string
  status: 'settled'
  billedMinutes: number
  chargedCents: number
  operatorEarningsCents: number
  endReason: EndReason
}

export interface CallView {
  callId: string
  status: 'connecting' | 'active' | 'ending' | 'settled'
  channel: CallChannel
  startedAt: string
  elapsedSeconds: number
  billedMinutes: number
  chargedCents: number
  heldCents: number
  memberAvailableCents: number
  lowBalance: boolean
  endReason?: EndReason
}

type Answer<Body> = { status: number; body: Body }

/**
 * SHA-256 of the start request in a canonical form: the operator and the body. The operator is part of it: the same
 * body sent by another operator is another request, so it can never join (or learn about) someone else's call. The
 * terms a body repeats are part of it too, so a retry is the same request only if it says the same.
 */
export function startRequestHash(operatorId: string, body: StartCallRequest): string {
  const canonical = JSON.stringify({
    operatorId,
    callId: body.callId,
    requestId: body.requestId ?? null,
    scheduledCallId: body.scheduledCallId ?? null,
    memberId: body.memberId ?? null,
    mode: body.mode ?? null,
    prepaidMinutes: body.prepaidMinutes ?? null,
    ratePerMinuteCents: body.ratePerMinuteCents ?? null,
    channel: body.channel ?? null,
  })
  return createHash('sha256').update(canonical).digest('hex')
}

/** Whether the terms a start body repeats (if any) are the member's. */
function bodyAgrees(body: StartCallRequest, terms: AgreedTerms): boolean {
  if (body.memberId !== undefined && body.memberId !== terms.memberId) return false
  if (body.mode !== undefined && body.mode !== terms.mode) return false
  if (body.prepaidMinutes != null && body.prepaidMinutes !== terms.prepaidMinutes) return false
  if (body.mode === 'per_minute' && terms.prepaidMinutes !== null) return false
  if (body.ratePerMinuteCents !== undefined && body.ratePerMinuteCents !== terms.ratePerMinuteCents) return false
  if (body.channel !== undefined && body.channel !== terms.channel) return false
  return true
}

const callIdConflict = () =>
  apiError(409, 'call_id_conflict', 'this callId was already used for another request; make a new callId for a new call')
const callNotFound = () => apiError(404, 'call_not_found', 'no such call')

const refusals: Record<StartRefusal, () => Response> = {
  ...consentRefusals,
  insufficient_funds: () => apiError(402, 'insufficient_funds', "the member's available balance does not cover the first minute"),
  spending_cap: () => apiError(402, 'spending_cap', "the member's own daily or monthly spending cap does not allow the first minute"),
  operator_busy: () => apiError(409, 'operator_busy', 'the operator already has a call that is not settled'),
  member_not_found: () => apiError(404, 'member_not_found', 'no such member'),
  operator_unavailable: () => apiError(403, 'operator_unavailable', 'this operator cannot take calls'),
}

export async function startCall(
  services: PlatformServices,
  operator: AuthenticatedOperator,
  request: StartCallRequest,
): Promise<Answer<CallStarted>> {
  const { db, config } = services
  const requestHash = startRequestHash(operator.id, request)

  // The same request again gets the first answer, rebuilt from the call's row; any other use of the id is refused,
  // including another operator's, who is not told whose call it is.
  const answerFromRow = async (): Promise<Answer<CallStarted> | null> => {
    const existing = await db.call.findUnique({
      where: { id: request.callId },
      select: {
        id: true,
        operatorId: true,
        memberId: true,
        requestHash: true,
        workflowId: true,
        status: true,
        channel: true,
        mode: true,
        prepaidMinutes: true,
        ratePerMinuteCents: true,
        fundedMinutesAtStart: true,
      },
    })
    if (!existing) return null
    if (existing.operatorId !== operator.id || existing.requestHash !== requestHash) throw callIdConflict()
    let fundedMinutes = existing.fundedMinutesAtStart
    if (existing.status === 'connecting') {
      // Nothing is held yet: what the member's money covers now, as the first answer said.
      const available = (await walletBalance(db, existing.memberId))?.availableCents ?? 0
      const funded = fundedPeriods(available, existing.ratePerMinuteCents)
      fundedMinutes = existing.mode === 'prepaid' ? Math.min(existing.prepaidMinutes ?? 0, funded) : funded
    }
    return {
      status: 200,
      body: {
        callId: request.callId,
        workflowId: existing.workflowId,
        status: existing.status,
        channel: existing.channel,
        ratePerMinuteCents: existing.ratePerMinuteCents,
        fundedMinutes,
        media: await mediaJoinFor(services, existing, operator),
      },
    }
  }
  const repeated = await answerFromRow()
  if (repeated) return repeated
  // The member's request (or booking) names the call's terms; a body that says otherwise is refused.
  const terms = await agreedTerms(db, operator.id, request)
  if (!bodyAgrees(request, terms)) throw refusals.call_terms_mismatch()

  // Fast answers from the database for the common refusals. The workflow decides again inside its transaction,
  // so a race past these checks is still refused, just more slowly.
  const member = await db.user.findUnique({ where: { id: terms.memberId }, select: { role: true, status: true } })
  if (!member || member.role !== 'member' || member.status !== 'active') throw refusals.member_not_found()
  // This callId itself may have opened between the read above and this one (a retried start): it is not "busy".
  const openCall = await db.call.findFirst({
    where: { operatorId: operator.id, status: { not: 'settled' }, id: { not: request.callId } },
    select: { id: true },
  })
  if (openCall) throw refusals.operator_busy()
  const rate = terms.ratePerMinuteCents
  const requiredCents = terms.mode === 'prepaid' ? rate * terms.prepaidMinutes! : rate
  // A booking's money is reserved already: its opening releases the reservation and holds the block in one step.
  const available = (await walletBalance(db, terms.memberId))?.availableCents ?? 0
  if (terms.consent.scheduledCallId === null && !canStartCall(available, requiredCents)) {
    // A retry of a start that opened meanwhile has already reserved the money: answer it as the repeat it is.
    const opened = await answerFromRow()
    if (opened) return opened
    throw refusals.insufficient_funds()
  }

  const input: CallInput = {
    callId: request.callId,
    memberId: terms.memberId,
    operatorId: operator.id,
    companyId: operator.companyId,
    mode: terms.mode,
    prepaidMinutes: terms.prepaidMinutes,
    ratePerMinuteCents: rate,
    settings: callSettings(billingSettingsFrom(await readPlatformSettings(db, config), operator.companyShareBps), terms.channel, config),
    requestHash,
    consent: terms.consent,
    channel: terms.channel,
    connectTimeoutMs: config.CALL_CONNECT_TIMEOUT_MS,
  }
  const outcome = await startCallWorkflow(await services.temporal(), config.TEMPORAL_TASK_QUEUE, input)
  // A concurrent request with the same callId but another body started the workflow first.
  if (outcome.requestHash !== requestHash) throw callIdConflict()
  if (outcome.status === 'refused') throw refusals[outcome.reason]()
  if (outcome.status !== 'connecting') {
    // Accepted and already over (it can only be a repeat racing the first): its row says how.
    const opened = await answerFromRow()
    if (opened) return opened
    throw callNotFound()
  }
  return {
    status: 201,
    body: {
      callId: request.callId,
      workflowId: callWorkflowId(request.callId),
      status: 'connecting',
      channel: outcome.channel,
      ratePerMinuteCents: outcome.ratePerMinuteCents,
      fundedMinutes: outcome.fundedMinutes,
      media: await mediaJoinFor(services, { id: request.callId, channel: outcome.channel, status: 'connecting' }, operator),
    },
  }
}

/**
 * The settings a call is frozen with: the platform's, except that a call in the platform's room is kept alive by what
 * the media server sees of both parties (the worker's media monitor), not by the plugin's heartbeats, and ends
 * sooner when both are no longer seen.
 */
function callSettings(settings: BillingSettings, channel: CallChannel, config: PlatformConfig): BillingSettings {
  return isPlatformChannel(channel) ? { ...settings, heartbeatTimeoutMs: config.MEDIA_LOST_AFTER_MS } : settings
}

const settledColumns = {
  id: true,
  status: true,
  billedMinutes: true,
  chargedCents: true,
  operatorEarningsCents: true,
  endReason: true,
} as const

function settledBody(row: {
  id: string
  billedMinutes: number | null
  chargedCents: bigint | null
  operatorEarningsCents: bigint | null
  endReason: string | null
}): CallSettled {
  return {
    callId: row.id,
    status: 'settled',
    billedMinutes: row.billedMinutes ?? 0,
    chargedCents: toCents(row.chargedCents),
    operatorEarningsCents: toCents(row.operatorEarningsCents),
    endReason: row.endReason as EndReason,
  }
}

function settlementBody(settlement: Settlement): CallSettled {
  return {
    callId: settlement.callId,
    status: 'settled',
    billedMinutes: settlement.billedMinutes,
    chargedCents: settlement.chargedCents,
    operatorEarningsCents: settlement.operatorEarningsCents,
    endReason: settlement.endReason,
  }
}

/** Whose call: the operator's (plugin API) or the member's (the member's call page). Other calls do not exist. */
export type CallParty = { operatorId: string } | { memberId: string }

function ownedBy(party: CallParty, callId: string) {
  return 'operatorId' in party ? { id: callId, operatorId: party.operatorId } : { id: callId, memberId: party.memberId }
}

export function endCall(
  services: PlatformServices,
  operator: AuthenticatedOperator,
  callId: string,
  reason: EndReason,
): Promise<Answer<CallSettled | { status: 'ending' }>> {
  return endCallAs(services, { operatorId: operator.id }, callId, reason)
}

/** Ends a call on behalf of one of its parties: the first end request is recorded, then the workflow settles. */
export async function endCallAs(
  services: PlatformServices,
  party: CallParty,
  callId: string,
  reason: EndReason,
): Promise<Answer<CallSettled | { status: 'ending' }>> {
  const { db, config } = services
  const own = ownedBy(party, callId)
  const row = await db.call.findFirst({ where: own, select: settledColumns })
  if (!row) throw callNotFound()
  // Settled calls answer from the database: repeating an end costs no workflow round trip.
  if (row.status === 'settled') return { status: 200, body: settledBody(row) }

  // Record the first end request: heartbeats now get 410, GET shows 'ending', and every repeat of this request
  // asks the workflow for the same end time, so the bill cannot depend on which repeat arrives first.
  await db.$executeRaw`
    UPDATE calls SET status = 'ending', end_requested_at = coalesce(end_requested_at, now()),
      end_request_reason = coalesce(end_request_reason, ${reason})
    WHERE id = ${callId}::uuid AND status = 'active'`
  const requested = await db.call.findFirst({ where: own, select: { endRequestedAt: true, endRequestReason: true } })
  const requestedAtMs = requested?.endRequestedAt?.getTime() ?? Date.now()
  const firstReason = (requested?.endRequestReason as EndReason | null) ?? reason
  const result = await endCallWorkflow(await services.temporal(), callId, firstReason, requestedAtMs, config.SETTLE_WAIT_MS)
  if (result.status === 'settled') return { status: 200, body: settlementBody(result.settlement) }
  if (result.status === 'closed') {
    // The workflow finished before this request reached it: its settlement is in the row.
    const settled = await db.call.findFirst({ where: own, select: settledColumns })
    if (settled?.status === 'settled') return { status: 200, body: settledBody(settled) }
  }
  return { status: 202, body: { status: 'ending' } }
}

/**
 * Records a heartbeat: one row update, never a workflow signal (see DESIGN.md, "Signals, not polling").
 *
 * A heartbeat never queues behind the money path: while the worker holds the call's row (a period's hold, a
 * settlement), the update skips it instead of waiting with a pooled connection, which under load starved every other
 * request of the web process. The heartbeat is still answered 204 while the call is active: its next one, a few
 * seconds later, records it, well inside the timeout (HEARTBEAT_TIMEOUT_MS spans several heartbeats), and a hold
 * checks the heartbeat under the same lock, so a skipped update never counts against a plugin it could not see.
 */
export async function recordHeartbeat(services: PlatformServices, operator: AuthenticatedOperator, callId: string): Promise<void> {
  // Only a call on an outside app lives by the plugin's heartbeats; one in the platform's room by what LiveKit sees.
  const updated = await services.db.$executeRaw`
    UPDATE calls SET last_heartbeat_at = now()
    WHERE id = (SELECT id FROM calls WHERE id = ${callId}::uuid AND operator_id = ${operator.id}::uuid AND status = 'active'
                AND channel = 'outside' FOR NO KEY UPDATE SKIP LOCKED)`
  if (updated === 1) return
  // A plain read never waits on a row lock: it sees the call as last committed.
  const row = await services.db.call.findFirst({ where: { id: callId, operatorId: operator.id }, select: { status: true } })
  if (!row) throw callNotFound()
  // Still connecting (nothing runs yet), or running: go on.
  if (row.status === 'active' || row.status === 'connecting') return
  throw apiError(410, 'call_ended', 'this call has ended; hang up')
}

/**
 * A fresh join token for the operator's own call in the platform's room (after a restart of the plugin, say); the
 * member's page gets its own on every load. None for a call on an outside app, or one that is over.
 */
export async function callMediaToken(services: PlatformServices, operator: AuthenticatedOperator, callId: string): Promise<CallMediaJoin> {
  const row = await services.db.call.findFirst({ where: { id: callId, operatorId: operator.id }, select: { id: true, channel: true, status: true } })
  if (!row) throw callNotFound()
  const media = await mediaJoinFor(services, row, operator)
  if (!media) throw apiError(409, 'no_media', 'this call is not in the platform’s room, or it is over')
  return media
}

export function viewCall(services: PlatformServices, operator: AuthenticatedOperator, callId: string): Promise<CallView> {
  return viewCallAs(services, { operatorId: operator.id }, callId)
}

export async function viewCallAs(services: PlatformServices, party: CallParty, callId: string): Promise<CallView> {
  const { db } = services
  const row = await db.call.findFirst({ where: ownedBy(party, callId) })
  if (!row) throw callNotFound()
  const [held, wallet] = await Promise.all([
    db.$queryRaw<{ held: bigint | null }[]>`
      SELECT sum(amount)::bigint AS held FROM transfers WHERE call_id = ${callId}::uuid AND status = 'pending'`,
    walletBalance(db, row.memberId),
  ])

  const startedAtMs = row.startedAt.getTime()
  // A call still connecting has not started: no time has run yet.
  const elapsedMs = row.status === 'connecting' ? 0 : Math.max(0, (row.endedAt?.getTime() ?? Date.now()) - startedAtMs)
  const settled = row.status === 'settled'
  // While the call runs, what it would cost if it ended now, by the same rule settlement uses.
  const heldPeriods = row.mode === 'prepaid' ? (row.prepaidMinutes ?? 0) : row.heldPeriods
  const billedMinutes = settled
    ? (row.billedMinutes ?? 0)
    : billablePeriods(elapsedMs, { periodMs: row.periodMs, graceMs: row.graceMs }, heldPeriods)
  const view: CallView = {
    callId: row.id,
    status: row.status,
    channel: row.channel,
    startedAt: row.startedAt.toISOString(),
    elapsedSeconds: Math.floor(elapsedMs / 1000),
    billedMinutes,
    chargedCents: settled ? toCents(row.chargedCents) : billedMinutes * row.ratePerMinuteCents,
    heldCents: toCents(held[0]?.held ?? 0n),
    memberAvailableCents: wallet?.availableCents ?? 0,
    lowBalance: row.lowBalance,
  }
  // Once settled, why it ended; while ending, why it is ending (the first end request's reason, the platform's own
  // when it cut the call off), so neither side has to guess until the settlement arrives.
  const endReason = row.endReason ?? (row.status === 'ending' ? row.endRequestReason : null)
  if (endReason) view.endReason = endReason as EndReason
  return view
}

import type {
  CallChannel,
  CallingLink,
  CallingProvider,
  CallMedia,
  CallMode,
  Cents,
  EndReason,
  MediaIceServer,
  MemberSummary,
  PluginEndReason,
  PresenceStatus,
  SignedInOperator,
} from './platform-api.js'
import type { TokenStorage } from './session-vault.js'

/**
 * What the plugin shows, as one plain, serialisable snapshot: the core produces it, the main process sends it to
 * the window over IPC, and the renderer draws it. Nothing here is computed by the renderer except formatting.
 */

export type {
  CallChannel,
  CallingLink,
  CallingProvider,
  CallMedia,
  CallMode,
  Cents,
  EndReason,
  MediaIceServer,
  MemberSummary,
  PluginEndReason,
  PresenceStatus,
  SignedInOperator,
  TokenStorage,
}

export type Screen =
  /** The core is reading what it kept from the last run. */
  | 'starting'
  | 'sign_in'
  /** Signed in, but no calling account linked yet. */
  | 'link'
  | 'connected'

export type StreamStatus = 'off' | 'connecting' | 'live' | 'reconnecting'

/**
 * A member the operator may be about to talk to: a caller looked up by handle (a perminute:// link, or typed in), a
 * "call now" request from the website, a scheduled call that is due, or a member of today's calls shown again.
 */
export interface MemberCard {
  cardId: string
  source: 'caller' | 'request' | 'booking' | 'reopened'
  member: { id: string | null; displayName: string; handle: string | null }
  /** Funds, spend and rating; null when the platform could not be asked (a request from a member without handle). */
  summary: MemberSummary | null
  /** The member's open request ("call now" per minute, or a prepaid block), at the price they agreed to. */
  request: {
    requestId: string
    requestedAtMs: number
    expiresAtMs: number
    mode: CallMode
    prepaidMinutes: number | null
    ratePerMinuteCents: Cents
    /** How the member asked to be called: audio or video in the platform's room, or on the operator's app. */
    channel: CallChannel
  } | null
  /** The member's scheduled call, due now, whose money the platform has reserved. */
  booking: { scheduledCallId: string; prepaidMinutes: number; ratePerMinuteCents: Cents; startsAtMs: number } | null
  /**
   * Whether the platform has confirmed that this member asks this operator for a call now (an open request or a
   * reserved booking). A caller's handle alone proves nothing (anyone can open a perminute:// link): only a verified
   * card can start a call, and the platform checks again.
   */
  verified: boolean
  status: 'waiting' | 'starting' | 'refused'
  /** Why the call could not start, in words for the operator. */
  refusal: string | null
  receivedAtMs: number
}

export interface Settlement {
  billedMinutes: number
  chargedCents: Cents
  operatorEarningsCents: Cents
  endReason: EndReason
}

/** What the plugin keeps of a settlement, whichever answer brought it (the call.settled event, a hang-up's answer). */
export function settlementSummary(settlement: Settlement): Settlement {
  const { billedMinutes, chargedCents, operatorEarningsCents, endReason } = settlement
  return { billedMinutes, chargedCents, operatorEarningsCents, endReason }
}

/** One message of a call's chat as the window shows it (docs/decisions/065-call-chat.md). */
export interface ChatLine {
  id: string
  /** Who wrote it: "member" (the caller) or "operator" (this operator). */
  from: 'member' | 'operator'
  body: string
  sentAtMs: number
}

/** The chat beside the call: this call's messages and, above them, what the two wrote in earlier calls. */
export interface CallChatView {
  /** This call's messages, oldest first. */
  messages: ChatLine[]
  /** The operator's conversation with this member in earlier calls, oldest first, each with its call's start. */
  earlier: (ChatLine & { callStartedAtMs: number })[]
  /** Whether the platform's copy has been read (until then the window says it is loading). */
  loaded: boolean
  /** A message can be sent: the call is accepted and not over. */
  open: boolean
  sending: boolean
  /** Why the last message could not be sent, in the operator's words; null otherwise. */
  problem: string | null
}

/** The call in progress, or the one that just ended until the operator has seen how. */
export interface CallPanel {
  callId: string
  member: { id: string; displayName: string; handle: string | null }
  ratePerMinuteCents: Cents
  /** A prepaid block's size; null for a per-minute call. */
  prepaidMinutes: number | null
  /**
   * starting (the start request is out) → connecting (accepted: the two are joining, nothing is billed) → active (both
   * connected, billed from then) → ending (the operator hung up; the platform settles) or ended (settled or ended by
   * the platform). A call may end while still connecting (never connected, or a hang-up first): nothing is charged.
   */
  phase: 'starting' | 'connecting' | 'active' | 'ending' | 'ended'
  /** audio or video: in the platform's room, joined by the window; outside: on the operator's own calling app. */
  channel: CallChannel
  /** The join for the call's room while it is connecting or running (the window joins with it); null otherwise. */
  media: CallMedia | null
  /** The member's funds in minutes when the call was accepted, their paid calls and rating, from their card. */
  memberFacts: { fundedMinutes: number; paidCalls: number; rating: { average: number | null; count: number } } | null
  elapsedSeconds: number
  billedMinutes: number
  chargedCents: Cents
  memberAvailableCents: Cents | null
  /** Per minute: whole minutes the member's available money pays for at this call's price. Prepaid: the block's minutes not yet used. */
  memberMinutesLeft: number | null
  lowBalance: boolean
  endedBy: 'operator' | 'platform' | null
  endReason: EndReason | null
  /** Set when the platform ended a call on the operator's outside app: what to tell the operator, who must hang up. */
  hangUpPrompt: string | null
  /**
   * Set when a call in the platform's room ended without the operator: the media is already cut, so there is nothing
   * to hang up; this says why it ended ("The member's money ran out: the call has been ended.").
   */
  endNotice: string | null
  settlement: Settlement | null
  /** Heartbeats are failing to reach the platform (the call goes on; the platform ends it after 45 s without). */
  heartbeatTrouble: boolean
  /** The call's text chat with the member. */
  chat: CallChatView
}

export interface TodayCall {
  callId: string
  /** Null for a call started on another device, whose member this plugin never saw. */
  member: { id: string; displayName: string; handle: string | null } | null
  startedAtMs: number
  endedAtMs: number
  billedMinutes: number
  chargedCents: Cents
  operatorEarningsCents: Cents
  endReason: EndReason
}

export interface TodaySummary {
  calls: TodayCall[]
  chargedCents: Cents
  earningsCents: Cents
}

export interface VideoUploadState {
  status: 'idle' | 'uploading' | 'uploaded' | 'failed'
  videoUrl: string | null
  message: string | null
}

export interface PluginState {
  screen: Screen
  /** Why the operator is on the sign-in screen (an expired or revoked session, a disabled account), if not by choice. */
  signInMessage: string | null
  platformUrl: string
  operator: SignedInOperator | null
  link: CallingLink | null
  /** Signed in and linked: the operator appears online. */
  connected: boolean
  stream: StreamStatus
  presence: PresenceStatus
  tokenStorage: TokenStorage | null
  cards: MemberCard[]
  call: CallPanel | null
  today: TodaySummary
  /** Call ends written to disk that the platform has not answered yet. */
  pendingCallEnds: number
  /** A problem the operator should know of (no network, say), or null. */
  problem: string | null
  video: VideoUploadState
}

/** The answer of every action the window can ask for. */
export type ActionResult = { ok: true } | { ok: false; code: string; message: string }

export const PROVIDERS = ['discord', 'sip', 'whatsapp', 'telegram', 'zoom', 'other'] as const satisfies readonly CallingProvider[]

// ---------------------------------------------------------------------------------------------------------------
// Words for the operator

export function describeEndReason(reason: EndReason | null): string {
  switch (reason) {
    case 'operator_hangup':
      return 'you ended the call'
    case 'member_hangup':
      return 'the member hung up'
    case 'other':
      return 'the call was ended'
    case 'funds_exhausted':
      return "the member's money ran out"
    case 'prepaid_exhausted':
      return 'the prepaid minutes are used up'
    case 'heartbeat_lost':
      return 'the platform lost contact with this plugin'
    case 'operator_disabled':
      return 'your account was disabled'
    case 'spending_cap':
      return "the member's own spending cap was reached"
    case 'not_connected':
      return 'the call never connected: nothing was charged'
    case 'member_left':
      return 'the member left the call'
    case 'operator_left':
      return 'you left the call'
    case null:
      return 'the call was ended elsewhere'
  }
}

/** What the operator is told when the call ended without them: it is over, so they must hang up. */
export function hangUpPrompt(reason: EndReason | null): string {
  switch (reason) {
    case null:
      return 'This call was ended outside this plugin. Please hang up now.'
    case 'not_connected':
      return 'The member did not confirm the call in time, so it never started and nothing was charged. Please hang up now.'
    case 'operator_hangup':
    case 'member_hangup':
    case 'other':
      // Another device or tool of this operator ended it.
      return `This call was ended outside this plugin (${describeEndReason(reason)}). Please hang up now.`
    default:
      return `The platform ended this call: ${describeEndReason(reason)}. Please hang up now.`
  }
}

/**
 * What the operator is told when a call in the platform's room ended without them. The platform has closed the room
 * already (the media stopped at that moment): this is news, not an error, and there is nothing to hang up.
 */
export function callEndedNotice(reason: EndReason | null): string {
  switch (reason) {
    case null:
      return 'The call was ended elsewhere.'
    case 'not_connected':
      return 'The call never connected, so it never started. Nothing was charged.'
    case 'heartbeat_lost':
      return 'The platform lost both of you in the call: the call has been ended.'
    case 'operator_hangup':
    case 'other':
      // Another device or tool of this operator ended it.
      return `The call was ended outside this plugin (${describeEndReason(reason)}).`
    default: {
      const why = describeEndReason(reason)
      return `${why.charAt(0).toUpperCase()}${why.slice(1)}: the call has been ended.`
    }
  }
}

/** The channel in the operator's words: "Video call", "Audio call", or the outside app. */
export function describeChannel(channel: CallChannel, provider: string | null): string {
  if (channel === 'video') return 'Video call'
  if (channel === 'audio') return 'Audio call'
  return provider ? `On ${provider}` : 'On your calling app'
}

/** A call the platform carries in its own room (audio or video), as opposed to one on an outside app. */
export function isPlatformChannel(channel: CallChannel): channel is 'audio' | 'video' {
  return channel === 'audio' || channel === 'video'
}

export function describeStartRefusal(code: string, memberName: string, fallback: string): string {
  switch (code) {
    case 'insufficient_funds':
      return `${memberName} does not have enough money for one minute at your price. Ask them to top up first.`
    case 'spending_cap':
      return `${memberName} has reached the spending cap they set for today or this month.`
    case 'operator_busy':
      return 'You already have a call that is not finished. End it first.'
    case 'member_not_found':
      return `${memberName}'s account is no longer active.`
    case 'operator_unavailable':
      return 'The platform cannot open calls for your account right now.'
    case 'call_request_closed':
      return `${memberName}'s request was cancelled or has expired.`
    case 'call_request_not_found':
      return `${memberName}'s request is no longer open.`
    case 'call_request_required':
      return `${memberName} has not asked you for a call. A call starts only when the member asks for it on the website.`
    case 'call_terms_mismatch':
      return `${memberName} asked for another kind of call (or at another price). Ask them to send a new request.`
    case 'scheduled_call_not_found':
    case 'scheduled_call_not_reserved':
      return `${memberName}'s scheduled call is not due now, or is over.`
    case 'call_service_busy':
    case 'temporal_unavailable':
    case 'network_error':
    case 'timeout':
      return `The platform could not be reached to start the call (${fallback}). Try again.`
    default:
      return fallback
  }
}

/** Calls that ended on the operator's calendar day (their computer's time zone) and what they brought. */
export function todaySummary(calls: readonly TodayCall[], nowMs: number): TodaySummary {
  const today = new Date(nowMs)
  const startOfDay = new Date(today.getFullYear(), today.getMonth(), today.getDate()).getTime()
  const startOfNextDay = new Date(today.getFullYear(), today.getMonth(), today.getDate() + 1).getTime()
  const todays = calls.filter((call) => call.endedAtMs >= startOfDay && call.endedAtMs < startOfNextDay)
  return {
    calls: todays,
    chargedCents: todays.reduce((sum, call) => sum + call.chargedCents, 0),
    earningsCents: todays.reduce((sum, call) => sum + call.operatorEarningsCents, 0),
  }
}

import { InsecurePlatformUrlError, platformUrlProblem } from './platform-url.js'

/**
 * A typed client for the platform's plugin API (docs/api.md, "The plugin API"): what the plugin's headless core,
 * third-party call-tracking tools and the benchmark use to talk to the platform.
 *
 * It relies on nothing but the web platform's own globals (fetch, AbortController, TextDecoder, ReadableStream,
 * setTimeout), so it runs unchanged in Node, in Electron's main process and in a browser-like renderer. Amounts are
 * integer cents, as everywhere on the platform; the client checks that the money fields it receives are.
 */

// ---------------------------------------------------------------------------------------------------------------
// The contract's shapes

/** Integer minor units. Never a fraction: see DESIGN.md, "Money rules". */
export type Cents = number

export type PresenceStatus = 'online' | 'busy' | 'offline'
export type CallMode = 'per_minute' | 'prepaid'
export type PluginEndReason = 'operator_hangup' | 'member_hangup' | 'other'
/** Why a call ended: the plugin's reasons, and those the platform decides. */
export type EndReason =
  | PluginEndReason
  | 'funds_exhausted'
  | 'heartbeat_lost'
  | 'prepaid_exhausted'
  | 'operator_disabled'
  | 'spending_cap'
  | 'not_connected'
  | 'member_left'
  | 'operator_left'
export type CallingProvider = 'discord' | 'sip' | 'whatsapp' | 'telegram' | 'zoom' | 'other'

export interface SignedInOperator {
  id: string
  displayName: string
  ratePerMinuteCents: Cents
}

export interface Session {
  token: string
  operator: SignedInOperator
  /** When the token expires (ISO 8601), as the platform said at sign-in or renewal; absent from older platforms. */
  expiresAt?: string | null
  /** The token's lifetime left when it was issued, in seconds (so the plugin's clock need not agree with the platform's). */
  expiresInSeconds?: number | null
}

/** The answer of POST /sessions/current/renew: the token to use from now on. */
export interface RenewedToken {
  token: string
  expiresAt: string
  expiresInSeconds: number
}

export interface CallingLink {
  provider: CallingProvider
  handle: string
}

/** A member's open request to this operator: the consent a call answers, and its terms. */
export interface MemberRequest {
  requestId: string
  mode: CallMode
  prepaidMinutes: number | null
  ratePerMinuteCents: Cents
  /** How the member asked to be called (absent from platforms before calls on the platform: an outside app). */
  channel?: CallChannel
  /** ISO 8601. */
  requestedAt: string
  expiresAt: string
}

/** A member's scheduled call with this operator whose money is reserved now. */
export interface MemberBooking {
  scheduledCallId: string
  prepaidMinutes: number
  ratePerMinuteCents: Cents
  /** ISO 8601. */
  startsAt: string
}

export interface MemberSummary {
  id: string
  displayName: string
  availableCents: Cents
  /** Whole minutes the member's balance pays for at the price of their request (else this operator's). */
  fundedMinutes: number
  averageSpendCents: Cents
  paidCalls: number
  rating: { average: number | null; count: number }
  /** The member asks this operator for a call: the platform answers a look-up only then. */
  request: MemberRequest | null
  booking: MemberBooking | null
}

/** What the plugin showed the operator; when sent, the platform checks them against the member's own terms. */
interface ShownTerms {
  memberId?: string
  mode?: CallMode
  prepaidMinutes?: number | null
  ratePerMinuteCents?: Cents
}

/** A call answers the member's request (`requestId`) or their reserved booking (`scheduledCallId`), at its terms. */
export type StartCallRequest = ShownTerms & ({ callId: string; requestId: string } | { callId: string; scheduledCallId: string })

/** How a call is carried: in the platform's LiveKit room (audio, or video), or on the operator's outside app. */
export type CallChannel = 'audio' | 'video' | 'outside'

/** An ICE server (STUN or TURN) as WebRTC takes it. */
export interface MediaIceServer {
  urls: string | string[]
  username?: string
  credential?: string
}

/** Where and how to join a call's room on the media server: good for that room only, as this operator. */
export interface CallMedia {
  url: string
  room: string
  identity: string
  token: string
  /** ISO 8601. */
  expiresAt: string
  /**
   * STUN/TURN servers the platform names for the call: a list to use ([] for none, as in development, where nothing
   * leaves the machine), or null for LiveKit's own. Absent (an older platform): none.
   */
  iceServers?: MediaIceServer[] | null
}

export interface CallStarted {
  callId: string
  workflowId: string
  /** 'connecting' at first: the call starts (and is billed) from the moment both parties are connected. */
  status: 'connecting' | 'active' | 'ending' | 'settled'
  channel: CallChannel
  ratePerMinuteCents: Cents
  fundedMinutes: number
  /** For a call in the platform's room; null for one on an outside app. */
  media: CallMedia | null
}

export interface CallSettled {
  callId: string
  status: 'settled'
  billedMinutes: number
  chargedCents: Cents
  operatorEarningsCents: Cents
  endReason: EndReason
}

/** The 202 answer: settlement takes longer than the server waits; ask again (endCall or getCall) for the result. */
export interface CallEnding {
  status: 'ending'
}

export interface CallView {
  callId: string
  status: 'connecting' | 'active' | 'ending' | 'settled'
  channel: CallChannel
  startedAt: string
  elapsedSeconds: number
  billedMinutes: number
  chargedCents: Cents
  heldCents: Cents
  memberAvailableCents: Cents
  lowBalance: boolean
  endReason?: EndReason
}

/** A chat message of a call (docs/decisions/065-call-chat.md), as the platform stored it. */
export interface CallMessage {
  id: string
  callId: string
  from: 'member' | 'operator'
  body: string
  /** ISO 8601. */
  sentAt: string
}

/** What GET /members/{id}/messages answers: this operator's conversation with the member in their calls, oldest first. */
export interface MemberMessages {
  member: { id: string; displayName: string }
  messages: (CallMessage & { callStartedAt: string })[]
}

/** What each event of GET /events carries (the `data` field, parsed). */
export interface PlatformEventMap {
  /** A chat message in the call, from either side (the operator's own ones come back too). */
  'call.message': CallMessage
  'call.low_balance': { callId: string; availableCents: Cents; minutesLeft: number; ratePerMinuteCents: Cents }
  'call.low_balance_cleared': { callId: string; availableCents: Cents; minutesLeft: number; ratePerMinuteCents: Cents }
  /** Both parties are connected: the call starts now (its first minute is held). */
  'call.connected': { callId: string; startedAtMs: number }
  /** The platform ended the call (funds exhausted, heartbeats lost, …): the plugin must hang up. */
  'call.ending': { callId: string; reason: EndReason; endedAtMs: number }
  'call.settled': {
    callId: string
    status: 'settled'
    billedMinutes: number
    chargedCents: Cents
    commissionCents: Cents
    companyShareCents: Cents
    operatorEarningsCents: Cents
    endReason: EndReason
    startedAtMs: number
    endedAtMs: number
  }
  /**
   * A member asked for a call from the website ("call now" or a prepaid block): the operator accepts by starting the
   * call with this requestId, mode and prepaidMinutes, or declines it.
   */
  'call.requested': {
    requestId: string
    memberId: string
    memberDisplayName: string
    /** The handle the member calls from, when they linked one. */
    memberHandle: string | null
    mode: CallMode
    /** The block asked for; null for a per-minute call. */
    prepaidMinutes: number | null
    ratePerMinuteCents: Cents
    /** How the member asked to be called: audio or video in the platform's room, or on the operator's outside app. */
    channel?: CallChannel
    /** ISO 8601. */
    requestedAt: string
    /** ISO 8601: after this the request is void and the plugin drops it. */
    expiresAt: string
  }
  /** A member's scheduled call is due and its money reserved: the operator starts it with this scheduledCallId. */
  'scheduled_call.reserved': {
    scheduledCallId: string
    memberId: string
    memberDisplayName: string
    prepaidMinutes: number
    ratePerMinuteCents: Cents
    reservedCents: Cents
    startsAtMs: number
  }
}

export type PlatformEventType = keyof PlatformEventMap

/** The answer of POST /profile/video. */
export interface ProfileVideo {
  /** Where the profile pages load the video from (a path on the platform's origin). */
  videoUrl: string
  contentType: string
  sizeBytes: number
}

/**
 * One Server-Sent Events message as received. `event` is a string, not a closed union: a newer server may send
 * types this client does not know yet, and the plugin should skip those rather than fail. Narrow with isEvent().
 */
export interface ServerSentMessage {
  /** The message's id (the outbox event's id), or null when the server sent none. */
  id: string | null
  event: string
  /** `data` parsed as JSON, or the raw text when it is not JSON. */
  data: unknown
  rawData: string
}

export type PlatformEvent<K extends PlatformEventType = PlatformEventType> = {
  [T in K]: ServerSentMessage & { event: T; data: PlatformEventMap[T] }
}[K]

/** Whether `value` has the shape of a chat message (from an answer or an event). */
export function isCallMessage(value: unknown): value is CallMessage {
  const message = value as Partial<CallMessage> | null
  return (
    typeof message === 'object' && message !== null &&
    typeof message.id === 'string' && typeof message.callId === 'string' && typeof message.body === 'string' &&
    typeof message.sentAt === 'string' && (message.from === 'member' || message.from === 'operator')
  )
}

export function isEvent<K extends PlatformEventType>(message: ServerSentMessage, type: K): message is PlatformEvent<K> {
  return message.event === type && typeof message.data === 'object' && message.data !== null
}

// ---------------------------------------------------------------------------------------------------------------
// Errors

/**
 * Every failure of a request: an error answer of the API (`code` is its `error` field, e.g. insufficient_funds,
 * call_ended), or one this client names itself with status 0: network_error, timeout, invalid_response.
 */
export class PlatformApiError extends Error {
  override name = 'PlatformApiError'
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** "POST /calls/:callId/end", as in ResponseTiming. */
    readonly route?: string,
    /** How long the platform asked to wait before trying again (its Retry-After header), when it said. */
    readonly retryAfterMs: number | null = null,
  ) {
    super(message)
  }
}

/** Retry-After in seconds (the platform's form); an HTTP date or nonsense gives null. */
export function parseRetryAfter(value: string | null): number | null {
  if (value === null || !/^\s*\d{1,9}\s*$/.test(value)) return null
  return Number(value) * 1000
}

/** The error answers the contract names; others may come from newer servers, so `code` stays a string. */
export type PlatformApiErrorCode =
  | 'invalid_json'
  | 'invalid_body'
  | 'invalid_query'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'unauthorized'
  | 'invalid_credentials'
  | 'too_many_attempts'
  | 'too_many_messages'
  | 'not_an_operator'
  | 'account_disabled'
  | 'not_found'
  | 'call_not_found'
  | 'member_not_found'
  | 'method_not_allowed'
  | 'insufficient_funds'
  | 'spending_cap'
  | 'operator_busy'
  | 'operator_unavailable'
  | 'call_id_conflict'
  | 'handle_taken'
  | 'call_request_not_found'
  | 'call_request_closed'
  | 'call_request_required'
  | 'call_terms_mismatch'
  | 'scheduled_call_not_found'
  | 'scheduled_call_not_reserved'
  | 'email_not_verified'
  | 'call_ended'
  | 'no_media'
  | 'invalid_last_event_id'
  | 'temporal_unavailable'
  | 'call_service_busy'
  | 'internal_error'
  | 'network_error'
  | 'timeout'
  | 'invalid_response'

export function isPlatformApiError(error: unknown, code?: PlatformApiErrorCode): error is PlatformApiError {
  return error instanceof PlatformApiError && (code === undefined || error.code === code)
}

/** A heartbeat's 410: the call has ended on the platform's side and the plugin must hang up. */
export function isCallEnded(error: unknown): boolean {
  return isPlatformApiError(error, 'call_ended')
}

// ---------------------------------------------------------------------------------------------------------------
// The client

/** One answered request, for whoever measures the API (the benchmark's latency tables come from this). */
export interface ResponseTiming {
  method: string
  /** The route's template, ids left out, e.g. "POST /calls/:callId/heartbeat" has route "/calls/:callId/heartbeat". */
  route: string
  /** The HTTP status, or 0 when no answer came (network error, timeout). */
  status: number
  /** From sending the request to having the whole body (for /events: to having the headers). */
  ms: number
}

export interface PlatformApiOptions {
  /** The platform's origin, e.g. http://127.0.0.1:3000 (a path prefix before /api is kept). */
  baseUrl: string
  /** A bearer token from an earlier login; login() sets it too. */
  token?: string | null
  /** Gives up on a request after this long (default 30 s; /events is exempt: see events()). */
  timeoutMs?: number
  /** Called after every request, whatever its outcome. Must not throw. */
  onResponse?: (timing: ResponseTiming) => void
  /** Another fetch (tests, a proxy); the global one by default. */
  fetch?: typeof fetch
}

export interface EventsOptions {
  /** Resume after this event: the server replays what came after it first. */
  lastEventId?: string | null
  /** Reconnect (with Last-Event-ID) when the stream drops; default true. Authentication failures never retry. */
  reconnect?: boolean
  /** A stream that says nothing for this long is presumed dead and reopened; the server pings every 15 s. Default 45 s. */
  idleTimeoutMs?: number
  /**
   * Told when a connection opens (the server answered 200) and when one is lost (with why); the iterator itself
   * hides reconnections, so this is how a user interface shows "reconnecting". Must not throw.
   */
  onConnectionChange?: (change: { open: true } | { open: false; error: PlatformApiError | null }) => void
}

const API_PREFIX = '/api/plugin/v1'
const DEFAULT_TIMEOUT_MS = 30_000
/** An upload of a video preview moves megabytes: give it longer than an ordinary request. */
const UPLOAD_TIMEOUT_MS = 120_000
const DEFAULT_IDLE_TIMEOUT_MS = 45_000
/** What the server asks for with `retry:` (2 s); used until it says otherwise. */
const DEFAULT_RETRY_MS = 2_000
const MAX_RETRY_MS = 30_000

const now = () => (typeof performance !== 'undefined' ? performance.now() : Date.now())

interface RequestSpec {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE'
  /** The route template, for timings and errors. */
  route: string
  /** The concrete path under the API prefix. */
  path: string
  body?: unknown
  /** Whether a token is needed (all but login). */
  auth?: boolean
  /** Statuses that count as success; any other is a PlatformApiError. */
  ok: readonly number[]
  /** Sent as is with this content type instead of a JSON body. */
  raw?: { bytes: Uint8Array<ArrayBuffer>; contentType: string }
  timeoutMs?: number
}

interface Answer {
  status: number
  body: unknown
}

export class PlatformApi {
  private readonly origin: string
  private readonly timeoutMs: number
  private readonly onResponse: ((timing: ResponseTiming) => void) | undefined
  private readonly fetchImpl: typeof fetch
  private currentToken: string | null

  constructor(options: PlatformApiOptions) {
    // The password and the token go over HTTPS only (plain HTTP to this computer itself): see platform-url.ts.
    const problem = platformUrlProblem(options.baseUrl)
    if (problem) throw new InsecurePlatformUrlError(problem)
    this.origin = options.baseUrl.replace(/\/+$/, '')
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS
    this.onResponse = options.onResponse
    // Bound, because some runtimes' fetch refuses to be called as a method of another object.
    this.fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis)
    this.currentToken = options.token ?? null
  }

  get token(): string | null {
    return this.currentToken
  }

  /**
   * POST /sessions: signs the operator in; the client keeps the token for the requests that follow. `deviceName`
   * (1–100 characters) is how the operator portal lists this sign-in.
   */
  async login(login: string, password: string, deviceName?: string | null): Promise<Session> {
    const credentials = deviceName ? { login, password, deviceName } : { login, password }
    const { body } = await this.request({ method: 'POST', route: '/sessions', path: '/sessions', body: credentials, auth: false, ok: [201] })
    const session = body as Session
    if (typeof session?.token !== 'string' || typeof session.operator?.id !== 'string') throw invalidResponse('/sessions', 'no token in the answer')
    expectCents('/sessions', session.operator, ['ratePerMinuteCents'])
    this.currentToken = session.token
    return session
  }

  /**
   * POST /sessions/current/renew: a fresh token in place of this one, which the client uses from then on. The old one
   * keeps working until the new one is first used (a few minutes at most), so a renewal whose answer was lost can be
   * asked for again.
   */
  async renewSession(): Promise<RenewedToken> {
    const route = '/sessions/current/renew'
    const { body } = await this.request({ method: 'POST', route, path: route, ok: [201] })
    const renewed = body as RenewedToken | undefined
    if (typeof renewed?.token !== 'string' || typeof renewed.expiresInSeconds !== 'number') throw invalidResponse(route, 'no token in the answer')
    this.currentToken = renewed.token
    return renewed
  }

  /** DELETE /sessions/current: revokes the token (the server refuses it from then on) and forgets it. */
  async logout(): Promise<void> {
    await this.request({ method: 'DELETE', route: '/sessions/current', path: '/sessions/current', ok: [204] })
    this.currentToken = null
  }

  /** PUT /link: links the operator's calling account (the handle members call them on). */
  async link(provider: CallingProvider, handle: string): Promise<CallingLink> {
    const { body } = await this.request({ method: 'PUT', route: '/link', path: '/link', body: { provider, handle }, ok: [200] })
    return body as CallingLink
  }

  /** POST /presence: "online" lasts 60 s after the last report, so report it more often than that. */
  async presence(status: PresenceStatus): Promise<void> {
    await this.request({ method: 'POST', route: '/presence', path: '/presence', body: { status }, ok: [204] })
  }

  /** GET /members/lookup: who is calling. A handle that is not a member's is PlatformApiError 404 member_not_found. */
  async lookupMember(handle: string): Promise<MemberSummary> {
    const path = `/members/lookup?handle=${encodeURIComponent(handle)}`
    const { body } = await this.request({ method: 'GET', route: '/members/lookup', path, ok: [200] })
    const member = (body as { member?: MemberSummary })?.member
    if (!member) throw invalidResponse('/members/lookup', 'no member in the answer')
    expectCents('/members/lookup', member, ['availableCents', 'averageSpendCents'])
    return member
  }

  /**
   * POST /calls: starts a call (signal-with-start on the platform). The callId is the plugin's own uuid, which makes
   * a retry safe: the same request again answers with the same call. Refusals are PlatformApiErrors: 402
   * insufficient_funds, 403 call_request_required, 404 member_not_found or call_request_not_found, 409 operator_busy,
   * call_request_closed, call_terms_mismatch or call_id_conflict, 422 invalid_body.
   */
  async startCall(request: StartCallRequest): Promise<CallStarted> {
    const { body } = await this.request({ method: 'POST', route: '/calls', path: '/calls', body: request, ok: [200, 201] })
    expectCents('/calls', body, ['ratePerMinuteCents'])
    const media = (body as { media?: unknown }).media
    if (media != null && !isCallMedia(media)) throw invalidResponse('/calls', 'malformed media in the answer')
    return body as CallStarted
  }

  /** POST /call-requests/{id}/decline: turns a member's request down (204, also when declined before). */
  async declineCallRequest(requestId: string): Promise<void> {
    const route = '/call-requests/:requestId/decline'
    await this.request({ method: 'POST', route, path: `/call-requests/${encodeURIComponent(requestId)}/decline`, ok: [204] })
  }

  /**
   * POST /calls/{id}/media-token: a fresh token for the call's room (before the last one expires, or after a restart).
   * 409 no_media for a call on an outside app or one that is over.
   */
  async mediaToken(callId: string): Promise<CallMedia> {
    const route = '/calls/:callId/media-token'
    const { body } = await this.request({ method: 'POST', route, path: `/calls/${encodeURIComponent(callId)}/media-token`, ok: [200] })
    const media = (body as { media?: CallMedia } | undefined)?.media
    if (!isCallMedia(media)) throw invalidResponse(route, 'no media in the answer')
    return media
  }

  /** POST /calls/{id}/heartbeat: a 410 (isCallEnded) means the platform ended the call and the plugin must hang up. */
  async heartbeat(callId: string): Promise<void> {
    await this.request({ method: 'POST', route: '/calls/:callId/heartbeat', path: `/calls/${encodeURIComponent(callId)}/heartbeat`, ok: [204] })
  }

  /**
   * POST /calls/{id}/end: ends the call and answers with its settlement, or `{status: "ending"}` (202) when settling
   * takes longer than the server waits; asking again is safe and answers with the same settlement.
   */
  async endCall(callId: string, reason: PluginEndReason): Promise<CallSettled | CallEnding> {
    const route = '/calls/:callId/end'
    const { status, body } = await this.request({ method: 'POST', route, path: `/calls/${encodeURIComponent(callId)}/end`, body: { reason }, ok: [200, 202] })
    if (status === 202) return { status: 'ending' }
    expectCents(route, body, ['chargedCents', 'operatorEarningsCents'])
    return body as CallSettled
  }

  /** GET /calls/{id}: the call as it stands (while active, what it would cost if it ended now). */
  async getCall(callId: string): Promise<CallView> {
    const route = '/calls/:callId'
    const { body } = await this.request({ method: 'GET', route, path: `/calls/${encodeURIComponent(callId)}`, ok: [200] })
    expectCents(route, body, ['chargedCents', 'heldCents', 'memberAvailableCents'])
    return body as CallView
  }

  /** GET /calls/{id}/messages: the call's chat so far, oldest first. */
  async callMessages(callId: string): Promise<CallMessage[]> {
    const route = '/calls/:callId/messages'
    const { body } = await this.request({ method: 'GET', route, path: `/calls/${encodeURIComponent(callId)}/messages`, ok: [200] })
    const messages = (body as { messages?: unknown } | undefined)?.messages
    if (!Array.isArray(messages) || !messages.every(isCallMessage)) throw invalidResponse(route, 'no messages in the answer')
    return messages
  }

  /** POST /calls/{id}/messages: writes in the call's chat. 409 call_ended once it is settled; 429 too_many_messages. */
  async sendCallMessage(callId: string, text: string): Promise<CallMessage> {
    const route = '/calls/:callId/messages'
    const { body } = await this.request({ method: 'POST', route, path: `/calls/${encodeURIComponent(callId)}/messages`, body: { body: text }, ok: [201] })
    const message = (body as { message?: unknown } | undefined)?.message
    if (!isCallMessage(message)) throw invalidResponse(route, 'no message in the answer')
    return message
  }

  /** GET /members/{id}/messages: what this operator and the member wrote in their calls (404 for a member never met). */
  async memberMessages(memberId: string): Promise<MemberMessages> {
    const route = '/members/:memberId/messages'
    const { body } = await this.request({ method: 'GET', route, path: `/members/${encodeURIComponent(memberId)}/messages`, ok: [200] })
    const answer = body as Partial<MemberMessages> | undefined
    if (!answer || !Array.isArray(answer.messages) || !answer.messages.every(isCallMessage)) throw invalidResponse(route, 'no messages in the answer')
    return answer as MemberMessages
  }

  /** POST /profile/video: uploads the operator's video preview (the raw bytes, e.g. video/webm) to their profile. */
  async uploadProfileVideo(bytes: Uint8Array<ArrayBuffer>, contentType: string): Promise<ProfileVideo> {
    const route = '/profile/video'
    const { body } = await this.request({ method: 'POST', route, path: route, raw: { bytes, contentType }, ok: [201], timeoutMs: UPLOAD_TIMEOUT_MS })
    const video = body as ProfileVideo | undefined
    if (typeof video?.videoUrl !== 'string') throw invalidResponse(route, 'no videoUrl in the answer')
    return video
  }

  /**
   * GET /events: this operator's events, as an async iterator that runs until `signal` aborts (then it simply ends).
   * When the stream drops it reopens it with Last-Event-ID, so the server replays what was missed and nothing is
   * seen twice; pass `lastEventId` to resume from a position saved earlier. Failing to authenticate (401/403) and,
   * with `reconnect: false`, any failure end the iteration with a PlatformApiError.
   */
  async *events(signal: AbortSignal, options: EventsOptions = {}): AsyncGenerator<ServerSentMessage, void, undefined> {
    const reconnect = options.reconnect ?? true
    const idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS
    const state = { lastEventId: options.lastEventId ?? null, retryMs: DEFAULT_RETRY_MS }
    let failures = 0
    const tell = (change: { open: true } | { open: false; error: PlatformApiError | null }) => {
      try {
        options.onConnectionChange?.(change)
      } catch {
        // A watcher must never break the stream.
      }
    }

    while (!signal.aborted) {
      let received = false
      try {
        for await (const message of this.openEventStream(signal, state, idleTimeoutMs, () => tell({ open: true }))) {
          received = true
          failures = 0
          yield message
        }
        // The server closed the stream (a restart, a deploy): come back as a browser's EventSource would.
        if (!signal.aborted) tell({ open: false, error: null })
      } catch (error) {
        if (signal.aborted) return
        tell({ open: false, error: error instanceof PlatformApiError ? error : null })
        const status = error instanceof PlatformApiError ? error.status : 0
        // Another attempt would be refused the same way.
        if (!reconnect || status === 400 || status === 401 || status === 403 || status === 404) throw error
        if (!received) failures += 1
      }
      if (!reconnect) return
      // Back off on repeated failures, up to a limit, so a server that is down is not hammered by every plugin.
      const delay = Math.min(state.retryMs * 2 ** Math.max(0, failures - 1), MAX_RETRY_MS)
      await sleep(delay, signal)
    }
  }

  // -------------------------------------------------------------------------------------------------------------

  private headers(auth: boolean, extra: Record<string, string> = {}): Record<string, string> {
    const headers: Record<string, string> = { accept: 'application/json', ...extra }
    if (auth) {
      // Sent without a token the server answers 401 unauthorized, which is the error the caller should see.
      if (this.currentToken) headers.authorization = `Bearer ${this.currentToken}`
    }
    return headers
  }

  private report(method: string, route: string, status: number, startedAt: number): void {
    if (!this.onResponse) return
    try {
      this.onResponse({ method, route, status, ms: now() - startedAt })
    } catch {
      // A measuring hook must never break a call.
    }
  }

  private async request(spec: RequestSpec): Promise<Answer> {
    const headers = this.headers(spec.auth ?? true)
    let body: string | Uint8Array<ArrayBuffer> | undefined
    if (spec.raw) {
      body = spec.raw.bytes
      headers['content-type'] = spec.raw.contentType
    } else if (spec.body !== undefined) {
      body = JSON.stringify(spec.body)
      headers['content-type'] = 'application/json'
    }
    const timeoutMs = spec.timeoutMs ?? this.timeoutMs
    const controller = new AbortController()
    const timer = setTimeout(() => controller.abort(), timeoutMs)
    const startedAt = now()
    let status = 0
    let text: string
    let retryAfter: string | null = null
    try {
      const response = await this.fetchImpl(`${this.origin}${API_PREFIX}${spec.path}`, {
        method: spec.method,
        headers,
        body,
        signal: controller.signal,
        redirect: 'manual',
      })
      status = response.status
      retryAfter = response.headers.get('retry-after')
      text = await response.text()
    } catch (error) {
      this.report(spec.method, spec.route, 0, startedAt)
      if (controller.signal.aborted) {
        throw new PlatformApiError(0, 'timeout', `${spec.method} ${spec.route}: no answer within ${timeoutMs} ms`, spec.route)
      }
      throw new PlatformApiError(0, 'network_error', `${spec.method} ${spec.route}: ${describeNetworkError(error)}`, spec.route)
    } finally {
      clearTimeout(timer)
    }
    this.report(spec.method, spec.route, status, startedAt)

    let parsed: unknown
    if (text !== '') {
      try {
        parsed = JSON.parse(text)
      } catch {
        parsed = undefined
      }
    }
    if (spec.ok.includes(status)) {
      if (text !== '' && parsed === undefined) throw invalidResponse(spec.route, `status ${status} with a body that is not JSON`)
      return { status, body: parsed }
    }
    throw errorFromAnswer(spec, status, parsed, text, retryAfter)
  }

  /** One connection of the event stream: yields its messages until it ends, fails, goes quiet or `signal` aborts. */
  private async *openEventStream(
    signal: AbortSignal,
    state: { lastEventId: string | null; retryMs: number },
    idleTimeoutMs: number,
    onOpen: () => void,
  ): AsyncGenerator<ServerSentMessage, void, undefined> {
    const route = '/events'
    const controller = new AbortController()
    const abort = () => controller.abort()
    signal.addEventListener('abort', abort)
    let idle = false
    let idleTimer: ReturnType<typeof setTimeout> | undefined
    const armIdleTimer = () => {
      clearTimeout(idleTimer)
      idleTimer = setTimeout(() => {
        idle = true
        controller.abort()
      }, idleTimeoutMs)
    }
    try {
      const headers = this.headers(true, { accept: 'text/event-stream', 'cache-control': 'no-store' })
      if (state.lastEventId !== null) headers['last-event-id'] = state.lastEventId
      const startedAt = now()
      armIdleTimer()
      let response: Response
      try {
        response = await this.fetchImpl(`${this.origin}${API_PREFIX}${route}`, { method: 'GET', headers, signal: controller.signal, redirect: 'manual' })
      } catch (error) {
        this.report('GET', route, 0, startedAt)
        if (signal.aborted) return
        if (idle) throw new PlatformApiError(0, 'timeout', `GET ${route}: no answer within ${idleTimeoutMs} ms`, route)
        throw new PlatformApiError(0, 'network_error', `GET ${route}: ${describeNetworkError(error)}`, route)
      }
      this.report('GET', route, response.status, startedAt)
      const contentType = response.headers.get('content-type') ?? ''
      if (response.status !== 200 || !response.body) {
        const text = await response.text().catch(() => '')
        let parsed: unknown
        try {
          parsed = text ? JSON.parse(text) : undefined
        } catch {
          parsed = undefined
        }
        throw errorFromAnswer({ method: 'GET', route }, response.status, parsed, text, response.headers.get('retry-after'))
      }
      if (!contentType.toLowerCase().startsWith('text/event-stream')) {
        await response.body.cancel().catch(() => undefined)
        throw invalidResponse(route, `expected text/event-stream, got "${contentType}"`)
      }
      onOpen()

      const parser = new EventStreamParser()
      const reader = response.body.getReader()
      const decoder = new TextDecoder()
      try {
        for (;;) {
          let chunk: ReadableStreamReadResult<Uint8Array>
          try {
            chunk = await reader.read()
          } catch (error) {
            if (signal.aborted) return
            if (idle) throw new PlatformApiError(0, 'timeout', `GET ${route}: the stream was silent for ${idleTimeoutMs} ms`, route)
            throw new PlatformApiError(0, 'network_error', `GET ${route}: ${describeNetworkError(error)}`, route)
          }
          if (chunk.done) {
            parser.push(decoder.decode())
            return
          }
          armIdleTimer()
          for (const message of parser.push(decoder.decode(chunk.value, { stream: true }))) {
            if (message.id !== null) state.lastEventId = message.id
            yield message
          }
          if (parser.retryMs !== null) state.retryMs = parser.retryMs
          // Per the SSE rules an id: line moves the cursor even when its message carries no data.
          if (parser.lastEventId !== null) state.lastEventId = parser.lastEventId
        }
      } finally {
        reader.cancel().catch(() => undefined)
      }
    } finally {
      clearTimeout(idleTimer)
      signal.removeEventListener('abort', abort)
      controller.abort()
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The text/event-stream format (https://html.spec.whatwg.org/multipage/server-sent-events.html#parsing-an-event-stream)

/** An incremental parser: feed it decoded text as it arrives, get the complete messages back. */
export class EventStreamParser {
  /** The reconnection time the server last asked for, if any. */
  retryMs: number | null = null
  /** The last id seen, including on messages without data (which are not dispatched). */
  lastEventId: string | null = null
  private buffer = ''
  private sawFirstChunk = false
  private pendingCarriageReturn = false
  private eventType = ''
  private data: string[] = []
  private messageId: string | null = null

  push(text: string): ServerSentMessage[] {
    if (!this.sawFirstChunk && text.length > 0) {
      this.sawFirstChunk = true
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1)
    }
    // A CRLF may be split across two chunks: the CR ended a line already, so its LF must not end another.
    if (this.pendingCarriageReturn && text.startsWith('\n')) text = text.slice(1)
    this.pendingCarriageReturn = false
    this.buffer += text
    const messages: ServerSentMessage[] = []
    let start = 0
    for (let i = 0; i < this.buffer.length; i++) {
      const char = this.buffer[i]
      if (char !== '\n' && char !== '\r') continue
      this.line(this.buffer.slice(start, i), messages)
      if (char === '\r') {
        if (i + 1 < this.buffer.length) {
          if (this.buffer[i + 1] === '\n') i++
        } else {
          this.pendingCarriageReturn = true
        }
      }
      start = i + 1
    }
    this.buffer = this.buffer.slice(start)
    return messages
  }

  private line(line: string, messages: ServerSentMessage[]): void {
    if (line === '') {
      this.dispatch(messages)
      return
    }
    if (line.startsWith(':')) return // a comment: the server's keep-alive ping
    const colon = line.indexOf(':')
    const field = colon === -1 ? line : line.slice(0, colon)
    let value = colon === -1 ? '' : line.slice(colon + 1)
    if (value.startsWith(' ')) value = value.slice(1)
    switch (field) {
      case 'event':
        this.eventType = value
        break
      case 'data':
        this.data.push(value)
        break
      case 'id':
        if (!value.includes('\u0000')) {
          this.messageId = value
          this.lastEventId = value
        }
        break
      case 'retry':
        if (/^\d+$/.test(value)) this.retryMs = Number(value)
        break
      default:
        // Unknown fields are ignored, as the format requires.
        break
    }
  }

  private dispatch(messages: ServerSentMessage[]): void {
    const hadData = this.data.length > 0
    const rawData = this.data.join('\n')
    const message: ServerSentMessage = {
      id: this.messageId ?? this.lastEventId,
      event: this.eventType || 'message',
      data: parseData(rawData),
      rawData,
    }
    this.eventType = ''
    this.data = []
    this.messageId = null
    if (hadData) messages.push(message)
  }
}

function parseData(raw: string): unknown {
  try {
    return JSON.parse(raw) as unknown
  } catch {
    return raw
  }
}

// ---------------------------------------------------------------------------------------------------------------

function errorFromAnswer(
  spec: Pick<RequestSpec, 'method' | 'route'>,
  status: number,
  parsed: unknown,
  text: string,
  retryAfter: string | null,
): PlatformApiError {
  const body = parsed as { error?: unknown; message?: unknown } | undefined
  const retryAfterMs = parseRetryAfter(retryAfter)
  if (body && typeof body.error === 'string') {
    const message = typeof body.message === 'string' ? body.message : body.error
    return new PlatformApiError(status, body.error, message, spec.route, retryAfterMs)
  }
  // Not the API's error shape (a proxy's HTML page, say): keep the status, name the code after it.
  const snippet = text.replace(/\s+/g, ' ').trim().slice(0, 200)
  return new PlatformApiError(status, `http_${status}`, `${spec.method} ${spec.route} answered ${status}${snippet ? `: ${snippet}` : ''}`, spec.route, retryAfterMs)
}

/** A media join as the API gives it: the fields a client needs to join, as strings. */
function isCallMedia(value: unknown): value is CallMedia {
  const media = value as Partial<Record<keyof CallMedia, unknown>> | null | undefined
  return (
    typeof media?.url === 'string' &&
    /^wss?:\/\//i.test(media.url) &&
    typeof media.room === 'string' &&
    typeof media.identity === 'string' &&
    typeof media.token === 'string' &&
    typeof media.expiresAt === 'string' &&
    (media.iceServers === undefined || media.iceServers === null || Array.isArray(media.iceServers))
  )
}

/** An answer that breaks the contract: status 0 like the client's other own errors, whatever the HTTP status was. */
function invalidResponse(route: string, why: string): PlatformApiError {
  return new PlatformApiError(0, 'invalid_response', `${route}: ${why}`, route)
}

function expectCents(route: string, body: unknown, fields: readonly string[]): void {
  const record = body as Record<string, unknown> | null | undefined
  for (const field of fields) {
    const value = record?.[field]
    if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
      throw invalidResponse(route, `${field} is not a whole number of cents (${JSON.stringify(value)})`)
    }
  }
}

function describeNetworkError(error: unknown): string {
  // Node's fetch hides the reason (ECONNREFUSED, …) in `cause`.
  const cause = (error as { cause?: { code?: unknown; message?: unknown } })?.cause
  const code = typeof cause?.code === 'string' ? cause.code : undefined
  const message = error instanceof Error ? error.message : String(error)
  return code ? `${message} (${code})` : message
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve()
    const done = () => {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    signal.addEventListener('abort', done)
  })
}

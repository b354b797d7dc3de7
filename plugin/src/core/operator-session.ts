import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import type { CallEndQueue } from './call-end-queue.js'
import { CallChat } from './call-chat.js'
import type { OperatorRecord, StoredCall, StoredCallMedia } from './operator-record.js'
import {
  isCallMessage,
  isEvent,
  isPlatformApiError,
  PlatformApiError,
  type CallingProvider,
  type CallMedia,
  type CallView,
  type EndReason,
  type PlatformApi,
  type PlatformEventMap,
  type PluginEndReason,
  type PresenceStatus,
  type ServerSentMessage,
  type SignedInOperator,
} from './platform-api.js'
import {
  callEndedNotice,
  describeStartRefusal,
  hangUpPrompt,
  isPlatformChannel,
  settlementSummary,
  todaySummary,
  type ActionResult,
  type CallPanel,
  type MemberCard,
  type PluginState,
  type Settlement,
  type StreamStatus,
  type VideoUploadState,
} from './plugin-state.js'

/**
 * Everything the plugin does while an operator is signed in: presence, the event stream, the member cards, the call
 * and its meter, the call-end queue, today's calls and the video upload. The PluginCore creates one per sign-in
 * and stops it at sign-out, when the session is refused, or at exit.
 */

export interface CoreIntervals {
  /** How often "online"/"busy" is repeated (it lasts 60 s on the platform). */
  presenceMs: number
  /** How often a heartbeat is sent during a call (the platform ends a call after 45 s without). */
  heartbeatMs: number
  /** How often the call's state is read from the platform for the meter. */
  meterPollMs: number
  /** How often the meter's clock moves on screen. */
  tickMs: number
  /** First and longest wait between attempts to deliver a call end. */
  retryFirstMs: number
  retryMaxMs: number
  /** A stream silent this long is reopened (the server pings every 15 s). */
  streamIdleTimeoutMs: number
  /** How often the core looks whether the token is due for renewal (halfway through its lifetime). */
  renewCheckMs: number
}

export const DEFAULT_INTERVALS: CoreIntervals = {
  presenceMs: 20_000,
  heartbeatMs: 5_000,
  meterPollMs: 5_000,
  tickMs: 1_000,
  retryFirstMs: 1_000,
  retryMaxMs: 30_000,
  streamIdleTimeoutMs: 45_000,
  renewCheckMs: 60_000,
}

export interface PluginNotification {
  kind: 'caller' | 'request' | 'low_balance' | 'call_ended' | 'signed_out'
  title: string
  body: string
}

export interface SessionDeps {
  api: PlatformApi
  operator: SignedInOperator
  record: OperatorRecord
  queue: CallEndQueue
  platformUrl: string
  intervals: CoreIntervals
  now: () => number
  log: (message: string) => void
  notify: (notification: PluginNotification) => void
  /** Something changed that the operator sees. */
  changed: () => void
  /** The platform refused the token (401) or the account (403 account_disabled): the core signs out. */
  authLost: (error: PlatformApiError) => void
}

/** The meter between two reads of the call's state: the last read, and when it was made. */
interface MeterReading {
  elapsedSeconds: number
  atMs: number
  billedMinutes: number
  chargedCents: number
  memberAvailableCents: number | null
  lowBalance: boolean
}

const MAX_CARDS = 8
/** Attempts at a call start that got no answer, before asking the platform whether the call opened. */
const START_ATTEMPTS = 3
const OFFLINE_REPORT_TIMEOUT_MS = 3_000
/** A room token is renewed halfway through its life, but never sooner than this after the last one arrived. */
const MIN_MEDIA_REFRESH_MS = 1_000
/** The life assumed for a token whose expiry reads as past on this computer's clock (a clock far off the platform's). */
const FALLBACK_MEDIA_LIFETIME_MS = 60_000

/** A call the platform has not settled and the operator has not hung up: starting, connecting or running. */
const inProgress = (phase: StoredCall['phase'] | undefined): phase is 'starting' | 'connecting' | 'active' =>
  phase === 'starting' || phase === 'connecting' || phase === 'active'

/** When a room token that arrived at `receivedAtMs` is renewed: halfway through its life (docs/decisions/063). */
export function mediaRefreshAtMs(media: { expiresAt: string; receivedAtMs: number }): number {
  const lifetimeMs = Date.parse(media.expiresAt) - media.receivedAtMs
  const half = lifetimeMs > 0 ? lifetimeMs / 2 : FALLBACK_MEDIA_LIFETIME_MS / 2
  return media.receivedAtMs + Math.max(MIN_MEDIA_REFRESH_MS, half)
}

const isAuthFailure = (error: unknown): error is PlatformApiError =>
  isPlatformApiError(error) && (error.status === 401 || (error.status === 403 && error.code === 'account_disabled'))
/** No answer at all, or one that says "later": the request may be repeated as it is. */
const isTransient = (error: unknown) => isPlatformApiError(error) && (error.status === 0 || error.status === 502 || error.status === 503 || error.status === 504)

export class OperatorSession {
  private readonly stopped = new AbortController()
  private readonly timers = new Set<ReturnType<typeof setTimeout>>()
  private stream: StreamStatus = 'connecting'
  private presence: PresenceStatus = 'offline'
  private unreachableSinceMs: number | null = null
  private cards: MemberCard[] = []
  private meter: MeterReading | null = null
  private heartbeatTrouble = false
  private video: VideoUploadState = { status: 'idle', videoUrl: null, message: null }
  private drainTimer: ReturnType<typeof setTimeout> | undefined
  private draining: Promise<void> | null = null
  private drainAgain = false
  private drainFailures = 0
  private polling = false
  /** The call this session is starting right now: the poll leaves it to the start request. */
  private startingCallId: string | null = null
  /** The call whose room token this session has itself received (a restart asks for a fresh one first). */
  private mediaFreshFor: string | null = null
  private refreshingMedia = false
  private mediaFailures = 0
  private mediaRetryAtMs = 0

  /** The call's text chat (docs/decisions/065-call-chat.md). */
  private readonly chat: CallChat

  constructor(private readonly deps: SessionDeps) {
    this.chat = new CallChat({
      api: deps.api,
      now: deps.now,
      log: deps.log,
      changed: deps.changed,
      failure: (error, messages) => this.failure(error, messages),
    })
  }

  get operator(): SignedInOperator {
    return this.deps.operator
  }

  get api(): PlatformApi {
    return this.deps.api
  }

  /** Whether a response of the API should count for the connection status line; the hook of PlatformApi calls it. */
  observeResponse(status: number): void {
    const before = this.unreachableSinceMs
    this.unreachableSinceMs = status === 0 ? (this.unreachableSinceMs ?? this.deps.now()) : null
    if ((before === null) !== (this.unreachableSinceMs === null)) this.deps.changed()
  }

  start(): void {
    void this.runEventStream()
    this.every(this.deps.intervals.presenceMs, () => this.reportPresence())
    this.every(this.deps.intervals.heartbeatMs, () => this.sendHeartbeat())
    this.every(this.deps.intervals.meterPollMs, () => this.pollCall())
    this.every(this.deps.intervals.tickMs, () => this.tick())
    void this.reportPresence()
    void this.pollCall()
    this.drainCallEnds()
  }

  /** Stops every loop. With goOffline (sign-out, exit) the platform is told at once; otherwise presence expires. */
  async stop(options: { goOffline: boolean }): Promise<void> {
    if (this.stopped.signal.aborted) return
    this.stopped.abort()
    for (const timer of this.timers) clearInterval(timer)
    this.timers.clear()
    clearTimeout(this.drainTimer)
    if (options.goOffline && this.presence !== 'offline') {
      // Quitting waits for the report a little, not for a platform that does not answer.
      const patience = new AbortController()
      try {
        await Promise.race([this.deps.api.presence('offline'), delay(OFFLINE_REPORT_TIMEOUT_MS, patience.signal)])
      } catch (error) {
        this.deps.log(`could not report offline: ${(error as Error).message}`)
      } finally {
        patience.abort()
      }
      this.presence = 'offline'
    }
    await this.draining?.catch(() => undefined)
  }

  get alive(): boolean {
    return !this.stopped.signal.aborted
  }

  /** A call is starting, connecting, running, or ended by the operator and not yet answered. */
  hasCallInProgress(): boolean {
    const phase = this.deps.record.call?.phase
    return inProgress(phase) || phase === 'ending'
  }

  /** After the computer wakes up: report presence and deliver what waits, now rather than at the next timer. */
  wake(): void {
    if (!this.alive) return
    void this.reportPresence()
    void this.sendHeartbeat()
    void this.pollCall()
    this.drainFailures = 0
    this.drainCallEnds()
  }

  view(): Omit<PluginState, 'screen' | 'signInMessage' | 'platformUrl' | 'operator' | 'tokenStorage'> {
    const { record, queue, now } = this.deps
    return {
      link: record.link,
      connected: record.link !== null,
      stream: this.stream,
      presence: this.presence,
      cards: this.cards.map((card) => ({ ...card })),
      call: this.callPanel(),
      today: todaySummary(record.recentCalls, now()),
      pendingCallEnds: queue.list(this.operator.id).length,
      problem: this.unreachableSinceMs === null ? null : 'No connection to the platform. Retrying…',
      video: { ...this.video },
    }
  }

  // -------------------------------------------------------------------------------------------------------------
  // The calling account and presence

  async link(provider: CallingProvider, handle: string): Promise<ActionResult> {
    try {
      const link = await this.deps.api.link(provider, handle)
      await this.deps.record.setLink(link)
      this.deps.changed()
      void this.reportPresence()
      return { ok: true }
    } catch (error) {
      return this.failure(error, {
        handle_taken: 'This handle is linked to another account on the platform.',
        invalid_body: 'Choose a provider and enter your handle (at most 200 characters).',
      })
    }
  }

  private desiredPresence(): PresenceStatus {
    if (!this.deps.record.link) return 'offline'
    // Busy from the moment a call is accepted: the member is joining, and no one else can be taken meanwhile.
    return inProgress(this.deps.record.call?.phase) ? 'busy' : 'online'
  }

  private async reportPresence(): Promise<void> {
    if (!this.alive) return
    // Repeated even while offline (not linked yet): the report doubles as the check that the token still holds.
    const status = this.desiredPresence()
    try {
      await this.deps.api.presence(status)
      if (!this.alive) return
      if (this.presence !== status) {
        this.presence = status
        this.deps.changed()
      }
    } catch (error) {
      this.handleBackgroundError('presence', error)
    }
  }

  // -------------------------------------------------------------------------------------------------------------
  // Who is calling

  /**
   * Looks a caller's handle up. A handle proves nothing by itself (anyone can open a perminute:// link), so its card is
   * shown as unverified at once, and becomes a member's card only when the platform confirms that this member is
   * asking this operator for a call (docs/decisions/046); otherwise it says so and cannot start a call.
   */
  async lookUpCaller(handle: string, source: 'caller' | 'reopened' = 'caller'): Promise<ActionResult> {
    const trimmed = handle.trim()
    if (!trimmed) return { ok: false, code: 'invalid_query', message: 'Enter the handle the caller uses.' }
    const placeholderId = `caller:${trimmed}`
    if (source === 'caller') {
      this.putCard({
        ...emptyCard(placeholderId, source, { id: null, displayName: trimmed, handle: trimmed }, this.deps.now()),
        refusal: 'Checking with the platform whether this caller asked you for a call…',
      })
    }
    try {
      const summary = await this.deps.api.lookupMember(trimmed)
      const member = { id: summary.id, displayName: summary.displayName, handle: trimmed }
      await this.deps.record.rememberMember(member)
      this.cards = this.cards.filter((c) => c.cardId !== placeholderId)
      const request = summary.request ? requestOfCard(summary.request) : null
      const booking = summary.booking
        ? { ...summary.booking, startsAtMs: Date.parse(summary.booking.startsAt) || this.deps.now() }
        : null
      this.putCard({
        ...emptyCard(`member:${summary.id}`, source, member, this.deps.now()),
        summary,
        request,
        booking: booking && { scheduledCallId: booking.scheduledCallId, prepaidMinutes: booking.prepaidMinutes, ratePerMinuteCents: booking.ratePerMinuteCents, startsAtMs: booking.startsAtMs },
        verified: request !== null || booking !== null,
      })
      if (source === 'caller') {
        this.deps.notify({
          kind: 'caller',
          title: `${summary.displayName} is calling`,
          body: `Funds for ${summary.fundedMinutes} min at the price they asked for · ${summary.paidCalls} paid calls`,
        })
      }
      return { ok: true }
    } catch (error) {
      const unknown = 'No member asking you for a call uses this handle. Do not take this call as a paid call.'
      if (isPlatformApiError(error, 'member_not_found') && source === 'caller') this.updateCard(placeholderId, { refusal: unknown })
      else this.cards = this.cards.filter((c) => c.cardId !== placeholderId)
      this.deps.changed()
      return this.failure(error, { member_not_found: unknown, invalid_query: 'Enter the handle the caller uses.' })
    }
  }

  /** Shows a member's card again for a call of today's list (the operator opened a chat with them). */
  async reopenMemberCard(callId: string): Promise<ActionResult> {
    const call = this.deps.record.recentCalls.find((c) => c.callId === callId)
    if (!call?.member) return { ok: false, code: 'unknown_call', message: 'This call is not in your list.' }
    if (call.member.handle) {
      const found = await this.lookUpCaller(call.member.handle, 'reopened')
      if (found.ok || found.code !== 'member_not_found') return found
    }
    // Not asking for a call now (or without a calling handle): the card shows what is known, and cannot start one.
    this.putCard({
      ...emptyCard(`member:${call.member.id}`, 'reopened', call.member, this.deps.now()),
      refusal: `${call.member.displayName} has no open request to you. A call starts when they ask for one on the website.`,
    })
    return { ok: true }
  }

  /** Puts a card away; a member's request is declined, so their page says the operator cannot take it. */
  async dismissCard(cardId: string): Promise<ActionResult> {
    const card = this.cards.find((c) => c.cardId === cardId)
    if (!card) return { ok: true }
    if (card.request) {
      try {
        await this.deps.api.declineCallRequest(card.request.requestId)
      } catch (error) {
        // Closed already (cancelled, expired) or not found: there is nothing left to decline.
        if (!isPlatformApiError(error, 'call_request_closed') && !isPlatformApiError(error, 'call_request_not_found')) {
          return this.failure(error, {})
        }
      }
    }
    this.cards = this.cards.filter((c) => c.cardId !== cardId)
    this.deps.changed()
    return { ok: true }
  }

  private putCard(card: MemberCard): void {
    // One card per member: a newer sighting replaces the older one.
    const sameMember = (c: MemberCard) => c.cardId === card.cardId || (card.member.id !== null && c.member.id === card.member.id)
    this.cards = [card, ...this.cards.filter((c) => !sameMember(c))].slice(0, MAX_CARDS)
    this.deps.changed()
  }

  private updateCard(cardId: string, change: Partial<MemberCard>): void {
    this.cards = this.cards.map((card) => (card.cardId === cardId ? { ...card, ...change } : card))
    this.deps.changed()
  }

  // -------------------------------------------------------------------------------------------------------------
  // Starting a call

  async acceptCard(cardId: string): Promise<ActionResult> {
    const card = this.cards.find((c) => c.cardId === cardId)
    if (!card) return { ok: false, code: 'unknown_card', message: 'This request is no longer shown.' }
    if (card.status === 'starting') return { ok: false, code: 'starting', message: 'The call is already starting.' }
    const member = card.member.id === null ? null : { ...card.member, id: card.member.id }
    const terms = card.request ?? card.booking
    if (!card.verified || !member || !terms) {
      const message = describeStartRefusal('call_request_required', card.member.displayName, '')
      this.updateCard(cardId, { status: 'refused', refusal: message })
      return { ok: false, code: 'call_request_required', message }
    }
    if (this.hasCallInProgress()) {
      const message = describeStartRefusal('operator_busy', card.member.displayName, '')
      this.updateCard(cardId, { status: 'refused', refusal: message })
      return { ok: false, code: 'operator_busy', message }
    }
    this.updateCard(cardId, { status: 'starting', refusal: null })
    // The id is made once, before the first attempt, so that every retry is the same request (docs/api.md).
    const callId = randomUUID()
    const stored: StoredCall = {
      callId,
      member,
      // The member's terms are the call's: the price they were shown when they asked (docs/decisions/046).
      ratePerMinuteCents: terms.ratePerMinuteCents,
      prepaidMinutes: card.booking ? card.booking.prepaidMinutes : card.request?.mode === 'prepaid' ? card.request.prepaidMinutes : null,
      phase: 'starting',
      // What the member asked for; the platform's answer says it again, and its word stands.
      channel: card.request?.channel ?? (card.booking ? 'video' : 'outside'),
      media: null,
      memberFacts: card.summary
        ? { fundedMinutes: card.summary.fundedMinutes, paidCalls: card.summary.paidCalls, rating: { ...card.summary.rating } }
        : null,
      startedAtMs: null,
      endedAtMs: null,
      endedBy: null,
      endReason: null,
      settlement: null,
      dismissed: false,
    }
    this.startingCallId = callId
    try {
      await this.deps.record.setCall(stored)
      this.meter = null
      this.deps.changed()
      return await this.startCall(card, stored, card.request ? { requestId: card.request.requestId } : { scheduledCallId: card.booking!.scheduledCallId })
    } finally {
      this.startingCallId = null
    }
  }

  private async startCall(card: MemberCard, stored: StoredCall, answers: { requestId: string } | { scheduledCallId: string }): Promise<ActionResult> {
    const { callId } = stored
    const cardId = card.cardId

    let lastError: unknown
    for (let attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
      try {
        // The terms shown to the operator go along: the platform refuses the start if they are not the member's.
        const started = await this.deps.api.startCall({
          callId,
          ...answers,
          memberId: stored.member.id,
          mode: stored.prepaidMinutes !== null ? 'prepaid' : 'per_minute',
          prepaidMinutes: stored.prepaidMinutes,
          ratePerMinuteCents: stored.ratePerMinuteCents,
        })
        if (!this.alive) return { ok: true }
        // Accepted: connecting until the platform sees both parties connected (call.connected), billed from then.
        // (Only a repeat of a start that went through long ago answers 'active'.)
        const phase = started.status === 'active' ? 'active' : 'connecting'
        const media = this.receivedMedia(started.media)
        await this.deps.record.updateCall(callId, (call) =>
          call.phase === 'starting'
            ? {
                ...call,
                phase,
                channel: started.channel ?? call.channel,
                media,
                startedAtMs: phase === 'active' ? this.deps.now() : null,
                ratePerMinuteCents: started.ratePerMinuteCents,
              }
            : call,
        )
        if (media) this.mediaFreshFor = callId
        this.meter = null
        this.cards = this.cards.filter((c) => c.cardId !== cardId)
        this.followChat()
        this.deps.changed()
        void this.reportPresence()
        void this.sendHeartbeat()
        void this.pollCall()
        return { ok: true }
      } catch (error) {
        lastError = error
        if (isAuthFailure(error)) break
        if (!isTransient(error)) break
        await delay(this.deps.intervals.retryFirstMs * attempt, this.stopped.signal)
        if (!this.alive) return { ok: true }
      }
    }

    // No answer: the call may have opened all the same. The platform knows.
    if (isTransient(lastError)) {
      try {
        const view = await this.deps.api.getCall(callId)
        if (view.status === 'active' || view.status === 'connecting') {
          await this.deps.record.updateCall(callId, (call) => (call.phase === 'starting' ? promoted(call, view) : call))
          this.cards = this.cards.filter((c) => c.cardId !== cardId)
          this.applyView(view)
          void this.reportPresence()
          // The start's answer, and its room token, were lost: the next tick asks for a token.
          return { ok: true }
        }
      } catch {
        // Still unreachable, or not found: the start did not happen. A later poll would find it if it did.
      }
    }
    await this.deps.record.updateCall(callId, () => null)
    const failure = this.failure(lastError, {})
    const message = failure.ok ? '' : describeStartRefusal(failure.code, card.member.displayName, failure.message)
    this.updateCard(cardId, { status: 'refused', refusal: message })
    void this.reportPresence()
    return { ok: false, code: failure.ok ? 'unknown' : failure.code, message }
  }

  // -------------------------------------------------------------------------------------------------------------
  // The call in progress

  private callPanel(): CallPanel | null {
    const call = this.deps.record.call
    if (!call || call.dismissed) return null
    const meter = this.meter
    const running = call.phase === 'active'
    let elapsedSeconds = 0
    if (meter) {
      const until = call.endedAtMs ?? (running ? this.deps.now() : meter.atMs)
      elapsedSeconds = meter.elapsedSeconds + Math.max(0, Math.floor((until - meter.atMs) / 1000))
    } else if (call.startedAtMs !== null) {
      elapsedSeconds = Math.max(0, Math.floor(((call.endedAtMs ?? this.deps.now()) - call.startedAtMs) / 1000))
    }
    const settlement = call.settlement
    const available = meter?.memberAvailableCents ?? null
    const billedMinutes = settlement?.billedMinutes ?? meter?.billedMinutes ?? 0
    let minutesLeft: number | null = null
    if (call.prepaidMinutes !== null) minutesLeft = Math.max(0, call.prepaidMinutes - billedMinutes)
    else if (available !== null && call.ratePerMinuteCents > 0) minutesLeft = Math.floor(available / call.ratePerMinuteCents)
    const reason = settlement?.endReason ?? call.endReason
    const byPlatform = call.endedBy === 'platform'
    const inRoom = isPlatformChannel(call.channel)
    return {
      callId: call.callId,
      member: call.member,
      ratePerMinuteCents: call.ratePerMinuteCents,
      prepaidMinutes: call.prepaidMinutes,
      phase: call.phase,
      channel: call.channel,
      media: (call.phase === 'connecting' || call.phase === 'active') && call.media ? publicMedia(call.media) : null,
      memberFacts: call.memberFacts,
      elapsedSeconds,
      billedMinutes,
      chargedCents: settlement?.chargedCents ?? meter?.chargedCents ?? 0,
      memberAvailableCents: available,
      memberMinutesLeft: minutesLeft,
      lowBalance: meter?.lowBalance ?? false,
      endedBy: call.endedBy,
      endReason: reason,
      // On an outside app the operator must hang up there; in the platform's room the media is already cut.
      hangUpPrompt: byPlatform && !inRoom ? hangUpPrompt(reason) : null,
      endNotice: byPlatform && inRoom ? callEndedNotice(reason) : null,
      settlement,
      heartbeatTrouble: running && this.heartbeatTrouble,
      // Messages go to a call the platform has accepted and not settled.
      chat: this.chat.view(call.callId, call.phase !== 'starting' && call.phase !== 'ended'),
    }
  }

  /** The chat follows the call the panel shows (none while a start is still out, or once the panel is closed). */
  private followChat(): void {
    const call = this.deps.record.call
    this.chat.follow(call && !call.dismissed && call.phase !== 'starting' ? { callId: call.callId, memberId: call.member.id } : null)
  }

  /** The operator writes to the member in the call's chat. */
  sendChatMessage(body: string): Promise<ActionResult> {
    this.followChat()
    return this.chat.send(body)
  }

  private tick(): void {
    if (this.deps.record.call?.phase === 'active') this.deps.changed()
    this.followChat()
    this.keepMediaFresh()
    // Requests from the website lapse on their own.
    const now = this.deps.now()
    const live = this.cards.filter((card) => !card.request || card.request.expiresAtMs > now || card.status === 'starting')
    if (live.length !== this.cards.length) {
      this.cards = live
      this.deps.changed()
    }
  }

  private async sendHeartbeat(): Promise<void> {
    const call = this.deps.record.call
    // Only a call on an outside app lives by the plugin's heartbeats; one in the platform's room by what the media
    // server sees of both parties (docs/api.md). While it connects a heartbeat is answered, and a 410 says it ended.
    if (!this.alive || !call || (call.phase !== 'active' && call.phase !== 'connecting') || call.channel !== 'outside') return
    try {
      await this.deps.api.heartbeat(call.callId)
      if (this.heartbeatTrouble) {
        this.heartbeatTrouble = false
        this.deps.changed()
      }
    } catch (error) {
      if (isPlatformApiError(error, 'call_ended')) {
        // 410: the platform has ended this call. Stop the meter now; the call's state says why.
        await this.endedByPlatform(call.callId, null)
        void this.pollCall()
        return
      }
      if (isPlatformApiError(error, 'call_not_found')) {
        await this.forgetCall(call.callId, 'the platform does not know this call')
        return
      }
      if (!this.heartbeatTrouble && !isAuthFailure(error)) {
        this.heartbeatTrouble = true
        this.deps.changed()
      }
      this.handleBackgroundError('heartbeat', error)
    }
  }

  /** Reads the call's state for the meter, and finds out how a call ended that the plugin lost track of. */
  private async pollCall(): Promise<void> {
    const call = this.deps.record.call
    if (!this.alive || !call || call.settlement || this.polling || call.callId === this.startingCallId) return
    this.polling = true
    try {
      const view = await this.deps.api.getCall(call.callId)
      if (this.deps.record.call?.callId !== call.callId) return
      if (view.status === 'active' || view.status === 'connecting') {
        // A start whose answer was lost (a crash, a restart) did open; a connecting call may have connected unseen.
        const before = await this.deps.record.updateCall(call.callId, (current) =>
          current.phase === 'starting' || (current.phase === 'connecting' && view.status === 'active') ? promoted(current, view) : current,
        )
        if (before) {
          void this.reportPresence()
          this.keepMediaFresh()
        }
      }
      // Once the operator has hung up the meter stays where they left it; only the settlement is awaited.
      const phase = this.deps.record.call?.phase
      if (inProgress(phase)) this.applyView(view)
      if (view.status !== 'active' && view.status !== 'connecting' && inProgress(this.deps.record.call?.phase)) {
        await this.endedByPlatform(call.callId, view.endReason ?? null)
      }
      if (view.status === 'settled' && !this.deps.record.call?.settlement) {
        await this.fetchSettlement(call.callId)
      }
    } catch (error) {
      if (isPlatformApiError(error, 'call_not_found')) {
        await this.forgetCall(call.callId, call.phase === 'starting' ? 'the start never reached the platform' : 'the platform does not know this call')
        return
      }
      this.handleBackgroundError('call state', error)
    } finally {
      this.polling = false
    }
  }

  private applyView(view: CallView): void {
    this.meter = {
      elapsedSeconds: view.elapsedSeconds,
      atMs: this.deps.now(),
      billedMinutes: view.billedMinutes,
      chargedCents: view.chargedCents,
      memberAvailableCents: view.memberAvailableCents,
      lowBalance: view.lowBalance,
    }
    this.deps.changed()
  }

  /**
   * The settlement of a call the platform settled, for a plugin that missed the call.settled event. Ending a settled
   * call again is documented to answer its settlement and change nothing (docs/api.md, "hang up").
   */
  private async fetchSettlement(callId: string): Promise<void> {
    const answer = await this.deps.api.endCall(callId, 'other')
    if (answer.status === 'settled') await this.settled(callId, answer, null)
  }

  private async endedByPlatform(callId: string, reason: EndReason | null): Promise<void> {
    const before = await this.deps.record.updateCall(callId, (call) => {
      if (inProgress(call.phase)) {
        return { ...call, phase: 'ended', endedBy: 'platform', endReason: reason, endedAtMs: this.deps.now(), media: null }
      }
      // The heartbeat's 410 said "ended" first; the event or the call's state says why.
      if (call.endedBy === 'platform' && call.endReason === null && reason !== null) return { ...call, endReason: reason }
      return call
    })
    if (!before) return
    this.heartbeatTrouble = false
    this.deps.changed()
    // Told once, when the call stops; a reason learnt later only corrects the words on screen.
    if (!inProgress(before.phase)) return
    this.deps.notify({ kind: 'call_ended', title: `Call with ${before.member.displayName} ended`, body: endedWords(before.channel, reason) })
    void this.reportPresence()
  }

  private async forgetCall(callId: string, why: string): Promise<void> {
    if (!(await this.deps.record.updateCall(callId, () => null))) return
    this.deps.log(`dropping call ${callId}: ${why}`)
    this.meter = null
    this.deps.changed()
    void this.reportPresence()
  }

  /** The operator hung up (or the member did): written to disk first, then delivered until the platform answers. */
  async endCall(reason: PluginEndReason): Promise<ActionResult> {
    const call = this.deps.record.call
    if (!call || !inProgress(call.phase)) {
      return { ok: false, code: 'no_call', message: 'There is no call in progress.' }
    }
    await this.deps.queue.add({ callId: call.callId, operatorId: this.operator.id, reason, queuedAtMs: this.deps.now() })
    // Hanging up leaves the room at once (the window follows the state); a call still connecting costs nothing.
    await this.deps.record.updateCall(call.callId, (current) =>
      inProgress(current.phase) ? { ...current, phase: 'ending', endedBy: 'operator', endReason: reason, endedAtMs: this.deps.now(), media: null } : current,
    )
    this.heartbeatTrouble = false
    this.deps.changed()
    void this.reportPresence()
    this.drainFailures = 0
    this.drainCallEnds()
    return { ok: true }
  }

  /** The operator has seen how the call ended (and hung up): the panel goes away. */
  async acknowledgeCallEnd(): Promise<ActionResult> {
    const call = this.deps.record.call
    if (!call || call.phase !== 'ended') return { ok: false, code: 'no_ended_call', message: 'There is no ended call to close.' }
    // Kept, hidden, until its settlement is in today's list.
    await this.deps.record.updateCall(call.callId, (current) => (current.settlement ? null : { ...current, dismissed: true }))
    if (!this.deps.record.call) this.meter = null
    this.deps.changed()
    return { ok: true }
  }

  private async settled(callId: string, answer: Settlement, times: { startedAtMs: number; endedAtMs: number } | null): Promise<void> {
    const { record } = this.deps
    const settlement = settlementSummary(answer)
    const seen = record.call?.callId === callId ? record.call : null
    const known = record.recentCalls.find((c) => c.callId === callId)
    const endedAtMs = times?.endedAtMs ?? known?.endedAtMs ?? seen?.endedAtMs ?? this.deps.now()
    await record.recordFinishedCall({
      callId,
      member: seen?.member ?? known?.member ?? null,
      startedAtMs: times?.startedAtMs ?? known?.startedAtMs ?? seen?.startedAtMs ?? endedAtMs,
      endedAtMs,
      billedMinutes: settlement.billedMinutes,
      chargedCents: settlement.chargedCents,
      operatorEarningsCents: settlement.operatorEarningsCents,
      endReason: settlement.endReason,
    })
    // The call as it is now: the operator may have closed it meanwhile.
    const before = await record.updateCall(callId, (call) => {
      if (call.dismissed) return null
      if (call.settlement) return call
      // Ended by the platform behind the plugin's back (no event, no 410 yet) is ended all the same.
      return { ...call, phase: 'ended', endedBy: call.endedBy ?? 'platform', endReason: call.endReason ?? settlement.endReason, settlement, media: null }
    })
    if (before) {
      if (!record.call) this.meter = null
      if (inProgress(before.phase) && before.endedBy === null) {
        this.deps.notify({ kind: 'call_ended', title: `Call with ${before.member.displayName} ended`, body: endedWords(before.channel, settlement.endReason) })
      }
      void this.reportPresence()
    }
    this.deps.changed()
  }

  // -------------------------------------------------------------------------------------------------------------
  // Delivering call ends

  /** Sends every queued end of this operator; one run at a time, another right after if asked meanwhile. */
  private drainCallEnds(): void {
    if (!this.alive) return
    if (this.draining) {
      this.drainAgain = true
      return
    }
    clearTimeout(this.drainTimer)
    this.draining = this.deliverQueuedEnds().finally(() => {
      this.draining = null
      if (this.drainAgain) {
        this.drainAgain = false
        this.drainCallEnds()
      }
    })
  }

  private async deliverQueuedEnds(): Promise<void> {
    let retryInMs: number | null = null
    for (const end of this.deps.queue.list(this.operator.id)) {
      if (!this.alive) return
      try {
        const answer = await this.deps.api.endCall(end.callId, end.reason)
        if (answer.status === 'settled') {
          await this.deps.queue.remove(end.callId)
          await this.settled(end.callId, answer, null)
          this.drainFailures = 0
        } else {
          // 202: recorded, still settling. Ask again soon for the settlement.
          await this.deps.queue.recordAttempt(end.callId, { error: null, acknowledged: true })
          retryInMs = Math.min(retryInMs ?? Infinity, this.deps.intervals.retryFirstMs)
        }
      } catch (error) {
        if (isAuthFailure(error)) {
          // Kept on disk: sent again once the operator signs in again.
          this.deps.authLost(error)
          return
        }
        if (isPlatformApiError(error, 'call_not_found')) {
          this.deps.log(`the platform does not know call ${end.callId}; its end is dropped`)
          await this.deps.queue.remove(end.callId)
          await this.forgetCall(end.callId, 'its end was refused as unknown')
          continue
        }
        await this.deps.queue.recordAttempt(end.callId, { error: (error as Error).message })
        this.drainFailures += 1
        const backoff = Math.min(this.deps.intervals.retryFirstMs * 2 ** (this.drainFailures - 1), this.deps.intervals.retryMaxMs)
        retryInMs = Math.min(retryInMs ?? Infinity, backoff)
      }
    }
    this.deps.changed()
    if (retryInMs !== null && this.alive) {
      clearTimeout(this.drainTimer)
      this.drainTimer = setTimeout(() => this.drainCallEnds(), retryInMs)
    }
  }

  // -------------------------------------------------------------------------------------------------------------
  // The event stream

  private async runEventStream(): Promise<void> {
    const signal = this.stopped.signal
    while (!signal.aborted) {
      try {
        for await (const message of this.deps.api.events(signal, {
          lastEventId: this.deps.record.lastEventId,
          idleTimeoutMs: this.deps.intervals.streamIdleTimeoutMs,
          onConnectionChange: (change) => {
            if (signal.aborted) return
            this.stream = change.open ? 'live' : 'reconnecting'
            this.deps.changed()
            if (change.open) {
              // Back on the network: what waited goes now.
              this.drainFailures = 0
              this.drainCallEnds()
              void this.pollCall()
            }
          },
        })) {
          await this.handleEvent(message)
          if (message.id !== null && this.alive) await this.deps.record.setLastEventId(message.id)
        }
        return
      } catch (error) {
        if (signal.aborted) return
        if (isAuthFailure(error)) return this.deps.authLost(error)
        if (isPlatformApiError(error, 'invalid_last_event_id')) {
          // A cursor this server cannot read (a database restored from a backup, say): start again from now.
          this.deps.log('the platform refused the saved event position; following new events only')
          await this.deps.record.update((data) => ({ ...data, lastEventId: null }))
          continue
        }
        this.deps.log(`the event stream failed: ${(error as Error).message}`)
        this.stream = 'reconnecting'
        this.deps.changed()
        await delay(this.deps.intervals.retryMaxMs, signal)
      }
    }
  }

  private async handleEvent(message: ServerSentMessage): Promise<void> {
    const call = this.deps.record.call
    if (isEvent(message, 'call.connected')) {
      await this.connected(message.data.callId, message.data.startedAtMs)
    } else if (isEvent(message, 'call.low_balance') || isEvent(message, 'call.low_balance_cleared')) {
      if (call?.callId !== message.data.callId || call.phase !== 'active') return
      const low = message.event === 'call.low_balance'
      this.meter = {
        ...(this.meter ?? { elapsedSeconds: 0, atMs: this.deps.now(), billedMinutes: 0, chargedCents: 0 }),
        memberAvailableCents: message.data.availableCents,
        lowBalance: low,
      }
      this.deps.changed()
      if (low) {
        this.deps.notify({
          kind: 'low_balance',
          title: `${call.member.displayName} is running out of money`,
          body: `${message.data.minutesLeft} min left at this price; they have been asked to top up.`,
        })
      }
    } else if (isEvent(message, 'call.ending')) {
      await this.endedByPlatform(message.data.callId, message.data.reason)
    } else if (isEvent(message, 'call.settled')) {
      const { data } = message
      await this.deps.queue.remove(data.callId)
      await this.settled(
        data.callId,
        settlementSummary(data),
        { startedAtMs: data.startedAtMs, endedAtMs: data.endedAtMs },
      )
    } else if (isEvent(message, 'call.message')) {
      this.followChat()
      if (isCallMessage(message.data)) this.chat.received(message.data)
    } else if (isEvent(message, 'call.requested')) {
      await this.callRequested(message.data)
    } else if (isEvent(message, 'scheduled_call.reserved')) {
      await this.scheduledCallDue(message.data)
    }
    // Other types come from a newer platform: skipped.
  }

  /** Both parties are connected: the call runs, and its meter runs from the platform's own start time. */
  private async connected(callId: string, startedAtMs: number): Promise<void> {
    if (!Number.isFinite(startedAtMs)) return
    const before = await this.deps.record.updateCall(callId, (call) =>
      call.phase === 'connecting' || call.phase === 'starting' ? { ...call, phase: 'active', startedAtMs } : call,
    )
    if (!before) return
    const now = this.deps.now()
    this.meter = {
      elapsedSeconds: Math.max(0, Math.floor((now - startedAtMs) / 1000)),
      atMs: now,
      billedMinutes: this.meter?.billedMinutes ?? 0,
      chargedCents: this.meter?.chargedCents ?? 0,
      memberAvailableCents: this.meter?.memberAvailableCents ?? null,
      lowBalance: false,
    }
    this.deps.changed()
    void this.reportPresence()
    void this.sendHeartbeat()
    // The platform's own figures (and its clock's elapsed time) at once.
    void this.pollCall()
  }

  // -------------------------------------------------------------------------------------------------------------
  // The room token

  /** A join as the platform gave it, stamped with when it arrived (its renewal is timed from then). */
  private receivedMedia(media: CallMedia | null | undefined): StoredCallMedia | null {
    return media ? { ...media, receivedAtMs: this.deps.now() } : null
  }

  /**
   * Keeps a fresh room token for a call in the platform's room: at once after a restart (or a start whose answer was
   * lost), so the window can join again, and halfway through each token's life, so a rejoin never meets an expired
   * one (LiveKit keeps a joined participant connected past its token's expiry; docs/decisions/063).
   */
  private keepMediaFresh(): void {
    const call = this.deps.record.call
    if (!this.alive || !call || (call.phase !== 'connecting' && call.phase !== 'active') || !isPlatformChannel(call.channel)) return
    if (this.refreshingMedia || call.callId === this.startingCallId) return
    const now = this.deps.now()
    if (now < this.mediaRetryAtMs) return
    const due = call.media === null || this.mediaFreshFor !== call.callId || now >= mediaRefreshAtMs(call.media)
    if (due) void this.refreshMedia(call.callId)
  }

  private async refreshMedia(callId: string): Promise<void> {
    this.refreshingMedia = true
    try {
      const media = this.receivedMedia(await this.deps.api.mediaToken(callId))
      const before = await this.deps.record.updateCall(callId, (call) => (call.phase === 'connecting' || call.phase === 'active' ? { ...call, media } : call))
      if (before) {
        this.mediaFreshFor = callId
        this.mediaFailures = 0
        this.mediaRetryAtMs = 0
        this.deps.changed()
      }
    } catch (error) {
      if (isPlatformApiError(error, 'no_media')) {
        // Over already (or not in the room): the call's state says how.
        await this.deps.record.updateCall(callId, (call) => (call.media ? { ...call, media: null } : call))
        this.mediaFreshFor = callId
        void this.pollCall()
      } else {
        this.mediaFailures += 1
        this.mediaRetryAtMs =
          this.deps.now() + Math.min(this.deps.intervals.retryFirstMs * 2 ** (this.mediaFailures - 1), this.deps.intervals.retryMaxMs)
        this.handleBackgroundError('room token', error)
      }
    } finally {
      this.refreshingMedia = false
    }
  }

  private async callRequested(request: PlatformEventMap['call.requested']): Promise<void> {
    const expiresAtMs = Date.parse(request.expiresAt)
    // A replayed request (after a restart) that has lapsed, or one already shown, is not news.
    if (!(expiresAtMs > this.deps.now())) return
    const cardId = `request:${request.requestId}`
    // Shown already, or a caller's card answering the same request (the look-up came first). Checked and shown with no
    // wait in between: a caller's card put meanwhile (one being started, say) must not be replaced by this one.
    if (this.cards.some((card) => card.cardId === cardId || card.request?.requestId === request.requestId)) return
    const member = { id: request.memberId, displayName: request.memberDisplayName, handle: request.memberHandle }
    this.putCard({ ...emptyCard(cardId, 'request', member, this.deps.now()), request: requestOfCard(request), verified: true })
    const what = request.mode === 'prepaid' && request.prepaidMinutes ? `a prepaid block of ${request.prepaidMinutes} min` : 'a call now'
    this.deps.notify({ kind: 'request', title: `${member.displayName} asks for a call`, body: `They ask for ${what}. Open perminute to accept or decline.` })
    await this.deps.record.rememberMember(member)
    if (member.handle) {
      // Funds, spend and rating, as for a caller; the request stands without them if the lookup fails.
      try {
        const summary = await this.deps.api.lookupMember(member.handle)
        if (summary.id === member.id) this.updateCard(cardId, { summary })
      } catch (error) {
        this.handleBackgroundError('member lookup', error)
      }
    }
  }

  /** A member's scheduled call is due and its money reserved: a card that starts it with the booked terms. */
  private async scheduledCallDue(booking: PlatformEventMap['scheduled_call.reserved']): Promise<void> {
    const cardId = `booking:${booking.scheduledCallId}`
    if (this.cards.some((card) => card.cardId === cardId)) return
    const known = this.deps.record.member(booking.memberId)
    const member = { id: booking.memberId, displayName: booking.memberDisplayName, handle: known?.handle ?? null }
    // Shown before anything is awaited, as a request is (see callRequested).
    this.putCard({
      ...emptyCard(cardId, 'booking', member, this.deps.now()),
      booking: {
        scheduledCallId: booking.scheduledCallId,
        prepaidMinutes: booking.prepaidMinutes,
        ratePerMinuteCents: booking.ratePerMinuteCents,
        startsAtMs: booking.startsAtMs,
      },
      verified: true,
    })
    this.deps.notify({
      kind: 'request',
      title: `Your call with ${member.displayName} is due`,
      body: `${booking.prepaidMinutes} min are reserved. Open perminute to start it.`,
    })
    await this.deps.record.rememberMember(member)
  }

  // -------------------------------------------------------------------------------------------------------------
  // The video preview

  async uploadVideo(bytes: Uint8Array<ArrayBuffer>, contentType: string): Promise<ActionResult> {
    this.video = { status: 'uploading', videoUrl: this.video.videoUrl, message: null }
    this.deps.changed()
    try {
      const uploaded = await this.deps.api.uploadProfileVideo(bytes, contentType)
      this.video = { status: 'uploaded', videoUrl: new URL(uploaded.videoUrl, this.deps.platformUrl).href, message: null }
      this.deps.changed()
      return { ok: true }
    } catch (error) {
      const failure = this.failure(error, {
        payload_too_large: 'The recording is too large. Record a shorter preview.',
        unsupported_media_type: 'The platform does not accept this video format.',
      })
      this.video = { status: 'failed', videoUrl: this.video.videoUrl, message: failure.ok ? null : failure.message }
      this.deps.changed()
      return failure
    }
  }

  // -------------------------------------------------------------------------------------------------------------

  private every(ms: number, task: () => unknown): void {
    const timer = setInterval(() => {
      if (this.alive) void task()
    }, ms)
    this.timers.add(timer)
  }

  /** A failure of a loop: a refused session ends it; anything else is logged and the loop tries again later. */
  private handleBackgroundError(what: string, error: unknown): void {
    if (!this.alive) return
    if (isAuthFailure(error)) return this.deps.authLost(error)
    this.deps.log(`${what}: ${(error as Error).message}`)
  }

  /** The answer for the window when an action failed, in the operator's words where we have them. */
  private failure(error: unknown, messages: Record<string, string>): ActionResult {
    if (isAuthFailure(error)) {
      this.deps.authLost(error)
      return { ok: false, code: error.code, message: 'Your session has ended. Please sign in again.' }
    }
    if (error instanceof PlatformApiError) {
      const message =
        messages[error.code] ??
        (error.status === 0 ? `The platform cannot be reached (${error.code === 'timeout' ? 'no answer' : 'network error'}).` : error.message)
      return { ok: false, code: error.code, message }
    }
    this.deps.log(`unexpected failure: ${(error as Error)?.stack ?? String(error)}`)
    return { ok: false, code: 'internal', message: 'Something went wrong in the plugin.' }
  }
}

/** A card with nothing confirmed yet: no summary, no request or booking, not verified. */
function emptyCard(cardId: string, source: MemberCard['source'], member: MemberCard['member'], nowMs: number): MemberCard {
  return { cardId, source, member, summary: null, request: null, booking: null, verified: false, status: 'waiting', refusal: null, receivedAtMs: nowMs }
}

/** A member's request as a card shows it, from an event or a look-up. */
function requestOfCard(request: {
  requestId: string
  requestedAt: string
  expiresAt: string
  mode: string
  prepaidMinutes: number | null
  ratePerMinuteCents: number
  channel?: string
}): NonNullable<MemberCard['request']> {
  const prepaid = request.mode === 'prepaid'
  return {
    requestId: request.requestId,
    requestedAtMs: Date.parse(request.requestedAt) || Date.now(),
    expiresAtMs: Date.parse(request.expiresAt),
    mode: prepaid ? 'prepaid' : 'per_minute',
    prepaidMinutes: prepaid ? request.prepaidMinutes : null,
    ratePerMinuteCents: request.ratePerMinuteCents,
    // A platform from before calls in its own room names no channel: those were all on the operator's app.
    channel: request.channel === 'audio' || request.channel === 'video' ? request.channel : 'outside',
  }
}

/** A call found open on the platform (connecting, or connected) that the plugin had as starting or connecting. */
function promoted(call: StoredCall, view: CallView): StoredCall {
  const active = view.status === 'active'
  return {
    ...call,
    phase: active ? 'active' : 'connecting',
    channel: view.channel ?? call.channel,
    startedAtMs: active ? Date.parse(view.startedAt) || null : null,
  }
}

/** The join as the window sees it: without this computer's bookkeeping. */
function publicMedia(media: StoredCallMedia): CallMedia {
  const { receivedAtMs: _received, ...join } = media
  return join
}

/** What the notification says when the platform ended a call: hang up on an outside app; news for a call in the room. */
function endedWords(channel: StoredCall['channel'], reason: EndReason | null): string {
  return isPlatformChannel(channel) ? callEndedNotice(reason) : hangUpPrompt(reason)
}

/** Waits `ms`, or less if `signal` aborts first; never rejects. */
function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return sleep(ms, undefined, { signal }).catch(() => undefined)
}

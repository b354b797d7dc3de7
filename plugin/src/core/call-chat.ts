import { isPlatformApiError, type CallMessage, type PlatformApi } from './platform-api.js'
import type { ActionResult, CallChatView, ChatLine } from './plugin-state.js'

/**
 * The text chat of the call in progress (docs/decisions/065-call-chat.md). The platform keeps the messages, so the
 * core keeps none on disk: when a call appears (accepted, or found again after a restart) it reads the call's
 * messages and what the operator and this member wrote in earlier calls; new ones come as call.message events (the
 * operator's own too) and from the answers to what the operator sends. A message is shown once, whichever way it came.
 */

export interface CallChatDeps {
  api: PlatformApi
  now: () => number
  log: (message: string) => void
  changed: () => void
  /** The answer for the window when a request failed (a refused session signs out), in the operator's words. */
  failure: (error: unknown, messages: Record<string, string>) => ActionResult
}

/** After a failed read, the chat is read again no sooner than this. */
const RELOAD_AFTER_MS = 5_000

const SEND_REFUSALS: Record<string, string> = {
  call_ended: 'The call is over: no more messages can be sent.',
  call_not_found: 'This call is not known to the platform (any more).',
  too_many_messages: 'That is more than 20 messages a minute. Wait a moment and send it again.',
  invalid_body: 'A message is 1 to 1000 characters.',
}

const lineOf = (message: CallMessage): ChatLine => ({ id: message.id, from: message.from, body: message.body, sentAtMs: Date.parse(message.sentAt) || 0 })
const inOrder = (a: { sentAtMs: number; id: string }, b: { sentAtMs: number; id: string }) => a.sentAtMs - b.sentAtMs || a.id.localeCompare(b.id)

export class CallChat {
  private callId: string | null = null
  private memberId: string | null = null
  private readonly lines = new Map<string, ChatLine>()
  private earlier: CallChatView['earlier'] = []
  private loaded = false
  private loading = false
  private retryAtMs = 0
  private sending = false
  private problem: string | null = null

  constructor(private readonly deps: CallChatDeps) {}

  /** Follows the call the operator is in (null when none): a call not seen before has its chat read from the platform. */
  follow(call: { callId: string; memberId: string } | null): void {
    if (call?.callId !== this.callId) {
      this.callId = call?.callId ?? null
      this.memberId = call?.memberId ?? null
      this.lines.clear()
      this.earlier = []
      this.loaded = false
      this.retryAtMs = 0
      this.problem = null
    }
    if (!this.callId || this.loaded || this.loading || this.deps.now() < this.retryAtMs) return
    void this.load(this.callId, this.memberId!)
  }

  private async load(callId: string, memberId: string): Promise<void> {
    this.loading = true
    try {
      const [own, history] = await Promise.all([
        this.deps.api.callMessages(callId),
        // A member the platform does not show this operator has no earlier conversation to show.
        this.deps.api.memberMessages(memberId).catch((error: unknown) => {
          if (isPlatformApiError(error, 'member_not_found')) return null
          throw error
        }),
      ])
      if (this.callId !== callId) return
      for (const message of own) this.lines.set(message.id, lineOf(message))
      this.earlier = (history?.messages ?? [])
        .filter((message) => message.callId !== callId)
        .map((message) => ({ ...lineOf(message), callStartedAtMs: Date.parse(message.callStartedAt) || 0 }))
        .sort(inOrder)
      this.loaded = true
      this.deps.changed()
    } catch (error) {
      this.retryAtMs = this.deps.now() + RELOAD_AFTER_MS
      this.deps.log(`could not read the call's messages: ${(error as Error).message}`)
    } finally {
      this.loading = false
    }
  }

  /** A call.message event: shown if it is this call's. */
  received(message: CallMessage): void {
    if (message.callId !== this.callId || this.lines.has(message.id)) return
    this.lines.set(message.id, lineOf(message))
    this.deps.changed()
  }

  async send(text: string): Promise<ActionResult> {
    const callId = this.callId
    const body = text.trim()
    if (!callId) return { ok: false, code: 'no_call', message: 'There is no call to write in.' }
    if (body.length === 0) return { ok: false, code: 'blank', message: 'Write a message first.' }
    this.sending = true
    this.problem = null
    this.deps.changed()
    try {
      const message = await this.deps.api.sendCallMessage(callId, body)
      if (this.callId === callId) this.lines.set(message.id, lineOf(message))
      return { ok: true }
    } catch (error) {
      const failure = this.deps.failure(error, SEND_REFUSALS)
      if (!failure.ok && this.callId === callId) this.problem = failure.message
      return failure
    } finally {
      this.sending = false
      this.deps.changed()
    }
  }

  /** The chat of `callId` for the window; `open` when the call can still take messages. */
  view(callId: string, open: boolean): CallChatView {
    const own = callId === this.callId
    return {
      messages: own ? [...this.lines.values()].sort(inOrder) : [],
      earlier: own ? this.earlier.map((line) => ({ ...line })) : [],
      loaded: own && this.loaded,
      open,
      sending: own && this.sending,
      problem: own ? this.problem : null,
    }
  }
}

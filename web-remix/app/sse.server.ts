/**
 * A text/event-stream response, the plumbing every stream of the web shares (the plugin's and a member's outbox
 * events, the storefront's presence): the first `retry:` line that flushes the headers, a comment every 15 s so
 * proxies keep the connection, and one way to end it, whether the client went away, a write failed or the stream's
 * own source ended. What a stream says is the caller's: `start` subscribes to its source, writes through the writer,
 * and returns what undoes the subscription.
 */

export interface SseWriter {
  /** Writes raw text/event-stream lines; a no-op once the stream has ended. */
  write(text: string): void
  /** Ends the stream (and runs the cleanup `start` returned). */
  stop(): void
}

const PING_INTERVAL_MS = 15_000

/**
 * Caps on the event streams a web process keeps open (docs/decisions/058-requests-within-bounds.md):
 * each holds a connection, timers and subscriptions for as long as the client likes, so one client may hold at most
 * `perClient` of them (per browser session or plugin token) and one address at most `perAddress`, whoever is behind it.
 * Per process: each web server of a deployment counts its own.
 */
export class EventStreamSlots {
  private readonly open = new Map<string, number>()

  constructor(private readonly limits: { perClient: number; perAddress: number }) {}

  /** A slot for one more stream, or null when the client or its address holds its cap; the function frees it, once. */
  take(client: string | null, address: string | null): (() => void) | null {
    const wanted: Array<[string, number]> = []
    if (client) wanted.push([`client:${client}`, this.limits.perClient])
    if (address) wanted.push([`address:${address}`, this.limits.perAddress])
    if (wanted.some(([key, cap]) => (this.open.get(key) ?? 0) >= cap)) return null
    for (const [key] of wanted) this.open.set(key, (this.open.get(key) ?? 0) + 1)
    let freed = false
    return () => {
      if (freed) return
      freed = true
      for (const [key] of wanted) {
        const left = (this.open.get(key) ?? 1) - 1
        if (left > 0) this.open.set(key, left)
        else this.open.delete(key)
      }
    }
  }
}

/** The pages' answer when a client holds all the streams it may (the plugin API answers in its own JSON shape). */
export function tooManyStreams(): Response {
  return new Response('Too many open event streams: close another page first.', {
    status: 429,
    statusText: 'Too Many Requests',
    headers: { 'Content-Type': 'text/plain; charset=utf-8', 'Retry-After': '30', 'Cache-Control': 'no-store' },
  })
}

export function serverSentEvents(options: {
  /** Any of them aborting (the client went away) ends the stream. */
  signals: AbortSignal[]
  /** How soon an EventSource client should come back after a drop. */
  retryMs: number
  start(writer: SseWriter): () => void
  /** Called once when the stream has ended, however (frees its EventStreamSlots slot). */
  onEnd?: () => void
}): Response {
  const { signals } = options
  const encoder = new TextEncoder()
  let stop: () => void = () => undefined

  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      let open = true
      let cleanup: (() => void) | undefined
      const write = (text: string) => {
        if (!open) return
        try {
          controller.enqueue(encoder.encode(text))
        } catch {
          stop()
        }
      }
      const ping = setInterval(() => write(': ping\n\n'), PING_INTERVAL_MS)
      ping.unref()
      stop = () => {
        if (!open) return
        open = false
        clearInterval(ping)
        options.onEnd?.()
        cleanup?.()
        for (const signal of signals) signal.removeEventListener('abort', stop)
        try {
          controller.close()
        } catch {
          // Already closed or errored by the consumer going away.
        }
      }
      for (const signal of signals) signal.addEventListener('abort', stop)
      if (signals.some((signal) => signal.aborted)) return stop()

      // Tell EventSource clients how soon to come back, and flush the headers with a first comment.
      write(`retry: ${options.retryMs}\n: connected\n\n`)
      const undo = options.start({ write, stop: () => stop() })
      // The source may have ended the stream while it started.
      if (open) cleanup = undo
      else undo()
    },
    cancel() {
      stop()
    },
  })

  return new Response(body, {
    status: 200,
    headers: {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
      // Proxies such as nginx buffer responses unless told not to; an event must arrive when it happens.
      'X-Accel-Buffering': 'no',
    },
  })
}

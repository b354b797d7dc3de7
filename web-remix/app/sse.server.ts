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

export function serverSentEvents(options: {
  /** Any of them aborting (the client went away) ends the stream. */
  signals: AbortSignal[]
  /** How soon an EventSource client should come back after a drop. */
  retryMs: number
  start(writer: SseWriter): () => void
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

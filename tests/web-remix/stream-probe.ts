import { emitEvent } from '../../activities/outbox.js'
import type { Db } from '../../prisma/client.js'

/**
 * An event stream (the plugin's or a member's) held open as an attacker's client would hold it, to see when the
 * server ends it and what it delivered until then.
 */
export interface StreamProbe {
  status: number
  /** The `event:` names received, in order. */
  events: string[]
  /** Resolves when the server has ended the response. */
  ended: Promise<void>
  hasEnded(): boolean
  close(): void
}

export async function probeStream(url: string, headers: Record<string, string>): Promise<StreamProbe> {
  const controller = new AbortController()
  const response = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: controller.signal, redirect: 'manual' })
  const events: string[] = []
  let finished = false
  const ended = (async () => {
    if (!response.body) return
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader()
    try {
      for (;;) {
        const { done, value } = await reader.read()
        if (done) return
        for (const match of value.matchAll(/^event: (.+)$/gm)) events.push(match[1]!)
      }
    } catch {
      // Aborted by close().
    } finally {
      finished = true
    }
  })()
  return { status: response.status, events, ended, hasEnded: () => finished, close: () => controller.abort() }
}

/** Resolves true if the stream ends within `ms`, false if it is still open then. */
export async function endsWithin(probe: StreamProbe, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)))
  const outcome = await Promise.race([probe.ended.then(() => true as const), timeout])
  clearTimeout(timer)
  return outcome
}

/** An outbox event for this operator and/or member, as a workflow would write it. */
export async function emitTestEvent(db: Db, audience: { operatorId?: string; memberId?: string }): Promise<void> {
  await db.$transaction((tx) =>
    emitEvent(tx, {
      type: 'call.low_balance',
      memberId: audience.memberId ?? null,
      operatorId: audience.operatorId ?? null,
      callId: null,
      payload: { callId: '00000000-0000-4000-8000-000000000000', availableCents: 1, minutesLeft: 0, ratePerMinuteCents: 100 },
    }),
  )
}

import { useEffect, useRef } from 'react'

/** A member event as the page sees it (from /calls/events). */
export interface MemberEvent {
  type: string
  payload: Record<string, unknown>
}

const TYPES = ['call.started', 'call.connected', 'call.request_declined', 'call.low_balance', 'call.low_balance_cleared', 'call.ending', 'call.settled', 'call.message']

/**
 * Subscribes the page to the member's event stream while it is mounted. EventSource reconnects by itself and resumes
 * with Last-Event-ID, so a dropped connection misses nothing.
 */
export function useMemberEvents(onEvent: (event: MemberEvent) => void, enabled = true): void {
  const handler = useRef(onEvent)
  handler.current = onEvent
  useEffect(() => {
    if (!enabled) return
    const source = new EventSource('/calls/events')
    const listeners = TYPES.map((type) => {
      const listener = (message: MessageEvent<string>) => {
        try {
          handler.current({ type, payload: JSON.parse(message.data) as Record<string, unknown> })
        } catch {
          // A malformed event is ignored; the page's own data stays right on its next revalidation.
        }
      }
      source.addEventListener(type, listener)
      return [type, listener] as const
    })
    return () => {
      for (const [type, listener] of listeners) source.removeEventListener(type, listener)
      source.close()
    }
  }, [enabled])
}

import { useEffect, useState } from 'react'
import type { ShownPresence } from './presence.js'

/**
 * Follows the presence of some operators over /storefront/presence-stream while the page is open (the server sends
 * their current presence first, then each change). Without JavaScript the page shows the presence it was rendered
 * with; a reload brings it up to date.
 */
export function useLivePresence(operatorIds: string[]): Record<string, ShownPresence> {
  const [live, setLive] = useState<Record<string, ShownPresence>>({})
  const key = operatorIds.join(',')
  useEffect(() => {
    if (!key || typeof EventSource === 'undefined') return
    const source = new EventSource(`/storefront/presence-stream?ids=${encodeURIComponent(key)}`)
    const onPresence = (event: MessageEvent<string>) => {
      try {
        const change = JSON.parse(event.data) as { operatorId: string; presence: ShownPresence }
        setLive((current) => (current[change.operatorId] === change.presence ? current : { ...current, [change.operatorId]: change.presence }))
      } catch {
        // A malformed event changes nothing.
      }
    }
    source.addEventListener('presence', onPresence as EventListener)
    return () => {
      source.removeEventListener('presence', onPresence as EventListener)
      source.close()
    }
  }, [key])
  return live
}

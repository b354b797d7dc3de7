import { useRevalidator } from '@remix-run/react'
import { useEffect } from 'react'

/**
 * Tells the server the browser's time zone through the `tz` cookie, once, and reloads the page's data if it was shown
 * in another zone. Without JavaScript the page shows UTC (or the zone picked in its form) and says so.
 */
export function useTimeZoneCookie(shownZone: string, source: 'query' | 'cookie' | 'default') {
  const revalidator = useRevalidator()
  useEffect(() => {
    let zone: string
    try {
      zone = Intl.DateTimeFormat().resolvedOptions().timeZone
    } catch {
      return
    }
    if (!zone || document.cookie.split('; ').some((c) => c === `tz=${encodeURIComponent(zone)}`)) return
    document.cookie = `tz=${encodeURIComponent(zone)}; path=/; max-age=31536000; samesite=lax`
    if (source === 'default' && zone !== shownZone) revalidator.revalidate()
    // Keyed on the zone shown, not on the revalidator (whose identity changes with every render).
  }, [shownZone, source])
}

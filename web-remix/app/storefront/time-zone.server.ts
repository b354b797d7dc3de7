import { isValidTimeZone } from '../../../workflows/availability.js'

/**
 * The visitor's time zone, for showing times: `?tz=` (the zone picker on the page) wins, then the `tz` cookie the
 * browser sets from its own clock settings (time-zone-cookie.ts), then UTC. Each page says which zone it shows.
 */

export const TIME_ZONE_COOKIE = 'tz'
export const DEFAULT_TIME_ZONE = 'UTC'

export interface ViewerTimeZone {
  zone: string
  source: 'query' | 'cookie' | 'default'
}

function cookieValue(header: string | null, name: string): string | null {
  for (const part of (header ?? '').split(';')) {
    const [key, ...rest] = part.trim().split('=')
    if (key === name) {
      try {
        return decodeURIComponent(rest.join('='))
      } catch {
        return null
      }
    }
  }
  return null
}

export function viewerTimeZone(request: Request): ViewerTimeZone {
  const fromQuery = new URL(request.url).searchParams.get('tz')
  if (fromQuery && isValidTimeZone(fromQuery)) return { zone: fromQuery, source: 'query' }
  const fromCookie = cookieValue(request.headers.get('cookie'), TIME_ZONE_COOKIE)
  if (fromCookie && isValidTimeZone(fromCookie)) return { zone: fromCookie, source: 'cookie' }
  return { zone: DEFAULT_TIME_ZONE, source: 'default' }
}

let zones: string[] | undefined

/** Every IANA zone the runtime knows, for the zone picker. */
export function knownTimeZones(): string[] {
  zones ??= ['UTC', ...Intl.supportedValuesOf('timeZone').filter((z) => z !== 'UTC')]
  return zones
}

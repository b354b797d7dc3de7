/**
 * The media servers this build's page may connect to (plugin/build.ts writes them into the page's
 * Content-Security-Policy and here, docs/decisions/064). A call on any other server is refused with words, rather
 * than by the policy without a word.
 */
declare const __PERMINUTE_MEDIA_ORIGINS__: readonly string[]

export const MEDIA_ORIGINS: readonly string[] = typeof __PERMINUTE_MEDIA_ORIGINS__ === 'undefined' ? [] : __PERMINUTE_MEDIA_ORIGINS__

/** The origin (ws(s)://host[:port]) of a media server address, or null when it is not one. */
export function mediaOrigin(url: string): string | null {
  try {
    const parsed = new URL(url)
    return parsed.protocol === 'ws:' || parsed.protocol === 'wss:' ? `${parsed.protocol}//${parsed.host}` : null
  } catch {
    return null
  }
}

export function isAllowedMediaUrl(url: string): boolean {
  const origin = mediaOrigin(url)
  return origin !== null && MEDIA_ORIGINS.includes(origin)
}

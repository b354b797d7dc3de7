/**
 * perminute://caller/<handle>: a calling app (or a script around one) opens this link when a call or chat comes in,
 * and the plugin looks the handle up as if the operator had typed it. Electron hands the link over as a command
 * line argument (Windows, Linux) or an open-url event (macOS).
 */
export const PROTOCOL = 'perminute'

export function callerHandleFromUrl(url: string): string | null {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return null
  }
  if (parsed.protocol !== `${PROTOCOL}:` || parsed.hostname !== 'caller') return null
  let handle: string
  try {
    handle = decodeURIComponent(parsed.pathname.replace(/^\/+/, '')) || (parsed.searchParams.get('handle') ?? '')
  } catch {
    return null
  }
  handle = handle.trim()
  return handle.length > 0 && handle.length <= 200 ? handle : null
}

export function callerHandleFromArgs(argv: readonly string[]): string | null {
  for (const arg of argv) {
    const handle = callerHandleFromUrl(arg)
    if (handle) return handle
  }
  return null
}

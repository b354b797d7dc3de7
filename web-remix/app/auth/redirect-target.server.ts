/**
 * Where to send the browser after log-in or the second factor (`redirectTo`): only a path on this site. Anything else
 * gives the fallback.
 *
 * Browsers drop tabs and newlines anywhere in a URL and read a backslash as a slash, so `/\t/evil.example` and
 * `/\evil.example` are `//evil.example`, another origin. So the target must start with one slash; must hold no
 * control character and no backslash, neither as sent nor once percent-decoded; must parse (WHATWG URL, against a
 * base of our own) to that same origin; and what is returned is the parsed path, query and fragment (dot segments
 * resolved, odd characters percent-encoded), which must itself start with a single slash: `/.//evil.example`
 * resolves to `//evil.example` and is refused. The result is always safe in a Location header.
 */

const BASE = new URL('http://redirect-target.invalid')
// Control characters are what this looks for (C0, DEL, C1), and the backslash.
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\\]/
const MAX_LENGTH = 2048

export function safeRedirectPath(target: FormDataEntryValue | string | null | undefined, fallback: string): string {
  if (typeof target !== 'string' || target.length > MAX_LENGTH) return fallback
  if (!target.startsWith('/') || target.startsWith('//') || UNSAFE.test(target)) return fallback
  let decoded: string
  try {
    decoded = decodeURIComponent(target)
  } catch {
    return fallback
  }
  if (UNSAFE.test(decoded)) return fallback
  let url: URL
  try {
    url = new URL(target, BASE)
  } catch {
    return fallback
  }
  if (url.origin !== BASE.origin) return fallback
  const path = `${url.pathname}${url.search}${url.hash}`
  if (!path.startsWith('/') || path.startsWith('//') || new URL(path, BASE).origin !== BASE.origin) return fallback
  return path
}

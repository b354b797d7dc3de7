import type { RequestHandler } from 'express'

/**
 * Checks made in front of Remix, on what a request says about itself, before any route reads its body.
 */

const UNSAFE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])
/** Callers that are not browsers (the plugin, payment providers): they authenticate otherwise and send no Origin. */
const NOT_FOR_BROWSERS = /^\/(api|webhooks)\//

function hostOfOrigin(origin: string): string | null {
  try {
    const url = new URL(origin)
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.host.toLowerCase() : null
  } catch {
    return null
  }
}

/**
 * A form sent from another site is refused with 403 here. Remix refuses it too, but by throwing, which answers 500;
 * and the portals' own CSRF check (app/auth/csrf.server.ts) runs only after the route has read the body. A browser
 * names the page a form came from in Origin: another host, or something that is no origin at all, is refused; no
 * Origin (an old browser, a script) or "null" is left to the CSRF token.
 */
export const refuseForeignOrigins: RequestHandler = (request, response, next) => {
  if (!UNSAFE_METHODS.has(request.method) || NOT_FOR_BROWSERS.test(request.path)) return next()
  // "null" is what a browser sends for a page whose referrer policy is no-referrer, and for privacy-stripped or
  // sandboxed origins: it names no site, so it says no more than no Origin at all, and the CSRF token decides. (Remix
  // would refuse it by throwing, a 500.)
  if (request.headers.origin === 'null') delete request.headers.origin
  const origin = request.headers.origin
  if (origin === undefined) return next()
  const from = hostOfOrigin(origin)
  const host = (request.headers.host ?? '').toLowerCase()
  // Remix compares with the first X-Forwarded-Host when there is one: both must agree with the Origin.
  const forwardedHost = request.get('x-forwarded-host')?.split(',')[0]?.trim().toLowerCase()
  if (from !== null && from === host && (!forwardedHost || forwardedHost === from)) return next()
  response.status(403).type('text/plain').set('Cache-Control', 'no-store').send('This form was sent from another site.')
}

/** The portal pages that take a file (the profile editors' photos): the only ones a multipart body may go to. */
const UPLOAD_PAGES = [/^\/operator\/profile(\.data)?$/, /^\/company\/operators\/[^/]+(\.data)?$/]

export function takesUploads(path: string): boolean {
  return UPLOAD_PAGES.some((page) => page.test(path))
}

/**
 * The portals' forms post url-encoded fields, and multipart where a file goes with them. Any other body (JSON, text,
 * none with no type) is no form of ours: 415 here, rather than the error a route's `request.formData()` throws (a
 * 500). A multipart body to a page that takes no file is refused before anything parses it: the multipart parser holds
 * what it reads in memory.
 */
export const acceptOnlyFormBodies: RequestHandler = (request, response, next) => {
  if (!UNSAFE_METHODS.has(request.method) || NOT_FOR_BROWSERS.test(request.path)) return next()
  const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase()
  if (type === 'application/x-www-form-urlencoded') return next()
  if (type === 'multipart/form-data' && takesUploads(request.path)) return next()
  response.status(415).type('text/plain').set('Cache-Control', 'no-store').send('This page takes form fields only.')
}

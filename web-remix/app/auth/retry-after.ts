import type { HeadersFunction } from '@remix-run/node'

/** A throttled form's answer says when to come back, in the Retry-After header (whole seconds) as well as in words. */

/** A route's `headers`: passes on the Retry-After its action answered with. */
export const passOnRetryAfter: HeadersFunction = ({ actionHeaders }) => {
  const retryAfter = actionHeaders.get('Retry-After')
  return retryAfter ? { 'Retry-After': retryAfter } : new Headers()
}

/** The headers of a refused request: Retry-After, rounded up to whole seconds, when a wait is known. */
export function retryAfterHeaders(retryAfterMs: number | undefined): Record<string, string> {
  return retryAfterMs ? { 'Retry-After': String(Math.max(1, Math.ceil(retryAfterMs / 1000))) } : {}
}

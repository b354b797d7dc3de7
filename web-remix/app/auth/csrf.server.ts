import { timingSafeEqual } from 'node:crypto'
import type { AppLoadContext } from '@remix-run/node'
import { servicesFrom } from '../plugin-api/services.server.js'
import { portalCookies } from './cookies.server.js'
import { newSecret } from './tokens.server.js'

/**
 * CSRF protection for every form that changes state: a random token in a signed, httpOnly, SameSite=Lax cookie, and
 * the same token in a hidden field of each form (CsrfInput). Another site can make a browser post a form but can
 * neither read nor set our cookie, so it cannot make the two agree. A request whose Origin header names another site
 * is refused before the token is even compared.
 */

export const CSRF_FIELD = 'csrf'

/** The browser's token, minting one when it has none; setCookie is the header to send when it was minted. */
export async function csrfTokenFor(request: Request, context?: AppLoadContext): Promise<{ token: string; setCookie: string | null }> {
  const cookie = portalCookies(servicesFrom(context).config).csrf
  const existing: unknown = await cookie.parse(request.headers.get('Cookie'))
  if (typeof existing === 'string' && existing.length >= 32) return { token: existing, setCookie: null }
  const token = newSecret()
  return { token, setCookie: await cookie.serialize(token) }
}

function forbidden(message: string): Response {
  return new Response(message, { status: 403, statusText: 'Forbidden' })
}

export async function requireCsrf(request: Request, formData: FormData, context?: AppLoadContext): Promise<void> {
  const origin = request.headers.get('Origin')
  if (origin && origin !== 'null' && origin !== new URL(request.url).origin) {
    throw forbidden('This form was sent from another site.')
  }
  const cookie = portalCookies(servicesFrom(context).config).csrf
  const expected: unknown = await cookie.parse(request.headers.get('Cookie'))
  const given = formData.get(CSRF_FIELD)
  if (typeof expected !== 'string' || typeof given !== 'string') {
    throw forbidden('This form has expired. Reload the page and send it again.')
  }
  const a = Buffer.from(expected)
  const b = Buffer.from(given)
  if (a.length !== b.length || !timingSafeEqual(a, b)) {
    throw forbidden('This form has expired. Reload the page and send it again.')
  }
}

import { createCookie, type Cookie } from '@remix-run/node'
import type { PlatformConfig } from '../../../config/env.js'

/**
 * The two cookies of the portals. Both httpOnly and SameSite=Lax; Secure outside local development (COOKIE_SECURE).
 * The session cookie carries a random id (the database keeps only its hash) and is signed with SESSION_SECRET, so a
 * forged value is dropped before any lookup. The CSRF cookie pairs with the hidden field of every form.
 */

export interface PortalCookies {
  session: Cookie
  csrf: Cookie
}

const cache = new WeakMap<PlatformConfig, PortalCookies>()

export function portalCookies(config: PlatformConfig): PortalCookies {
  let cookies = cache.get(config)
  if (!cookies) {
    const common = { httpOnly: true, sameSite: 'lax' as const, secure: config.COOKIE_SECURE, path: '/', secrets: [config.SESSION_SECRET] }
    cookies = {
      session: createCookie('pm_session', { ...common, maxAge: config.SESSION_MAX_AGE_DAYS * 24 * 60 * 60 }),
      csrf: createCookie('pm_csrf', common),
    }
    cache.set(config, cookies)
  }
  return cookies
}

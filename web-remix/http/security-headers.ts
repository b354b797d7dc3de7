import { randomBytes } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { RequestHandler } from 'express'
import helmet from 'helmet'
import type { PlatformConfig } from '../../config/env.js'

/**
 * The security headers of every response the web sends: pages, resource routes, the plugin API, static assets, event
 * streams and media (docs/decisions/057-security-headers-and-csp.md). Helmet sets them; this module says what they
 * are. The Content-Security-Policy allows scripts and styles of our own origin and the inline ones Remix and React
 * write into a page, which carry the request's nonce (app/entry.server.tsx, app/root.tsx); no 'unsafe-inline'.
 */

/** A fresh nonce per request, kept in res.locals for the load context and the document's scripts. */
export const assignCspNonce: RequestHandler = (_request, response, next) => {
  response.locals.cspNonce = randomBytes(16).toString('base64')
  next()
}

const nonceOf = (_request: IncomingMessage, response: ServerResponse) => `'nonce-${(response as { locals?: { cspNonce?: string } }).locals?.cspNonce ?? ''}'`

/**
 * Origins pages may open connections and load media from besides their own: the one place to add a media server.
 * The member's live call talks to LiveKit (LIVEKIT_URL): its signalling WebSocket (ws:// or wss://), and the same
 * server over HTTP(S), which livekit-client asks why a connection was refused (`/rtc/validate`). The media itself
 * (WebRTC) and the <video>/<audio> elements fed from MediaStreams are not subject to the policy.
 */
export function mediaOrigins(config: PlatformConfig): string[] {
  const signal = new URL(config.LIVEKIT_URL)
  const secure = signal.protocol === 'wss:' || signal.protocol === 'https:'
  const host = signal.host
  return [`${secure ? 'wss' : 'ws'}://${host}`, `${secure ? 'https' : 'http'}://${host}`]
}

/** Where forms may send the browser: this origin, and the public URL (a top-up's return lands there). */
function formTargets(config: PlatformConfig): string[] {
  return ["'self'", new URL(config.PUBLIC_URL).origin]
}

export function contentSecurityPolicy(config: PlatformConfig) {
  const media = mediaOrigins(config)
  return {
    'default-src': ["'self'"],
    'script-src': ["'self'", nonceOf],
    'script-src-attr': ["'none'"],
    'style-src': ["'self'", nonceOf],
    'style-src-attr': ["'none'"],
    'img-src': ["'self'", 'data:'],
    'media-src': ["'self'", ...media],
    'connect-src': ["'self'", ...media],
    'font-src': ["'self'"],
    'object-src': ["'none'"],
    'base-uri': ["'none'"],
    'form-action': formTargets(config),
    'frame-ancestors': ["'none'"],
    'frame-src': ["'none'"],
    'worker-src': ["'self'"],
    'manifest-src': ["'self'"],
    // Over HTTPS only: on plain HTTP (local development) it would send the page's own requests to a port that is not there.
    ...(config.COOKIE_SECURE ? { 'upgrade-insecure-requests': [] } : {}),
  }
}

export function securityHeaders(config: PlatformConfig): RequestHandler {
  return helmet({
    contentSecurityPolicy: { useDefaults: false, directives: contentSecurityPolicy(config) },
    // Browsers remember to use HTTPS only where the cookies say the site is HTTPS (COOKIE_SECURE).
    strictTransportSecurity: config.COOKIE_SECURE ? { maxAge: 365 * 24 * 3600, includeSubDomains: true } : false,
    referrerPolicy: { policy: 'strict-origin-when-cross-origin' },
    // Agrees with frame-ancestors 'none', for browsers that know only this header.
    xFrameOptions: { action: 'deny' },
  })
}

import { readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startWebStack, type WebStack } from '../support/web-server.js'

// The security headers are on every response the web sends, whoever answers it: Remix's pages and resource routes,
// the plugin API, Express's static files and its own refusals, event streams and media
// (docs/decisions/057-security-headers-and-csp.md).

const assetsDirectory = fileURLToPath(new URL('../../web-remix/build/client/assets/', import.meta.url))

let stack: WebStack
let secure: WebStack
beforeAll(async () => {
  ;[stack, secure] = await Promise.all([startWebStack({ worker: false }), startWebStack({ worker: false, env: { COOKIE_SECURE: 'true' } })])
})
afterAll(async () => {
  await Promise.all([stack?.stop(), secure?.stop()])
})

/** The headers of one answer; an event stream is closed as soon as its headers are in. */
async function headersOf(base: string, path: string, init: RequestInit = {}): Promise<{ status: number; headers: Headers; body: string }> {
  const controller = new AbortController()
  const response = await fetch(`${base}${path}`, { redirect: 'manual', signal: controller.signal, ...init })
  const streaming = /text\/event-stream/.test(response.headers.get('content-type') ?? '')
  const body = streaming ? '' : await response.text()
  if (streaming) controller.abort()
  return { status: response.status, headers: response.headers, body }
}

const css = () => readdirSync(assetsDirectory).find((name) => name.endsWith('.css'))!

const ANSWERS: Array<[string, string, RequestInit?]> = [
  ['a page', '/'],
  ['a page that is not there', '/no-such-page'],
  ['a data request', '/_root.data'],
  ['a resource route (CSV, to the log-in)', '/calls.csv'],
  ['the plugin API', '/api/plugin/v1/sessions', { method: 'POST', body: '{}' }],
  ['a payment webhook', '/webhooks/payments/sandbox', { method: 'POST', body: '{}' }],
  ['an event stream', '/storefront/presence-stream?ids='],
  ['media', '/media/operator-images/none.png'],
  ['an asset', '/assets/'],
  ['a public file', '/sandbox-pay.css'],
  ['a form from another site (refused in front of Remix)', '/login', { method: 'POST', headers: { origin: 'https://evil.example', 'content-type': 'application/x-www-form-urlencoded' }, body: 'a=1' }],
  ['a path Express cannot decode', '/%E0%A4%A'],
]

describe('every response', () => {
  it.each(ANSWERS)('carries the security headers: %s', async (_what, path, init) => {
    const target = path === '/assets/' ? `/assets/${css()}` : path
    const { status, headers } = await headersOf(stack.url, target, init)
    expect(status, target).toBeGreaterThan(0)
    const policy = headers.get('content-security-policy') ?? ''
    expect(policy, target).toMatch(/frame-ancestors 'none'/)
    expect(policy, target).toMatch(/script-src 'self' 'nonce-[A-Za-z0-9+/=]{20,}'/)
    expect(policy, target).not.toMatch(/unsafe-inline|unsafe-eval/)
    expect(headers.get('x-content-type-options'), target).toBe('nosniff')
    expect(headers.get('referrer-policy'), target).toBe('strict-origin-when-cross-origin')
    expect(headers.get('x-frame-options'), target).toBe('DENY')
    // Plain HTTP: no HSTS, and no upgrading of the page's own requests to a port that is not there.
    expect(headers.get('strict-transport-security'), target).toBeNull()
    expect(policy, target).not.toMatch(/upgrade-insecure-requests/)
  })

  it('asks for HTTPS from then on (HSTS) when the cookies are Secure', async () => {
    for (const path of ['/', `/assets/${css()}`, '/api/plugin/v1/sessions']) {
      const { headers } = await headersOf(secure.url, path)
      expect(headers.get('strict-transport-security'), path).toBe('max-age=31536000; includeSubDomains')
      expect(headers.get('content-security-policy'), path).toMatch(/upgrade-insecure-requests/)
    }
  })
})

describe('the page', () => {
  it('gives its inline scripts the nonce of its own policy, a new one each time', async () => {
    const first = await headersOf(stack.url, '/')
    const nonce = /'nonce-([^']+)'/.exec(first.headers.get('content-security-policy') ?? '')![1]!
    const scripts = [...first.body.matchAll(/<script\b([^>]*)>/g)].map((match) => match[1]!)
    expect(scripts.length).toBeGreaterThan(0)
    for (const attributes of scripts) {
      // Scripts with a src of our origin are allowed by 'self'; every other one carries the nonce.
      if (!/\bsrc="\//.test(attributes)) expect(attributes).toContain(`nonce="${nonce}"`)
    }
    const second = await headersOf(stack.url, '/')
    expect(second.headers.get('content-security-policy')).not.toContain(nonce)
  })
})

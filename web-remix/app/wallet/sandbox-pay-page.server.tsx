import type { ReactNode } from 'react'
import { renderToStaticMarkup } from 'react-dom/server'
import { TEST_CARDS, formatCardNumber } from '../../../activities/payments/sandbox/test-cards.js'
import { formatCents } from '../storefront/money.js'
import { servicesFrom } from '../plugin-api/services.server.js'
import { paymentsFor } from './topups.server.js'
import type { AppLoadContext } from '@remix-run/node'

/**
 * The sandbox provider's pages are its own documents, not pages of our app: plain HTML from resource routes, with
 * their own look, no script and nothing of our layout, as a hosted payment page on the provider's domain would be.
 */

export function sandboxDocument(title: string, body: ReactNode, status = 200): Response {
  const html = renderToStaticMarkup(
    <html lang="en">
      <head>
        <meta charSet="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="robots" content="noindex" />
        <title>{`${title} · Sandbox Pay`}</title>
        <link rel="stylesheet" href="/sandbox-pay.css" />
      </head>
      <body>
        <header className="provider">
          Sandbox Pay<small>test mode: no real money moves</small>
        </header>
        <main>{body}</main>
      </body>
    </html>,
  )
  return new Response(`<!DOCTYPE html>${html}`, {
    status,
    headers: {
      'Content-Type': 'text/html; charset=utf-8',
      // A payment page is never cached, framed or given a referrer to carry elsewhere. The site's security headers
      // apply too (web-remix/http/security-headers.ts); this policy narrows its own further: no script at all.
      'Cache-Control': 'no-store',
      // same-origin rather than no-referrer: with no-referrer a browser sends its form posts with Origin: null.
      'Referrer-Policy': 'same-origin',
      'Content-Security-Policy': "default-src 'none'; style-src 'self'; form-action 'self' http: https:; frame-ancestors 'none'",
    },
  })
}

export function TestCardTable() {
  return (
    <section aria-labelledby="test-cards">
      <h2 id="test-cards">Test cards</h2>
      <p>Use any future expiry date (such as 12/34) and any 3-digit security code.</p>
      <table>
        <thead>
          <tr>
            <th scope="col">Card number</th>
            <th scope="col">What happens</th>
          </tr>
        </thead>
        <tbody>
          {TEST_CARDS.map((card) => (
            <tr key={card.number}>
              <td>{formatCardNumber(card.number)}</td>
              <td>{card.description}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  )
}

export function amountText(cents: number): string {
  return formatCents(cents)
}

/** The sandbox's own side, or a 404 when another provider is configured. */
export function sandboxFrom(context: AppLoadContext) {
  const sandbox = paymentsFor(servicesFrom(context)).sandbox
  if (!sandbox) throw new Response('Not found', { status: 404 })
  return sandbox
}

/** The sandbox and the session a page is about; a page of its own saying so when there is no such session. */
export async function sandboxSessionFrom(context: AppLoadContext, sessionId: string | undefined) {
  const sandbox = sandboxFrom(context)
  const session = sessionId ? await sandbox.getSession(sessionId) : null
  if (!session) throw sandboxDocument('Not found', <h1>No such payment</h1>, 404)
  return { sandbox, session }
}

export const seeOther = (location: string) => new Response(null, { status: 303, headers: { Location: location } })

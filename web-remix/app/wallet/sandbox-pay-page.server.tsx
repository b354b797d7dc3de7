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

const styles = `
  :root { color-scheme: light; font-family: system-ui, sans-serif; line-height: 1.5; color: #1b1f24; }
  body { margin: 0; background: #f3f0fa; }
  .provider { background: #3b2a78; color: #fff; padding: .75rem 1rem; font-weight: 700; }
  .provider small { font-weight: 400; margin-left: .5rem; }
  main { max-width: 28rem; margin: 1.5rem auto; padding: 1.25rem; background: #fff; border-radius: .75rem; box-shadow: 0 1px 4px #0002; }
  h1 { font-size: 1.375rem; margin: 0 0 .5rem; }
  .amount { font-size: 2rem; font-weight: 700; margin: 0 0 1rem; }
  .testmode { background: #fff4d6; border: 1px solid #b88700; border-radius: .375rem; padding: .5rem .75rem; }
  label { display: block; font-weight: 600; margin-top: .75rem; }
  input { box-sizing: border-box; width: 100%; font: inherit; padding: .5rem .625rem; border: 1px solid #6e7781; border-radius: .375rem; }
  input[aria-invalid="true"] { border-color: #b3261e; }
  .row { display: grid; grid-template-columns: 1fr 1fr; gap: .75rem; }
  .error { color: #b3261e; margin: .25rem 0 0; }
  button { font: inherit; font-weight: 600; margin-top: 1rem; width: 100%; padding: .625rem; border-radius: .375rem; border: 0; background: #3b2a78; color: #fff; cursor: pointer; }
  button.secondary { background: #fff; color: #3b2a78; border: 2px solid #3b2a78; }
  :focus-visible { outline: 3px solid #1f6feb; outline-offset: 2px; }
  a { color: #3b2a78; }
  table { border-collapse: collapse; width: 100%; margin-top: .5rem; font-size: .9375rem; }
  th, td { text-align: left; padding: .25rem .375rem; border-bottom: 1px solid #d0d7de; vertical-align: top; }
  td:first-child { white-space: nowrap; font-family: ui-monospace, monospace; }
`

export function sandboxDocument(title: string, body: ReactNode, status = 200): Response {
  const html = renderToStaticMarkup(
    <html lang="en">
      <head>
        <meta charSet="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="robots" content="noindex" />
        <title>{`${title} · Sandbox Pay`}</title>
        <style dangerouslySetInnerHTML={{ __html: styles }} />
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
      // A payment page is never cached, framed or given a referrer to carry elsewhere.
      'Cache-Control': 'no-store',
      'X-Frame-Options': 'DENY',
      'Referrer-Policy': 'no-referrer',
      'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self' http: https:; frame-ancestors 'none'",
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

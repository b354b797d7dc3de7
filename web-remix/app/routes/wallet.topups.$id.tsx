import { redirect, type LinksFunction, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node'
import { Link, useLoaderData, useRevalidator } from '@remix-run/react'
import { useEffect } from 'react'
import { toCents } from '../../../activities/ledger/tx.js'
import { requireRole } from '../auth/session.server.js'
import { servicesFrom } from '../plugin-api/services.server.js'
import { formatCents } from '../storefront/money.js'
import { confirmFromReturn } from '../wallet/topups.server.js'
import { memberTopUp, walletFigures } from '../wallet/wallet.server.js'
import walletStyles from '../wallet/wallet.css?url'
import { idFromPath } from '../ids.server.js'

/**
 * One top-up's status, and the return address of the payment page: the provider sends the member here with its
 * session id, which is checked with the provider before anything is believed. While the payment is being confirmed
 * the page checks again every second with JavaScript; without it, the "Check again" link does the same.
 */

export const meta: MetaFunction = () => [{ title: 'Top-up · perminute' }]
export const links: LinksFunction = () => [{ rel: 'stylesheet', href: walletStyles }]

const DECLINE_REASONS: Record<string, string> = {
  card_declined: 'Your card was declined.',
  authentication_failed: 'The payment was not confirmed with your bank.',
}

export async function loader({ request, params, context }: LoaderFunctionArgs) {
  const user = await requireRole(request, 'member', context)
  const services = servicesFrom(context)
  const topUp = await memberTopUp(services.db, user.id, idFromPath(params.id, 'There is no such top-up in your wallet.'))
  if (!topUp) throw new Response('There is no such top-up in your wallet.', { status: 404, statusText: 'Not Found' })
  const url = new URL(request.url)
  const sessionId = url.searchParams.get('session_id')
  if (sessionId) {
    await confirmFromReturn(services, topUp, sessionId)
    // A clean address to refresh, bookmark or share with support: the session id has done its job.
    throw redirect(`/wallet/topups/${topUp.id}?returned=1`)
  }
  const figures = topUp.status === 'succeeded' ? await walletFigures(services.db, user.id) : null
  return {
    id: topUp.id,
    amountCents: toCents(topUp.amountCents),
    status: topUp.status,
    createdAt: topUp.createdAt.toISOString(),
    returned: url.searchParams.has('returned'),
    checkoutUrl: topUp.status === 'open' && topUp.expiresAt.getTime() > Date.now() ? topUp.checkoutUrl : null,
    declineReason: topUp.declineReason,
    reference: topUp.providerPaymentId,
    availableCents: figures?.availableCents ?? null,
  }
}

export default function TopUpPage() {
  const topUp = useLoaderData<typeof loader>()
  const revalidator = useRevalidator()
  const pending = topUp.status === 'open'
  useEffect(() => {
    if (!pending) return
    const timer = setInterval(() => {
      if (revalidator.state === 'idle') revalidator.revalidate()
    }, 1_000)
    return () => clearInterval(timer)
  }, [pending, revalidator])

  return (
    <>
      <h1>{`Top-up of ${formatCents(topUp.amountCents)}`}</h1>
      <div aria-live="polite" data-status={topUp.status}>
        {topUp.status === 'open' && (
          <>
            <p className="progress">{topUp.returned ? 'We are confirming your payment with the payment provider…' : 'Waiting for your payment…'}</p>
            <p>This page updates by itself. Nothing is added to your wallet until the payment provider confirms it.</p>
          </>
        )}
        {topUp.status === 'succeeded' && (
          <p className="notice">
            {`${formatCents(topUp.amountCents)} was added to your wallet. You have ${formatCents(topUp.availableCents ?? 0)} available. ` +
              'A receipt is on its way to your mailbox.'}
          </p>
        )}
        {topUp.status === 'declined' && (
          <p className="alert">
            {`${DECLINE_REASONS[topUp.declineReason ?? ''] ?? 'The payment was declined.'} Nothing was charged and your wallet is unchanged.`}
          </p>
        )}
        {topUp.status === 'expired' && <p className="alert">This payment was not completed in time. Nothing was charged.</p>}
      </div>
      <dl className="facts topup-facts">
        <dt>Started</dt>
        <dd>
          <time dateTime={topUp.createdAt}>{topUp.createdAt.slice(0, 16).replace('T', ' ')} UTC</time>
        </dd>
        {topUp.reference && (
          <>
            <dt>Payment reference</dt>
            <dd>{topUp.reference}</dd>
          </>
        )}
      </dl>
      <p className="pager">
        {pending && <Link to={`/wallet/topups/${topUp.id}${topUp.returned ? '?returned=1' : ''}`}>Check again</Link>}
        {pending && topUp.checkoutUrl && <a href={topUp.checkoutUrl}>Go to the payment page</a>}
        {(topUp.status === 'declined' || topUp.status === 'expired') && <Link to="/wallet">Try again</Link>}
        <Link to="/wallet">Back to your wallet</Link>
      </p>
    </>
  )
}

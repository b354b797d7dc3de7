import type { LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { Form, Link, useLoaderData } from '@remix-run/react'
import { useState } from 'react'
import { walletBalance } from '../../../activities/ledger/balances.js'
import { CsrfInput } from '../auth/csrf-input.js'
import { ChannelButtons } from '../calls/call-choice.js'
import { requireRole } from '../auth/session.server.js'
import { MAX_PREPAID_BOOKING_MINUTES } from '../calls/requests.server.js'
import { servicesFrom } from '../plugin-api/services.server.js'
import { formatCents, formatPricePerMinute } from '../storefront/money.js'
import { isUuid } from '../ids.server.js'

export const meta: MetaFunction = () => [{ title: 'Book a prepaid block · perminute' }]

export async function loader({ request, context }: LoaderFunctionArgs) {
  const member = await requireRole(request, 'member', context)
  const operatorId = new URL(request.url).searchParams.get('operator') ?? ''
  const { db } = servicesFrom(context)
  const operator = isUuid(operatorId)
    ? await db.operator.findUnique({
        where: { userId: operatorId },
        select: { userId: true, ratePerMinuteCents: true, user: { select: { displayName: true, status: true, callingProvider: true, callingHandle: true } } },
      })
    : null
  if (!operator || operator.user.status !== 'active') throw new Response('No such operator', { status: 404, statusText: 'Not Found' })
  const availableCents = (await walletBalance(db, member.id))?.availableCents ?? 0
  return {
    operatorId: operator.userId,
    operatorName: operator.user.displayName,
    // The app only, when a handle is linked: the handle is for the member's accepted call.
    callingProvider: operator.user.callingHandle ? (operator.user.callingProvider ?? 'other') : null,
    ratePerMinuteCents: operator.ratePerMinuteCents,
    availableCents,
    affordableMinutes: Math.min(MAX_PREPAID_BOOKING_MINUTES, Math.floor(availableCents / operator.ratePerMinuteCents)),
    emailVerified: member.emailVerified,
  }
}

export default function PrepaidBooking() {
  const booking = useLoaderData<typeof loader>()
  const [minutes, setMinutes] = useState(Math.min(15, Math.max(1, booking.affordableMinutes)))
  const cost = Number.isInteger(minutes) && minutes > 0 ? minutes * booking.ratePerMinuteCents : null
  return (
    <>
      <h1>Book a prepaid block with {booking.operatorName}</h1>
      <p>
        A prepaid block reserves the whole amount when the call starts, the moment you are both connected. The call ends by itself when the block is used, and
        the minutes you do not use are given back to your wallet.
      </p>
      <dl className="facts">
        <dt>Price</dt>
        <dd>{formatPricePerMinute(booking.ratePerMinuteCents)}</dd>
        <dt>Your balance</dt>
        <dd>{formatCents(booking.availableCents)} (enough for {booking.affordableMinutes} minutes)</dd>
      </dl>
      {!booking.emailVerified && <p className="warning">Confirm your e-mail address before booking: open the link we mailed you.</p>}
      <Form method="post" action="/calls/request" className="stack">
        <CsrfInput />
        <input type="hidden" name="operatorId" value={booking.operatorId} />
        <input type="hidden" name="mode" value="prepaid" />
        <div className="field">
          <label htmlFor="prepaid-minutes">Minutes</label>
          <input
            id="prepaid-minutes"
            name="prepaidMinutes"
            type="number"
            min={1}
            max={240}
            step={1}
            required
            value={Number.isNaN(minutes) ? '' : minutes}
            onChange={(event) => setMinutes(event.currentTarget.valueAsNumber)}
            aria-describedby="prepaid-cost"
          />
          <span className="hint" id="prepaid-cost" aria-live="polite">
            {cost === null ? 'Between 1 and 240 minutes.' : `Reserved at the start: ${formatCents(cost)}.`}
          </span>
        </div>
        <div className="field">
          <span className="field-label" id="prepaid-channel">
            Ask {booking.operatorName} for this block as
          </span>
          <div className="button-row" role="group" aria-labelledby="prepaid-channel">
            <ChannelButtons callingProvider={booking.callingProvider} labels={{ audio: 'An audio call', video: 'A video call' }} />
          </div>
        </div>
      </Form>
      {booking.affordableMinutes < 1 && (
        <p>
          <Link to="/wallet">Top up your wallet</Link> to book a block.
        </p>
      )}
    </>
  )
}

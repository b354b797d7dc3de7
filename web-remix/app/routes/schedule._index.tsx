import { data, type ActionFunctionArgs, type LinksFunction, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node'
import { Form, Link, useActionData, useLoaderData, useSearchParams } from '@remix-run/react'
import { CsrfInput } from '../auth/csrf-input.js'
import { requireCsrf } from '../auth/csrf.server.js'
import { text } from '../auth/form.server.js'
import { requireRole } from '../auth/session.server.js'
import { FormError } from '../components/field.js'
import { servicesFrom } from '../plugin-api/services.server.js'
import { formatInZone, NoShowRule, STATUS_TEXT } from '../storefront/bookings.js'
import { formatCents } from '../storefront/money.js'
import { cancelBooking, listBookings } from '../storefront/scheduling.server.js'
import storefrontStyles from '../storefront/storefront.css?url'
import { useTimeZoneCookie } from '../storefront/time-zone-cookie.js'
import { viewerTimeZone } from '../storefront/time-zone.server.js'

// GET/POST /schedule — a member's scheduled calls, with a way to cancel one before its time.

export const links: LinksFunction = () => [{ rel: 'stylesheet', href: storefrontStyles }]
export const meta: MetaFunction = () => [{ title: 'Your scheduled calls · perminute' }]

export async function loader({ request, context }: LoaderFunctionArgs) {
  const user = await requireRole(request, 'member', context)
  const services = servicesFrom(context)
  const viewer = viewerTimeZone(request)
  const bookings = await listBookings(services, { memberId: user.id })
  const now = Date.now()
  return {
    viewer,
    bookings: bookings.map((b) => ({
      ...b,
      when: formatInZone(b.startsAtMs, viewer.zone),
      cancellable: (b.status === 'proposed' || b.status === 'accepted') && b.startsAtMs > now,
    })),
    noShowAfterMinutes: Math.round(services.config.SCHEDULE_MEMBER_NO_SHOW_AFTER_MS / 60_000),
    closeAfterMinutes: Math.round(services.config.SCHEDULE_CLOSE_AFTER_MS / 60_000),
  }
}

export async function action({ request, context }: ActionFunctionArgs) {
  const user = await requireRole(request, 'member', context)
  const formData = await request.formData()
  await requireCsrf(request, formData, context)
  const result = await cancelBooking(servicesFrom(context), user.id, text(formData, 'scheduledCallId', 40))
  if (!result.ok) return data({ error: result.message, message: null }, { status: 409 })
  const cancelled = result.value.status === 'cancelled'
  return { error: cancelled ? null : 'Too late to cancel: the funds are already reserved.', message: cancelled ? 'The call is cancelled.' : null }
}

export default function MemberSchedulePage() {
  const { viewer, bookings, noShowAfterMinutes, closeAfterMinutes } = useLoaderData<typeof loader>()
  const result = useActionData<typeof action>()
  const [params] = useSearchParams()
  useTimeZoneCookie(viewer.zone, viewer.source)
  return (
    <div className="storefront">
      <h1>Your scheduled calls</h1>
      {params.get('proposed') && !result ? (
        <p className="notice" role="status">
          Your proposal is sent. You will get a mail when the operator answers.
        </p>
      ) : null}
      {result?.message ? (
        <p className="notice" role="status">
          {result.message}
        </p>
      ) : null}
      <FormError message={result?.error} />
      <p>Times are shown in {viewer.zone}.</p>
      {bookings.length === 0 ? (
        <p>
          No scheduled calls yet. <Link to="/">Find an operator</Link> and choose “Schedule a call”.
        </p>
      ) : (
        <ul className="booking-list">
          {bookings.map((b) => (
            <li key={b.id} data-booking-id={b.id} data-status={b.status}>
              <strong>
                {b.when} · {b.minutes} min with <Link to={`/operators/${b.otherPartyId}`}>{b.otherPartyName}</Link>
              </strong>
              <span>
                {STATUS_TEXT[b.status]}
                {b.status === 'cancelled' && b.statusReason === 'insufficient_funds' ? ' (your wallet could not cover it)' : ''}
                {b.noShowFeeCents !== null ? ` · you paid ${formatCents(b.noShowFeeCents)}` : ''}
              </span>
              <span>Reserved at the agreed time: {formatCents(b.minutes * b.ratePerMinuteCents)}</span>
              {b.cancellable ? (
                <Form method="post">
                  <CsrfInput />
                  <input type="hidden" name="scheduledCallId" value={b.id} />
                  <button type="submit" className="secondary">
                    Cancel this call
                  </button>
                </Form>
              ) : null}
            </li>
          ))}
        </ul>
      )}
      <NoShowRule noShowAfterMinutes={noShowAfterMinutes} closeAfterMinutes={closeAfterMinutes} />
    </div>
  )
}

import { data, type ActionFunctionArgs, type LinksFunction, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node'
import { Form, useActionData, useLoaderData } from '@remix-run/react'
import { CsrfInput } from '../auth/csrf-input.js'
import { requireCsrf } from '../auth/csrf.server.js'
import { text } from '../auth/form.server.js'
import { requireRole } from '../auth/session.server.js'
import { FormError } from '../components/field.js'
import { servicesFrom } from '../plugin-api/services.server.js'
import { formatInZone, NoShowRule, STATUS_TEXT } from '../storefront/bookings.js'
import { formatCents } from '../storefront/money.js'
import { decideBooking, listBookings, reportNoShow } from '../storefront/scheduling.server.js'
import storefrontStyles from '../storefront/storefront.css?url'
import { useTimeZoneCookie } from '../storefront/time-zone-cookie.js'
import { viewerTimeZone } from '../storefront/time-zone.server.js'

// GET/POST /operator/schedule — an operator's scheduled calls: accept or decline proposals, report a member who
// did not answer (docs/decisions/013-scheduled-calls.md).

export const links: LinksFunction = () => [{ rel: 'stylesheet', href: storefrontStyles }]
export const meta: MetaFunction = () => [{ title: 'Scheduled calls · perminute' }]

export async function loader({ request, context }: LoaderFunctionArgs) {
  const user = await requireRole(request, 'operator', context)
  const services = servicesFrom(context)
  const viewer = viewerTimeZone(request)
  const { SCHEDULE_MEMBER_NO_SHOW_AFTER_MS: noShowAfter, SCHEDULE_CLOSE_AFTER_MS: closeAfter } = services.config
  const now = Date.now()
  const bookings = await listBookings(services, { operatorId: user.id })
  return {
    viewer,
    bookings: bookings.map((b) => ({
      ...b,
      when: formatInZone(b.startsAtMs, viewer.zone),
      answerable: b.status === 'proposed' && b.startsAtMs > now,
      noShowFrom: formatInZone(b.startsAtMs + noShowAfter, viewer.zone),
      noShowReportable: b.status === 'reserved' && now < b.startsAtMs + closeAfter,
    })),
    noShowAfterMinutes: Math.round(noShowAfter / 60_000),
    closeAfterMinutes: Math.round(closeAfter / 60_000),
  }
}

export async function action({ request, context }: ActionFunctionArgs) {
  const user = await requireRole(request, 'operator', context)
  const formData = await request.formData()
  await requireCsrf(request, formData, context)
  const services = servicesFrom(context)
  const id = text(formData, 'scheduledCallId', 40)
  const intent = text(formData, 'intent', 20)
  if (intent === 'accept' || intent === 'decline') {
    const result = await decideBooking(services, user.id, id, intent)
    if (!result.ok) return data({ error: result.message, message: null }, { status: 409 })
    if (result.value.refusal === 'overlaps_another_booking') {
      return data({ error: 'You already accepted a call at that time: decline this one, or ask the member for another time.', message: null }, { status: 409 })
    }
    return { error: null, message: result.value.status === 'accepted' ? 'Accepted: the member is told.' : 'Declined: the member is told.' }
  }
  if (intent === 'no-show') {
    const result = await reportNoShow(services, user.id, id)
    if (!result.ok) return data({ error: result.message, message: null }, { status: 409 })
    return { error: null, message: result.value.status === 'member_no_show' ? 'Reported: the member pays the first minute.' : `The booking is ${STATUS_TEXT[result.value.status].toLowerCase()}.` }
  }
  return data({ error: 'Unknown request.', message: null }, { status: 400 })
}

export default function OperatorSchedulePage() {
  const { viewer, bookings, noShowAfterMinutes, closeAfterMinutes } = useLoaderData<typeof loader>()
  const result = useActionData<typeof action>()
  useTimeZoneCookie(viewer.zone, viewer.source)
  return (
    <div className="storefront">
      <h1>Scheduled calls</h1>
      {result?.message ? (
        <p className="notice" role="status">
          {result.message}
        </p>
      ) : null}
      <FormError message={result?.error} />
      <p>Times are shown in {viewer.zone}.</p>
      {bookings.length === 0 ? (
        <p>No member has proposed a call yet.</p>
      ) : (
        <ul className="booking-list">
          {bookings.map((b) => (
            <li key={b.id} data-booking-id={b.id} data-status={b.status}>
              <strong>
                {b.when} · {b.minutes} min with {b.otherPartyName}
              </strong>
              <span>
                {STATUS_TEXT[b.status]} · {formatCents(b.minutes * b.ratePerMinuteCents)} at the agreed price
              </span>
              {b.note ? <span>Message: “{b.note}”</span> : null}
              {b.answerable ? (
                <div>
                  <Form method="post">
                    <CsrfInput />
                    <input type="hidden" name="scheduledCallId" value={b.id} />
                    <button type="submit" name="intent" value="accept">
                      Accept
                    </button>
                  </Form>
                  <Form method="post">
                    <CsrfInput />
                    <input type="hidden" name="scheduledCallId" value={b.id} />
                    <button type="submit" name="intent" value="decline" className="secondary">
                      Decline
                    </button>
                  </Form>
                </div>
              ) : null}
              {b.noShowReportable ? (
                <Form method="post">
                  <CsrfInput />
                  <input type="hidden" name="scheduledCallId" value={b.id} />
                  <span>Start the call from the plugin as a prepaid call of {b.minutes} minutes. If {b.otherPartyName} does not answer, from {b.noShowFrom}: </span>
                  <button type="submit" name="intent" value="no-show" className="secondary">
                    Report that the member did not answer
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

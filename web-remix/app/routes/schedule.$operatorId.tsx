import { data, redirect, type ActionFunctionArgs, type LinksFunction, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node'
import { Form, Link, useActionData, useLoaderData } from '@remix-run/react'
import { availabilityForViewer, isValidTimeZone, resolveWallTime, wallTime } from '../../../workflows/availability.js'
import { reservationCents } from '../../../workflows/scheduled-call-definitions.js'
import { CsrfInput } from '../auth/csrf-input.js'
import { requireCsrf } from '../auth/csrf.server.js'
import { requireRole } from '../auth/session.server.js'
import { text } from '../auth/form.server.js'
import { FormError } from '../components/field.js'
import { servicesFrom } from '../plugin-api/services.server.js'
import { AvailabilityTable } from '../storefront/availability-table.js'
import { NoShowRule } from '../storefront/bookings.js'
import { formatCents, formatPricePerMinute } from '../storefront/money.js'
import { loadProfile } from '../storefront/profile.server.js'
import { proposeScheduledCall } from '../storefront/scheduling.server.js'
import storefrontStyles from '../storefront/storefront.css?url'
import { useTimeZoneCookie } from '../storefront/time-zone-cookie.js'
import { knownTimeZones, viewerTimeZone } from '../storefront/time-zone.server.js'
import { idFromPath } from '../ids.server.js'

// GET/POST /schedule/:operatorId — a member proposes a time, in their own zone, for N minutes
// (docs/decisions/013-scheduled-calls.md). The proposal is checked against the operator's hours in the operator's zone.

export const links: LinksFunction = () => [{ rel: 'stylesheet', href: storefrontStyles }]
export const meta: MetaFunction<typeof loader> = ({ data }) => [{ title: `Schedule a call${data ? ` with ${data.operator.displayName}` : ''} · perminute` }]

export async function loader({ request, params, context }: LoaderFunctionArgs) {
  await requireRole(request, 'member', context)
  const operatorId = idFromPath(params.operatorId, 'Not found')
  const { db, config } = servicesFrom(context)
  const viewer = viewerTimeZone(request)
  const profile = await loadProfile(db, operatorId, viewer.zone, Date.now())
  if (!profile) throw new Response('Not found', { status: 404 })
  const windows = await db.operatorAvailability.findMany({ where: { operatorId: profile.id }, select: { weekday: true, startMinute: true, endMinute: true } })
  const tomorrow = wallTime(Date.now() + 24 * 3_600_000, viewer.zone)
  return {
    defaultDate: `${tomorrow.year}-${String(tomorrow.month).padStart(2, '0')}-${String(tomorrow.day).padStart(2, '0')}`,
    operator: { id: profile.id, displayName: profile.displayName, ratePerMinuteCents: profile.ratePerMinuteCents, timeZone: profile.operatorTimeZone },
    // Worked out here: the rule lives beside the scheduled-call workflow, whose Temporal imports have no place in the browser.
    halfHourCents: reservationCents({ minutes: 30, ratePerMinuteCents: profile.ratePerMinuteCents }),
    availability: availabilityForViewer({ windows, operatorZone: profile.operatorTimeZone, viewerZone: viewer.zone, nowMs: Date.now(), days: 14 }),
    viewer,
    zones: knownTimeZones(),
    noShowAfterMinutes: Math.round(config.SCHEDULE_MEMBER_NO_SHOW_AFTER_MS / 60_000),
    closeAfterMinutes: Math.round(config.SCHEDULE_CLOSE_AFTER_MS / 60_000),
  }
}

export async function action({ request, params, context }: ActionFunctionArgs) {
  const user = await requireRole(request, 'member', context)
  const operatorId = idFromPath(params.operatorId, 'Not found')
  const formData = await request.formData()
  await requireCsrf(request, formData, context)
  const services = servicesFrom(context)
  const zone = text(formData, 'tz', 64)
  const date = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text(formData, 'date', 10))
  const time = /^(\d{2}):(\d{2})$/.exec(text(formData, 'time', 5))
  const minutes = Number(text(formData, 'minutes', 4))
  if (!isValidTimeZone(zone)) return data({ error: 'Choose your time zone.' }, { status: 422 })
  if (!date || !time) return data({ error: 'Choose a date and a time.' }, { status: 422 })
  const resolved = resolveWallTime(zone, { year: Number(date[1]), month: Number(date[2]), day: Number(date[3]), hour: Number(time[1]), minute: Number(time[2]) })
  if (resolved.kind === 'skipped') {
    return data({ error: `${date[0]} ${time[0]} does not exist in ${zone}: the clocks skip it that day. Choose another time.` }, { status: 422 })
  }
  // A time that a fall-back repeats means its first occurrence.
  const startsAtMs = resolved.kind === 'exact' ? resolved.instantMs : resolved.earlierMs
  const result = await proposeScheduledCall(
    services,
    { memberId: user.id, operatorId, startsAtMs, minutes, memberTimeZone: zone, note: text(formData, 'note', 500) || null },
    Date.now(),
  )
  if (!result.ok) return data({ error: result.message }, { status: 422 })
  throw redirect(`/schedule?proposed=${result.scheduledCallId}`)
}

export default function ScheduleCallPage() {
  const { defaultDate, operator, halfHourCents, availability, viewer, zones, noShowAfterMinutes, closeAfterMinutes } = useLoaderData<typeof loader>()
  const result = useActionData<typeof action>()
  useTimeZoneCookie(viewer.zone, viewer.source)
  return (
    <div className="storefront">
      <h1>Schedule a call with {operator.displayName}</h1>
      <p>
        {formatPricePerMinute(operator.ratePerMinuteCents)}: 30 minutes cost {formatCents(halfHourCents)}.{' '}
        <Link to={`/operators/${operator.id}`}>Back to the profile</Link>
      </p>
      <section aria-labelledby="hours-heading">
        <h2 id="hours-heading">When {operator.displayName} is available</h2>
        <p>
          Shown in <strong>{viewer.zone}</strong>; {operator.displayName} keeps their hours in {operator.timeZone}.
        </p>
        <AvailabilityTable days={availability} zone={viewer.zone} />
      </section>
      <Form method="post" className="schedule-form" aria-labelledby="propose-heading">
        <h2 id="propose-heading">Propose a time</h2>
        <CsrfInput />
        <FormError message={result?.error} />
        <label>
          Date
          <input type="date" name="date" required defaultValue={defaultDate} />
        </label>
        <label>
          Time
          <input type="time" name="time" required defaultValue="10:00" step={60} />
        </label>
        <label>
          Your time zone
          <select name="tz" key={viewer.zone} defaultValue={viewer.zone}>
            {zones.map((z) => (
              <option key={z} value={z}>
                {z}
              </option>
            ))}
          </select>
        </label>
        <label>
          Minutes
          <input type="number" name="minutes" min={1} max={240} required defaultValue={30} />
        </label>
        <label>
          Message for {operator.displayName} (optional)
          <textarea name="note" maxLength={500} rows={3} />
        </label>
        <div>
          <button type="submit">Propose this time</button>
        </div>
      </Form>
      <NoShowRule noShowAfterMinutes={noShowAfterMinutes} closeAfterMinutes={closeAfterMinutes} />
    </div>
  )
}

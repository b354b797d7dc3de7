import { data, redirect, type ActionFunctionArgs, type MetaFunction } from '@remix-run/node'
import { Link, useActionData } from '@remix-run/react'
import { requireCsrf } from '../auth/csrf.server.js'
import { text } from '../auth/form.server.js'
import { requireRole } from '../auth/session.server.js'
import { isCallChannel, requestCall } from '../calls/requests.server.js'
import { servicesFrom } from '../plugin-api/services.server.js'
import { formatCents } from '../storefront/money.js'
import { isUuid } from '../ids.server.js'

export const meta: MetaFunction = () => [{ title: 'Call request · perminute' }]

// POST /calls/request {operatorId, channel?, mode?, prepaidMinutes?}: "Call now" (and a prepaid block) from a profile.
export async function action({ request, context }: ActionFunctionArgs) {
  const member = await requireRole(request, 'member', context, { verified: true })
  const formData = await request.formData()
  await requireCsrf(request, formData, context)
  const operatorId = text(formData, 'operatorId', 64)
  const mode = text(formData, 'mode') === 'prepaid' ? 'prepaid' : 'per_minute'
  const minutesText = text(formData, 'prepaidMinutes', 10)
  const prepaidMinutes = mode === 'prepaid' ? (/^\d+$/.test(minutesText) ? Number(minutesText) : NaN) : null
  // Which button: audio or video in the platform, or the operator's outside app. No choice (an old form) is audio.
  const channel = text(formData, 'channel', 16) || 'audio'
  if (!isCallChannel(channel)) return data({ message: 'Choose an audio call, a video call or the operator’s own app.', reason: 'invalid', operatorId: null, shortfallCents: null }, { status: 400 })
  if (!isUuid(operatorId)) return data({ message: 'This operator does not exist.', reason: 'operator_not_found', operatorId: null, shortfallCents: null }, { status: 404 })
  const outcome = await requestCall(servicesFrom(context), member, { operatorId, mode, prepaidMinutes: prepaidMinutes === null ? null : prepaidMinutes, channel })
  if (outcome.ok) return redirect(`/calls/requests/${outcome.requestId}`)
  const status = { operator_not_found: 404, operator_unavailable: 409, insufficient_funds: 402, invalid: 400, spending_cap: 403 }[outcome.reason]
  const shortfallCents = outcome.reason === 'insufficient_funds' ? outcome.requiredCents - outcome.availableCents : null
  return data({ message: outcome.message, reason: outcome.reason, operatorId, shortfallCents }, { status })
}

// A refused request renders this page with the action's answer; visited directly, it says what to do.
export async function loader() {
  return null
}

export default function CallRequestRefused() {
  const result = useActionData<typeof action>()
  return (
    <>
      <h1>The call could not be requested</h1>
      <p className="alert" role="alert">
        {result?.message ?? 'Choose an operator first.'}
      </p>
      {result?.shortfallCents ? (
        <p>
          You need {formatCents(result.shortfallCents)} more. <Link to="/wallet">Top up your wallet</Link>, then try again.
        </p>
      ) : null}
      <p>{result?.operatorId ? <Link to={`/operators/${result.operatorId}`}>Back to the profile</Link> : <Link to="/">Back to the operators</Link>}</p>
    </>
  )
}

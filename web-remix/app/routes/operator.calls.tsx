import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { data } from '@remix-run/node'
import { useActionData, useLoaderData } from '@remix-run/react'
import { normaliseRating, rateMemberForCall, RatingInputError, RatingRefused, type RatingRefusal } from '../../../activities/ratings.js'
import { requireCsrf } from '../auth/csrf.server.js'
import { text } from '../auth/form.server.js'
import { requireRole } from '../auth/session.server.js'
import { CallTable } from '../backoffice/earnings-ui.js'
import { operatorCalls } from '../backoffice/operators.server.js'
import { OperatorNav } from '../backoffice/portal-nav.js'
import type { RateMemberResult } from '../backoffice/rate-member-form.js'
import { servicesFrom } from '../plugin-api/services.server.js'

export const meta: MetaFunction = () => [{ title: 'Calls · Operator · perminute' }]

const REFUSALS: Record<RatingRefusal, { status: number; error: string }> = {
  call_not_found: { status: 404, error: 'There is no such call of yours.' },
  not_settled: { status: 409, error: 'You can rate the member once the call is settled.' },
  not_billed: { status: 403, error: 'Only calls with at least one billed minute can be rated.' },
  already_rated: { status: 409, error: 'You have already rated the member of this call.' },
}

export async function loader({ request, context }: LoaderFunctionArgs) {
  const user = await requireRole(request, 'operator', context)
  return { calls: await operatorCalls(context, { operatorId: user.id }, 200) }
}

// POST: the operator rates the member of one of their calls (one rating per call; docs/decisions/012-ratings.md).
export async function action({ request, context }: ActionFunctionArgs) {
  const user = await requireRole(request, 'operator', context)
  const formData = await request.formData()
  await requireCsrf(request, formData, context)
  const callId = text(formData, 'callId', 40)
  try {
    const rating = normaliseRating({ stars: formData.get('stars'), comment: formData.get('comment') })
    await rateMemberForCall(servicesFrom(context).db, user.id, { callId, ...rating })
    return data<RateMemberResult>({ ok: true, callId, stars: rating.stars })
  } catch (error) {
    if (error instanceof RatingInputError) return data<RateMemberResult>({ ok: false, callId, error: `Please ${error.message}.` }, { status: 422 })
    if (error instanceof RatingRefused) {
      const refusal = REFUSALS[error.reason]
      return data<RateMemberResult>({ ok: false, callId, error: refusal.error }, { status: refusal.status })
    }
    throw error
  }
}

export default function OperatorCalls() {
  const { calls } = useLoaderData<typeof loader>()
  const result = useActionData<typeof action>()
  return (
    <>
      <OperatorNav />
      <h1>Your calls</h1>
      <p>
        What each call earned you, after the platform's commission and your company's share. After a call with at least one billed minute
        you can rate the member once: other operators see the average when that member calls them.
      </p>
      {result?.ok && (
        <p className="notice" role="status">
          {`Thank you: you rated the member ${result.stars} out of 5.`}
        </p>
      )}
      <CallTable calls={calls} caption="Your calls" rateMembers rateResult={result} />
    </>
  )
}

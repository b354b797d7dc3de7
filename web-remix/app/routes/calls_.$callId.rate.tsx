import { data, type ActionFunctionArgs, type LinksFunction, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node'
import { Form, Link, useActionData, useLoaderData } from '@remix-run/react'
import { canRateCall, normaliseRating, rateOperatorForCall, RatingInputError, RatingRefused, type RatingRefusal } from '../../../activities/ratings.js'
import { CsrfInput } from '../auth/csrf-input.js'
import { requireCsrf } from '../auth/csrf.server.js'
import { requireRole } from '../auth/session.server.js'
import { servicesFrom } from '../plugin-api/services.server.js'
import { RatingFields, type RateCallResult } from '../storefront/rate-call-form.js'
import storefrontStyles from '../storefront/storefront.css?url'
import { idFromPath } from '../ids.server.js'

// POST /calls/:callId/rate — a member rates a call of theirs (docs/decisions/012-ratings.md). The call page embeds
// <RateCallForm callId/>, which posts here; GET shows the same form on a page of its own.

export const links: LinksFunction = () => [{ rel: 'stylesheet', href: storefrontStyles }]
export const meta: MetaFunction = () => [{ title: 'Rate your call · perminute' }]

const REFUSALS: Record<RatingRefusal, { status: number; error: string }> = {
  call_not_found: { status: 404, error: 'There is no such call of yours.' },
  not_settled: { status: 409, error: 'You can rate the call once it has ended.' },
  not_billed: { status: 403, error: 'Only calls with at least one billed minute can be rated.' },
  already_rated: { status: 409, error: 'You have already rated this call.' },
}

export async function loader({ request, params, context }: LoaderFunctionArgs) {
  const user = await requireRole(request, 'member', context)
  const { db } = servicesFrom(context)
  const callId = idFromPath(params.callId, 'There is no such call of yours.')
  return { canRate: await canRateCall(db, user.id, callId) }
}

export async function action({ request, params, context }: ActionFunctionArgs) {
  const user = await requireRole(request, 'member', context)
  const callId = idFromPath(params.callId, 'There is no such call of yours.')
  const formData = await request.formData()
  await requireCsrf(request, formData, context)
  const { db } = servicesFrom(context)
  try {
    const rating = normaliseRating({ stars: formData.get('stars'), comment: formData.get('comment') })
    await rateOperatorForCall(db, user.id, { callId, ...rating })
    return data<RateCallResult>({ ok: true, stars: rating.stars })
  } catch (error) {
    if (error instanceof RatingInputError) return data<RateCallResult>({ ok: false, error: `Please ${error.message}.` }, { status: 422 })
    if (error instanceof RatingRefused) {
      const refusal = REFUSALS[error.reason]
      return data<RateCallResult>({ ok: false, error: refusal.error }, { status: refusal.status })
    }
    throw error
  }
}

export default function RateCallPage() {
  const { canRate } = useLoaderData<typeof loader>()
  const result = useActionData<typeof action>()
  return (
    <div className="storefront">
      <h1>Rate your call</h1>
      {result?.ok ? (
        <p className="form-ok" role="status">
          Thank you: you rated this call {result.stars} out of 5.
        </p>
      ) : canRate ? (
        <Form method="post" className="rate-call-form">
          <CsrfInput />
          <RatingFields error={result && !result.ok ? result.error : null} />
          <div>
            <button type="submit">Send rating</button>
          </div>
        </Form>
      ) : (
        <p>{result && !result.ok ? result.error : 'This call cannot be rated: it is not yours, it has not ended, it was free, or you rated it already.'}</p>
      )}
      <p>
        <Link to="/calls">Your calls</Link>
      </p>
    </div>
  )
}

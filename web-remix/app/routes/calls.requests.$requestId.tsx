import { redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node'
import { Form, Link, useLoaderData, useNavigate, useRevalidator } from '@remix-run/react'
import { useEffect, useState } from 'react'
import { CsrfInput } from '../auth/csrf-input.js'
import { requireCsrf } from '../auth/csrf.server.js'
import { requireRole } from '../auth/session.server.js'
import { channelPhrase } from '../calls/calling-apps.js'
import { cancelCallRequest, viewCallRequest } from '../calls/requests.server.js'
import { useMemberEvents } from '../calls/use-member-events.js'
import { servicesFrom } from '../plugin-api/services.server.js'
import { formatPricePerMinute } from '../storefront/money.js'
import { idFromPath } from '../ids.server.js'

export const meta: MetaFunction = () => [{ title: 'Waiting for the operator · perminute' }]

async function load(request: Request, context: LoaderFunctionArgs['context'], requestId: string | undefined) {
  const member = await requireRole(request, 'member', context)
  const view = await viewCallRequest(servicesFrom(context), member, idFromPath(requestId, 'No such call request'))
  if (!view) throw new Response('No such call request', { status: 404, statusText: 'Not Found' })
  return { member, view }
}

export async function loader({ request, params, context }: LoaderFunctionArgs) {
  const { view } = await load(request, context, params.requestId)
  // Accepted: the call is on; its page is the place to be.
  if (view.state === 'accepted' && view.callId) throw redirect(`/calls/${view.callId}`)
  return { view }
}

export async function action({ request, params, context }: ActionFunctionArgs) {
  const { member, view } = await load(request, context, params.requestId)
  const formData = await request.formData()
  await requireCsrf(request, formData, context)
  await cancelCallRequest(servicesFrom(context), member, view.id)
  return redirect(`/operators/${view.operatorId}`)
}

function secondsUntil(iso: string): number {
  return Math.max(0, Math.ceil((Date.parse(iso) - Date.now()) / 1000))
}

export default function CallRequestPage() {
  const { view } = useLoaderData<typeof loader>()
  const navigate = useNavigate()
  const revalidator = useRevalidator()
  const [left, setLeft] = useState<number | null>(null)
  const waiting = view.state === 'waiting'

  useMemberEvents((event) => {
    if (event.payload.requestId !== view.id) return
    if (event.type === 'call.started' && typeof event.payload.callId === 'string') navigate(`/calls/${event.payload.callId}`)
    if (event.type === 'call.request_declined') revalidator.revalidate()
  }, waiting)

  useEffect(() => {
    if (!waiting) return
    setLeft(secondsUntil(view.expiresAt))
    const timer = setInterval(() => {
      const remaining = secondsUntil(view.expiresAt)
      setLeft(remaining)
      if (remaining === 0) revalidator.revalidate()
    }, 1000)
    return () => clearInterval(timer)
  }, [waiting, view.expiresAt, revalidator])

  const how = channelPhrase(view.channel, view.callingProvider)
  const what = view.mode === 'prepaid' ? `${how}, a prepaid block of ${view.prepaidMinutes} minutes,` : `${how} now`
  return (
    <>
      <h1>{waiting ? `Calling ${view.operatorName}…` : `Your request to ${view.operatorName}`}</h1>
      <p data-testid="request-terms">
        You asked for {what} at {formatPricePerMinute(view.ratePerMinuteCents)}.
      </p>
      <div role="status" aria-live="polite">
        {view.state === 'waiting' && (
          <p className="notice">
            {view.operatorName} sees your request in their app. When they accept, this page takes you to the call; you pay only from
            the moment you are both connected.
            {left !== null && ` The request expires in ${left} s.`}
          </p>
        )}
        {view.state === 'declined' && <p className="alert">{view.operatorName} cannot take the call now. Nothing was charged.</p>}
        {view.state === 'expired' && <p className="alert">{view.operatorName} did not answer in time. Nothing was charged.</p>}
        {view.state === 'cancelled' && <p className="notice">You cancelled this request.</p>}
      </div>
      {waiting ? (
        <>
          <noscript>
            <p>
              <Link to=".">Refresh</Link> to see whether the call has started.
            </p>
          </noscript>
          <Form method="post">
            <CsrfInput />
            <button type="submit" className="secondary">
              Cancel the request
            </button>
          </Form>
        </>
      ) : (
        <p>
          <Link to={`/operators/${view.operatorId}`}>Back to the profile</Link>
        </p>
      )}
    </>
  )
}

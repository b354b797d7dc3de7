import { data, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node'
import { Form, Link, useLoaderData, useNavigation, useRevalidator } from '@remix-run/react'
import { useEffect, useState } from 'react'
import { CsrfInput } from '../auth/csrf-input.js'
import { requireCsrf } from '../auth/csrf.server.js'
import { requireRole } from '../auth/session.server.js'
import { formatDuration } from '../calls/format.js'
import { endReasonText, memberCallPanel } from '../calls/member-calls.server.js'
import { useMemberEvents } from '../calls/use-member-events.js'
import { endCallAs } from '../plugin-api/calls.server.js'
import { servicesFrom } from '../plugin-api/services.server.js'
import { formatCents, formatPricePerMinute } from '../storefront/money.js'
import { RateCallForm } from '../storefront/rate-call-form.js'
import { idFromPath } from '../ids.server.js'

export const meta: MetaFunction = () => [{ title: 'Your call · perminute' }]

async function loadPanel(request: Request, context: LoaderFunctionArgs['context'], callId: string | undefined) {
  const member = await requireRole(request, 'member', context)
  const panel = await memberCallPanel(servicesFrom(context), member, idFromPath(callId, 'No such call'))
  // Another member's call does not exist, as far as this member can tell.
  if (!panel) throw new Response('No such call', { status: 404, statusText: 'Not Found' })
  return { member, panel }
}

export async function loader({ request, params, context }: LoaderFunctionArgs) {
  const { panel } = await loadPanel(request, context, params.callId)
  return { panel, endReasonText: panel.endReason ? endReasonText[panel.endReason] : null }
}

// The member hangs up from the page: the same end request the plugin sends, on the member's behalf.
export async function action({ request, params, context }: ActionFunctionArgs) {
  const { member, panel } = await loadPanel(request, context, params.callId)
  const formData = await request.formData()
  await requireCsrf(request, formData, context)
  if (panel.status === 'active') await endCallAs(servicesFrom(context), { memberId: member.id }, panel.callId, 'member_hangup')
  return data({ ended: true })
}

/** Seconds since the call started, ticking in the browser between two loads. */
function useElapsed(startedAt: string, serverElapsed: number, running: boolean): number {
  const [elapsed, setElapsed] = useState(serverElapsed)
  useEffect(() => {
    setElapsed(serverElapsed)
    if (!running) return
    const started = Date.parse(startedAt)
    const timer = setInterval(() => setElapsed(Math.max(0, Math.floor((Date.now() - started) / 1000))), 1000)
    return () => clearInterval(timer)
  }, [startedAt, serverElapsed, running])
  return elapsed
}

export default function CallPanel() {
  const { panel, endReasonText: endedText } = useLoaderData<typeof loader>()
  const revalidator = useRevalidator()
  const navigation = useNavigation()
  const active = panel.status === 'active'
  const [lowBalance, setLowBalance] = useState<null | { minutesLeft: number }>(panel.lowBalance ? { minutesLeft: panel.minutesLeft } : null)
  const elapsed = useElapsed(panel.startedAt, panel.elapsedSeconds, active)

  useEffect(() => {
    setLowBalance(panel.lowBalance && active ? { minutesLeft: panel.minutesLeft } : null)
  }, [panel.lowBalance, panel.minutesLeft, active])

  // The workflow's news arrives as it happens: the warning shows from the event itself, then the figures reload.
  useMemberEvents((event) => {
    if (event.payload.callId !== panel.callId) return
    if (event.type === 'call.low_balance') setLowBalance({ minutesLeft: Number(event.payload.minutesLeft ?? 0) })
    if (event.type === 'call.low_balance_cleared') setLowBalance(null)
    revalidator.revalidate()
  }, panel.status !== 'settled')

  // Charges move at period boundaries: refresh the figures once per period while the call runs.
  useEffect(() => {
    if (panel.status === 'settled') return
    const timer = setInterval(() => revalidator.revalidate(), Math.min(panel.periodSeconds, 15) * 1000)
    return () => clearInterval(timer)
  }, [panel.status, panel.periodSeconds, revalidator])

  return (
    <>
      <h1>{`${active ? 'On a call with' : panel.status === 'ending' ? 'Ending the call with' : 'Call with'} ${panel.operatorName}`}</h1>
      <div aria-live="assertive" role="alert">
        {lowBalance && active && (
          <div className="warning" data-testid="low-balance">
            <p>
              <strong>Your balance is running low:</strong> about {lowBalance.minutesLeft} minute{lowBalance.minutesLeft === 1 ? '' : 's'}{' '}
              left. Top up to keep talking; the call goes on while you do.
            </p>
            <Link className="button" to={`/wallet?returnTo=${encodeURIComponent(`/calls/${panel.callId}`)}`} target="_blank" rel="noopener">
              Top up now (opens a new tab)
            </Link>
          </div>
        )}
      </div>
      <div role="status" aria-live="polite">
        {panel.status === 'ending' && <p className="notice">The call is ending; the bill is being settled…</p>}
        {panel.status === 'settled' && (
          <p className={panel.endReason === 'funds_exhausted' || panel.endReason === 'heartbeat_lost' ? 'alert' : 'notice'} data-testid="ended">
            {endedText} You paid {formatCents(panel.chargedCents)} for {panel.billedMinutes} minute{panel.billedMinutes === 1 ? '' : 's'}.
          </p>
        )}
      </div>
      <dl className="facts" aria-label="Call figures">
        <dt>Elapsed</dt>
        <dd data-testid="elapsed">{formatDuration(elapsed)}</dd>
        <dt>Price</dt>
        <dd>{formatPricePerMinute(panel.ratePerMinuteCents)}{panel.mode === 'prepaid' ? ` (prepaid block of ${panel.prepaidMinutes} min)` : ''}</dd>
        <dt>{panel.status === 'settled' ? 'Charged' : 'Charged so far'}</dt>
        <dd data-testid="charged">{formatCents(panel.chargedCents)}</dd>
        <dt>Balance left</dt>
        <dd data-testid="balance">{formatCents(panel.availableCents)}</dd>
        {active && (
          <>
            <dt>Minutes left</dt>
            <dd data-testid="minutes-left">{panel.minutesLeft}</dd>
          </>
        )}
      </dl>
      {panel.status !== 'settled' ? (
        <Form method="post">
          <CsrfInput />
          <button type="submit" className="danger" disabled={!active || navigation.state === 'submitting'}>
            Hang up
          </button>
        </Form>
      ) : (
        <>
          {panel.billedMinutes > 0 &&
            (panel.ratedStars === null ? (
              <RateCallForm callId={panel.callId} />
            ) : (
              <p>
                You rated this call {panel.ratedStars} out of 5.
              </p>
            ))}
        <p>
          <Link to="/calls">All your calls</Link> · <Link to={`/operators/${panel.operatorId}`}>{panel.operatorName}’s profile</Link>
        </p>
        </>
      )}
    </>
  )
}

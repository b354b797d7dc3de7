import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { data } from '@remix-run/node'
import { useActionData, useLoaderData } from '@remix-run/react'
import { requireCsrf } from '../auth/csrf.server.js'
import { requireRole } from '../auth/session.server.js'
import { EarningsCards, PayoutRequestForm, PayoutTable } from '../backoffice/earnings-ui.js'
import { earningsPage, submitPayoutRequest } from '../backoffice/payouts.server.js'
import { OperatorNav } from '../backoffice/portal-nav.js'

export const meta: MetaFunction = () => [{ title: 'Payouts · Operator · perminute' }]

export async function loader({ request, context }: LoaderFunctionArgs) {
  const user = await requireRole(request, 'operator', context)
  return earningsPage(context, { kind: 'operator', id: user.id })
}

export async function action({ request, context }: ActionFunctionArgs) {
  const user = await requireRole(request, 'operator', context)
  const formData = await request.formData()
  await requireCsrf(request, formData, context)
  const result = await submitPayoutRequest(context, { kind: 'operator', id: user.id }, user.id, formData)
  return data(result, { status: result.ok ? 200 : 400 })
}

export default function OperatorPayouts() {
  const { earnings, payouts, payoutMinimumCents, newPayoutId } = useLoaderData<typeof loader>()
  const result = useActionData<typeof action>()
  return (
    <>
      <OperatorNav />
      <h1>Payouts</h1>
      <EarningsCards earnings={earnings} />
      <h2>Request a payout</h2>
      <PayoutRequestForm payoutId={newPayoutId} minimumCents={payoutMinimumCents} availableCents={earnings.availableCents} result={result} />
      <h2>Payment history</h2>
      <PayoutTable payouts={payouts} />
    </>
  )
}

import type { LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { Link, useLoaderData } from '@remix-run/react'
import { requireRole } from '../auth/session.server.js'
import { CallTable, EarningsCards } from '../backoffice/earnings-ui.js'
import { formatCents } from '../backoffice/format.js'
import { operatorCalls, operatorProfile } from '../backoffice/operators.server.js'
import { earningsPage } from '../backoffice/payouts.server.js'
import { OperatorNav } from '../backoffice/portal-nav.js'

export const meta: MetaFunction = () => [{ title: 'Dashboard · Operator · perminute' }]

export async function loader({ request, context }: LoaderFunctionArgs) {
  const user = await requireRole(request, 'operator', context)
  const [profile, page, calls] = await Promise.all([
    operatorProfile(context, user.id),
    earningsPage(context, { kind: 'operator', id: user.id }),
    operatorCalls(context, { operatorId: user.id }, 10),
  ])
  return { profile, earnings: page.earnings, calls }
}

export default function OperatorDashboard() {
  const { profile, earnings, calls } = useLoaderData<typeof loader>()
  return (
    <>
      <OperatorNav />
      <h1>Hello, {profile.displayName}</h1>
      <p>
        Your price: <strong>{formatCents(profile.ratePerMinuteCents)} per minute</strong>. <Link to="/operator/profile">Change it</Link>
      </p>
      <h2>Earnings</h2>
      <EarningsCards earnings={earnings} />
      <p>
        <Link to="/operator/payouts">Request a payout</Link>
      </p>
      <h2>Recent calls</h2>
      <CallTable calls={calls} caption="Recent calls" />
      <p>
        <Link to="/operator/calls">All calls</Link>
      </p>
    </>
  )
}

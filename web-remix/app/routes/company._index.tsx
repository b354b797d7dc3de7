import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { data } from '@remix-run/node'
import { Link, useActionData, useLoaderData } from '@remix-run/react'
import { requireCsrf } from '../auth/csrf.server.js'
import { requireRole } from '../auth/session.server.js'
import { companyOf, companyOperators } from '../backoffice/company.server.js'
import { CallTable, EarningsCards, PayoutRequestForm, PayoutTable } from '../backoffice/earnings-ui.js'
import { formatCents } from '../backoffice/format.js'
import { operatorCalls } from '../backoffice/operators.server.js'
import { earningsPage, submitPayoutRequest } from '../backoffice/payouts.server.js'
import { DataTable } from '../components/data-table.js'

export const meta: MetaFunction = () => [{ title: 'Company · perminute' }]

export async function loader({ request, context }: LoaderFunctionArgs) {
  const user = await requireRole(request, 'company', context)
  const company = await companyOf(context, user)
  const [operators, page, calls] = await Promise.all([
    companyOperators(context, company.id),
    earningsPage(context, { kind: 'company', id: company.id }),
    operatorCalls(context, { companyId: company.id }, 20),
  ])
  return { company, operators, calls, ...page }
}

export async function action({ request, context }: ActionFunctionArgs) {
  const user = await requireRole(request, 'company', context)
  const formData = await request.formData()
  await requireCsrf(request, formData, context)
  const company = await companyOf(context, user)
  const result = await submitPayoutRequest(context, { kind: 'company', id: company.id }, user.id, formData)
  return data(result, { status: result.ok ? 200 : 400 })
}

export default function CompanyHome() {
  const { company, operators, calls, earnings, payouts, payoutMinimumCents, newPayoutId } = useLoaderData<typeof loader>()
  const result = useActionData<typeof action>()
  return (
    <>
      <h1>{company.name}</h1>
      <p>Your share of your operators' earnings: {(company.shareBps / 100).toFixed(2)} %.</p>
      <h2>Operators</h2>
      {operators.length === 0 ? (
        <p>No operators yet.</p>
      ) : (
        <DataTable caption="Your operators">
          <thead>
            <tr>
              <th scope="col">Operator</th>
              <th scope="col">Status</th>
              <th scope="col" className="amount">Price per minute</th>
            </tr>
          </thead>
          <tbody>
            {operators.map((o) => (
              <tr key={o.id} data-operator-id={o.id}>
                <td>
                  <Link to={`/company/operators/${o.id}`}>{o.displayName}</Link>
                </td>
                <td className={`status-${o.status}`}>{o.status}</td>
                <td className="amount">{formatCents(o.ratePerMinuteCents)}</td>
              </tr>
            ))}
          </tbody>
        </DataTable>
      )}
      <h2>Company earnings</h2>
      <EarningsCards earnings={earnings} />
      <h2>Request a payout</h2>
      <PayoutRequestForm payoutId={newPayoutId} minimumCents={payoutMinimumCents} availableCents={earnings.availableCents} result={result} />
      <h2>Payouts</h2>
      <PayoutTable payouts={payouts} />
      <h2>Recent calls of your operators</h2>
      <CallTable calls={calls} caption="Recent calls of your operators" showOperator showCompanyShare />
    </>
  )
}

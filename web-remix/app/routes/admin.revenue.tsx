import type { LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { useLoaderData } from '@remix-run/react'
import { requireAdmin } from '../backoffice/admin-access.server.js'
import { revenueStatistics } from '../backoffice/admin.server.js'
import { BarChart } from '../backoffice/bar-chart.js'
import { formatCents } from '../backoffice/format.js'
import { AdminNav } from '../backoffice/portal-nav.js'
import { DataTable } from '../components/data-table.js'

export const meta: MetaFunction = () => [{ title: 'Revenue · Admin · perminute' }]

export async function loader({ request, context }: LoaderFunctionArgs) {
  await requireAdmin(request, context)
  return revenueStatistics(context, 30)
}

export default function AdminRevenue() {
  const { series, totals, top } = useLoaderData<typeof loader>()
  const count = (n: number) => n.toLocaleString('en-US')
  return (
    <>
      <AdminNav />
      <h1>Revenue and statistics</h1>
      <p>The last 30 days, by day of settlement (UTC).</p>
      <div className="cards">
        <div className="card">
          <div>Platform revenue</div>
          <div className="figure" data-testid="revenue-total">{formatCents(totals.revenueCents)}</div>
        </div>
        <div className="card">
          <div>Charged to members</div>
          <div className="figure">{formatCents(totals.chargedCents)}</div>
        </div>
        <div className="card">
          <div>Minutes billed</div>
          <div className="figure">{count(totals.minutes)}</div>
        </div>
        <div className="card">
          <div>Calls</div>
          <div className="figure">{count(totals.calls)}</div>
        </div>
      </div>
      <h2>Revenue per day</h2>
      <BarChart title="Platform revenue per day" points={series.map((d) => ({ label: d.day, value: d.revenueCents }))} format={formatCents} />
      <h2>Minutes billed per day</h2>
      <BarChart title="Minutes billed per day" points={series.map((d) => ({ label: d.day, value: d.minutes }))} format={count} />
      <h2>Active operators per day</h2>
      <BarChart title="Operators with a settled call, per day" points={series.map((d) => ({ label: d.day, value: d.activeOperators }))} format={count} />
      <h2>Top operators</h2>
      {top.length === 0 ? (
        <p>No calls in this period.</p>
      ) : (
        <DataTable caption="Top operators by amount charged">
          <thead>
            <tr>
              <th scope="col">Operator</th>
              <th scope="col" className="amount">Calls</th>
              <th scope="col" className="amount">Minutes</th>
              <th scope="col" className="amount">Charged</th>
            </tr>
          </thead>
          <tbody>
            {top.map((t) => (
              <tr key={t.id}>
                <td>{t.displayName}</td>
                <td className="amount">{count(t.calls)}</td>
                <td className="amount">{count(t.minutes)}</td>
                <td className="amount">{formatCents(t.chargedCents)}</td>
              </tr>
            ))}
          </tbody>
        </DataTable>
      )}
    </>
  )
}

import type { LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { Link, useLoaderData } from '@remix-run/react'
import { requireRole } from '../auth/session.server.js'
import { formatDuration } from '../calls/format.js'
import { memberCallHistory } from '../calls/member-calls.server.js'
import { servicesFrom } from '../plugin-api/services.server.js'
import { formatCents } from '../storefront/money.js'
import { DataTable } from '../components/data-table.js'

export const meta: MetaFunction = () => [{ title: 'Your calls · perminute' }]

export async function loader({ request, context }: LoaderFunctionArgs) {
  const member = await requireRole(request, 'member', context)
  const pageText = new URL(request.url).searchParams.get('page') ?? '1'
  const page = /^\d{1,6}$/.test(pageText) && Number(pageText) > 0 ? Number(pageText) : 1
  return { page, ...(await memberCallHistory(servicesFrom(context), member, page)) }
}

const statusText: Record<string, string> = { active: 'In progress', ending: 'Ending', settled: 'Ended' }

export default function CallHistory() {
  const { rows, page, pages, total } = useLoaderData<typeof loader>()
  return (
    <>
      <h1>Your calls</h1>
      <p>
        {total} call{total === 1 ? '' : 's'}. <a href="/calls.csv" download>Download all as CSV</a>
      </p>
      {rows.length === 0 ? (
        <p>
          No calls yet. <Link to="/">Find an operator</Link>.
        </p>
      ) : (
        <DataTable caption="Your calls, newest first">
          <thead>
            <tr>
              <th scope="col">Started (UTC)</th>
              <th scope="col">Operator</th>
              <th scope="col">Length</th>
              <th scope="col" className="amount">Minutes billed</th>
              <th scope="col" className="amount">Charged</th>
              <th scope="col">Status</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => (
              <tr key={row.id} data-call-id={row.id}>
                <td>
                  <Link to={`/calls/${row.id}`}>
                    <time dateTime={row.startedAt}>{row.startedAt.replace('T', ' ').slice(0, 16)}</time>
                  </Link>
                </td>
                <td>{row.operatorName}</td>
                <td>{row.durationSeconds === null ? '—' : formatDuration(row.durationSeconds)}</td>
                <td className="amount">{row.billedMinutes ?? '—'}</td>
                <td className="amount">{row.chargedCents === null ? '—' : formatCents(row.chargedCents)}</td>
                <td>{statusText[row.status] ?? row.status}</td>
              </tr>
            ))}
          </tbody>
        </DataTable>
      )}
      {pages > 1 && (
        <nav aria-label="Pages">
          {page > 1 && <Link to={`?page=${page - 1}`}>Newer calls</Link>} Page {page} of {pages}{' '}
          {page < pages && <Link to={`?page=${page + 1}`}>Older calls</Link>}
        </nav>
      )}
    </>
  )
}

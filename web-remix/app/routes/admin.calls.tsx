import type { LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { useLoaderData } from '@remix-run/react'
import { requireAdmin } from '../backoffice/admin-access.server.js'
import { callsForAdmin } from '../backoffice/admin.server.js'
import { formatCents, formatWhen } from '../backoffice/format.js'
import { AdminNav, TemporalLink } from '../backoffice/portal-nav.js'
import { servicesFrom } from '../plugin-api/services.server.js'
import { DataTable } from '../components/data-table.js'

export const meta: MetaFunction = () => [{ title: 'Calls · Admin · perminute' }]

export async function loader({ request, context }: LoaderFunctionArgs) {
  await requireAdmin(request, context)
  const { config } = servicesFrom(context)
  return { ...(await callsForAdmin(context)), temporalUi: config.TEMPORAL_UI_URL, namespace: config.TEMPORAL_NAMESPACE }
}

type CallView = Awaited<ReturnType<typeof callsForAdmin>>['active'][number]

function CallsTable({ calls, caption, temporalUi, namespace }: { calls: CallView[]; caption: string; temporalUi: string; namespace: string }) {
  if (calls.length === 0) return <p>None.</p>
  return (
    <DataTable caption={caption}>
      <thead>
        <tr>
          <th scope="col">Started</th>
          <th scope="col">Member → operator</th>
          <th scope="col">Status</th>
          <th scope="col" className="amount">Charged</th>
          <th scope="col">Workflow</th>
        </tr>
      </thead>
      <tbody>
        {calls.map((c) => (
          <tr key={c.id} data-call-id={c.id}>
            <td>{formatWhen(c.startedAt)}</td>
            <td>
              {c.memberName} → {c.operatorName} ({formatCents(c.ratePerMinuteCents)}/min)
            </td>
            <td>
              {c.status}
              {c.endReason ? ` (${c.endReason.replace(/_/g, ' ')})` : ''}
            </td>
            <td className="amount">{formatCents(c.chargedCents)}</td>
            <td>
              <TemporalLink uiUrl={temporalUi} namespace={namespace} workflowId={c.workflowId} />
            </td>
          </tr>
        ))}
      </tbody>
    </DataTable>
  )
}

export default function AdminCalls() {
  const { active, recent, temporalUi, namespace } = useLoaderData<typeof loader>()
  return (
    <>
      <AdminNav />
      <h1>Calls</h1>
      <h2>In progress</h2>
      <CallsTable calls={active} caption="Calls in progress" temporalUi={temporalUi} namespace={namespace} />
      <h2>Recent</h2>
      <CallsTable calls={recent} caption="Recent calls" temporalUi={temporalUi} namespace={namespace} />
    </>
  )
}

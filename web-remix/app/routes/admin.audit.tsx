import type { LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { Form, Link, useLoaderData } from '@remix-run/react'
import { requireAdmin } from '../backoffice/admin-access.server.js'
import { auditLog } from '../backoffice/admin.server.js'
import { formatWhen } from '../backoffice/format.js'
import { AdminNav } from '../backoffice/portal-nav.js'
import { DataTable } from '../components/data-table.js'

export const meta: MetaFunction = () => [{ title: 'Audit log · Admin · perminute' }]

export async function loader({ request, context }: LoaderFunctionArgs) {
  await requireAdmin(request, context)
  const params = new URL(request.url).searchParams
  const action = params.get('action')?.slice(0, 100) || null
  return { action, entries: await auditLog(context, params.get('before'), action) }
}

export default function AdminAudit() {
  const { action, entries } = useLoaderData<typeof loader>()
  const last = entries.at(-1)
  return (
    <>
      <AdminNav />
      <h1>Audit log</h1>
      <p>Every administrative change, newest first. Entries cannot be changed or deleted.</p>
      <Form method="get" className="inline-form" role="search">
        <div className="field">
          <label htmlFor="audit-action">Action starts with</label>
          <input id="audit-action" type="search" name="action" defaultValue={action ?? ''} />
        </div>
        <button type="submit">Filter</button>
      </Form>
      <DataTable caption="Audit entries">
        <thead>
          <tr>
            <th scope="col">When</th>
            <th scope="col">Who</th>
            <th scope="col">Action</th>
            <th scope="col">Subject</th>
            <th scope="col">Details</th>
          </tr>
        </thead>
        <tbody>
          {entries.map((e) => (
            <tr key={e.id}>
              <td>{formatWhen(e.createdAt)}</td>
              <td className="wrap">{e.actorEmail ?? e.channel}</td>
              <td>{e.action}</td>
              <td className="wrap">{e.subject}</td>
              <td className="wrap">
                <code>{e.details}</code>
              </td>
            </tr>
          ))}
        </tbody>
      </DataTable>
      {last && entries.length === 100 && (
        <p>
          <Link to={`?before=${last.id}${action ? `&action=${encodeURIComponent(action)}` : ''}`}>Older entries</Link>
        </p>
      )}
    </>
  )
}

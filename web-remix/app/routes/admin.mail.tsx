import type { LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { useLoaderData } from '@remix-run/react'
import { requireAdmin } from '../backoffice/admin-access.server.js'
import { mailOutbox } from '../backoffice/admin.server.js'
import { formatWhen } from '../backoffice/format.js'
import { AdminNav } from '../backoffice/portal-nav.js'
import { DataTable } from '../components/data-table.js'

export const meta: MetaFunction = () => [{ title: 'Mail outbox · Admin · perminute' }]

export async function loader({ request, context }: LoaderFunctionArgs) {
  await requireAdmin(request, context)
  return { mails: await mailOutbox(context) }
}

export default function AdminMail() {
  const { mails } = useLoaderData<typeof loader>()
  return (
    <>
      <AdminNav />
      <h1>Mail outbox</h1>
      <p>The latest 100 messages and their delivery. Bodies are not shown here: they may carry sign-in links.</p>
      <DataTable caption="Mail messages">
        <thead>
          <tr>
            <th scope="col">Created</th>
            <th scope="col">To</th>
            <th scope="col">Subject</th>
            <th scope="col">Status</th>
            <th scope="col">Attempts</th>
          </tr>
        </thead>
        <tbody>
          {mails.map((m) => (
            <tr key={m.id}>
              <td>{formatWhen(m.createdAt)}</td>
              <td className="wrap">{m.toAddress}</td>
              <td>{m.subject}</td>
              <td>
                {m.status}
                {m.lastError ? ` (${m.lastError})` : ''}
              </td>
              <td>{m.attempts}</td>
            </tr>
          ))}
        </tbody>
      </DataTable>
    </>
  )
}

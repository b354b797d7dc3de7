import type { LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { Link, useLoaderData } from '@remix-run/react'
import { requireAdmin } from '../backoffice/admin-access.server.js'
import { overview } from '../backoffice/admin.server.js'
import { AdminNav } from '../backoffice/portal-nav.js'

export const meta: MetaFunction = () => [{ title: 'Admin · perminute' }]

export async function loader({ request, context }: LoaderFunctionArgs) {
  await requireAdmin(request, context)
  return overview(context)
}

export default function AdminHome() {
  const o = useLoaderData<typeof loader>()
  return (
    <>
      <AdminNav />
      <h1>Administration</h1>
      <div className="cards">
        <Link className="card" to="/admin/calls">
          <div>Calls in progress</div>
          <div className="figure">{o.activeCalls}</div>
        </Link>
        <Link className="card" to="/admin/payouts">
          <div>Payouts waiting</div>
          <div className="figure">{o.waitingPayouts}</div>
        </Link>
        <Link className="card" to="/admin/users">
          <div>Users</div>
          <div className="figure">{o.users}</div>
        </Link>
        <Link className="card" to="/admin/users?status=disabled">
          <div>Disabled</div>
          <div className="figure">{o.disabled}</div>
        </Link>
      </div>
    </>
  )
}

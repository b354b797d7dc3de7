import type { LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { Form, Link, useLoaderData } from '@remix-run/react'
import { requireAdmin } from '../backoffice/admin-access.server.js'
import { searchUsers } from '../backoffice/admin.server.js'
import { formatWhen } from '../backoffice/format.js'
import { AdminNav } from '../backoffice/portal-nav.js'
import { DataTable } from '../components/data-table.js'

export const meta: MetaFunction = () => [{ title: 'Users · Admin · perminute' }]

export async function loader({ request, context }: LoaderFunctionArgs) {
  await requireAdmin(request, context)
  const params = new URL(request.url).searchParams
  const q = (params.get('q') ?? '').slice(0, 200)
  const role = params.get('role')
  return { q, role, users: await searchUsers(context, q, role) }
}

export default function AdminUsers() {
  const { q, role, users } = useLoaderData<typeof loader>()
  return (
    <>
      <AdminNav />
      <h1>Users</h1>
      <Form method="get" className="inline-form" role="search">
        <div className="field">
          <label htmlFor="user-search">E-mail or name</label>
          <input id="user-search" type="search" name="q" defaultValue={q} />
        </div>
        <div className="field">
          <label htmlFor="user-role">Role</label>
          <select id="user-role" name="role" defaultValue={role ?? ''}>
            <option value="">Any</option>
            <option value="member">Member</option>
            <option value="operator">Operator</option>
            <option value="company">Company</option>
            <option value="admin">Admin</option>
          </select>
        </div>
        <button type="submit">Search</button>
      </Form>
      <DataTable caption="Users found">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">E-mail</th>
            <th scope="col">Role</th>
            <th scope="col">Status</th>
            <th scope="col">Since</th>
          </tr>
        </thead>
        <tbody>
          {users.map((u) => (
            <tr key={u.id}>
              <td>
                <Link to={`/admin/users/${u.id}`}>{u.displayName}</Link>
              </td>
              <td className="wrap">{u.email}</td>
              <td>{u.role}</td>
              <td className={`status-${u.status}`}>{u.status}</td>
              <td>{formatWhen(u.createdAt)}</td>
            </tr>
          ))}
        </tbody>
      </DataTable>
    </>
  )
}

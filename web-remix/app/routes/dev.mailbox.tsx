import type { LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { Form, Link, useLoaderData } from '@remix-run/react'
import { listMail, requireDevelopment } from '../dev/mailbox.server.js'
import { DataTable } from '../components/data-table.js'

export const meta: MetaFunction = () => [{ title: 'Mailbox (development) · perminute' }]

export async function loader({ request, context }: LoaderFunctionArgs) {
  requireDevelopment(context)
  const to = new URL(request.url).searchParams.get('to')
  return { to, mail: await listMail(context, to) }
}

export default function DevMailbox() {
  const { to, mail } = useLoaderData<typeof loader>()
  return (
    <>
      <h1>Mailbox</h1>
      <p>Every mail the platform sent, as the outbox keeps it. This page exists only outside production.</p>
      <Form method="get" className="stack">
        <div className="field">
          <label htmlFor="mailbox-to">Recipient</label>
          <input id="mailbox-to" type="email" name="to" defaultValue={to ?? ''} />
        </div>
        <div>
          <button type="submit" className="secondary">
            Filter
          </button>
        </div>
      </Form>
      {mail.length === 0 ? (
        <p>No mail.</p>
      ) : (
        <DataTable caption="Mail in the outbox, newest first">
          <thead>
            <tr>
              <th scope="col">To</th>
              <th scope="col">Subject</th>
              <th scope="col">Status</th>
              <th scope="col">Written</th>
            </tr>
          </thead>
          <tbody>
            {mail.map((message) => (
              <tr key={message.id}>
                <td>{message.toAddress}</td>
                <td>
                  <Link to={`/dev/mailbox/${message.id}`}>{message.subject}</Link>
                </td>
                <td>{message.status}</td>
                <td>
                  <time dateTime={message.createdAt}>{message.createdAt.replace('T', ' ').slice(0, 19)} UTC</time>
                </td>
              </tr>
            ))}
          </tbody>
        </DataTable>
      )}
    </>
  )
}

import type { LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { Link, useLoaderData } from '@remix-run/react'
import { readMail, requireDevelopment } from '../dev/mailbox.server.js'

export const meta: MetaFunction = () => [{ title: 'Mail (development) · perminute' }]

export async function loader({ params, context }: LoaderFunctionArgs) {
  requireDevelopment(context)
  const mail = await readMail(context, params.id ?? '')
  if (!mail) throw new Response('No such mail', { status: 404 })
  return { mail }
}

/** Links in a text body, made clickable (the text is shown as text; only http(s) links become anchors). */
function Linkified({ text }: { text: string }) {
  const parts = text.split(/(https?:\/\/[^\s<>"]+)/g)
  return (
    <>
      {parts.map((part, index) =>
        /^https?:\/\//.test(part) ? (
          <a key={index} href={part}>
            {part}
          </a>
        ) : (
          part
        ),
      )}
    </>
  )
}

export default function DevMail() {
  const { mail } = useLoaderData<typeof loader>()
  return (
    <>
      <h1>{mail.subject}</h1>
      <dl className="facts">
        <dt>To</dt>
        <dd>{mail.toAddress}</dd>
        <dt>Status</dt>
        <dd>
          {mail.status} ({mail.attempts} delivery attempts){mail.lastError ? `: ${mail.lastError}` : ''}
        </dd>
      </dl>
      <pre className="mail-body">
        <Linkified text={mail.textBody} />
      </pre>
      <p>
        <Link to="/dev/mailbox">Back to the mailbox</Link>
      </p>
    </>
  )
}

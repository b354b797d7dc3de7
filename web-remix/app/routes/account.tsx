import { data, redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node'
import { Form, Link, useActionData, useLoaderData, useSearchParams } from '@remix-run/react'
import { sendVerificationMail } from '../auth/accounts.server.js'
import { CsrfInput } from '../auth/csrf-input.js'
import { requireCsrf } from '../auth/csrf.server.js'
import { passOnRetryAfter, retryAfterHeaders } from '../auth/retry-after.js'
import { requireUser } from '../auth/session.server.js'
import { servicesFrom } from '../plugin-api/services.server.js'

export const meta: MetaFunction = () => [{ title: 'Your account · perminute' }]

// Too many confirmation mails: the answer says when to come back (Retry-After, in seconds).
export const headers = passOnRetryAfter

export async function loader({ request, context }: LoaderFunctionArgs) {
  const user = await requireUser(request, context)
  const { lowBalanceMail } = await servicesFrom(context).db.user.findUniqueOrThrow({ where: { id: user.id }, select: { lowBalanceMail: true } })
  return { user, lowBalanceMail }
}

export async function action({ request, context }: ActionFunctionArgs) {
  const user = await requireUser(request, context)
  const formData = await request.formData()
  await requireCsrf(request, formData, context)
  const intent = formData.get('intent')
  if (intent === 'low-balance-mail' && user.role === 'member') {
    const wanted = formData.get('lowBalanceMail') === 'on'
    await servicesFrom(context).db.user.update({ where: { id: user.id }, data: { lowBalanceMail: wanted } })
    return { message: wanted ? 'We will e-mail you when a call’s balance runs low.' : 'No more low-balance e-mails: the warning still shows in the call’s page.' }
  }
  if (intent !== 'resend-verification') return data({ message: 'Unknown request.' }, { status: 400 })
  if (user.emailVerified) throw redirect('/account')
  const sent = await sendVerificationMail(context, user.id, context.clientAddress ?? 'unknown')
  if (!sent.ok) return data({ message: sent.message, refused: true }, { status: sent.status, headers: retryAfterHeaders(sent.retryAfterMs) })
  return { message: `A new confirmation link is on its way to ${user.email}.` }
}

const notices: Record<string, string> = {
  'password-changed': 'Your password is changed. Your other sessions and plugins are signed out.',
  'verify-first': 'Confirm your e-mail address first: open the link in the mail we sent you.',
}

const roleNames = { member: 'Member', operator: 'Operator', company: 'Company', admin: 'Administrator' } as const

export default function AccountPage() {
  const { user, lowBalanceMail } = useLoaderData<typeof loader>()
  const result = useActionData<typeof action>()
  const [params] = useSearchParams()
  const notice = result?.message ?? notices[params.get('notice') ?? '']
  const refused = result !== undefined && 'refused' in result
  return (
    <>
      <h1>Hello, {user.displayName}</h1>
      {notice && (
        <p className={refused ? 'alert' : 'notice'} role={refused ? 'alert' : 'status'}>
          {notice}
        </p>
      )}
      <dl className="facts">
        <dt>Account</dt>
        <dd>{roleNames[user.role]}</dd>
        <dt>E-mail</dt>
        <dd>
          {user.email} {user.emailVerified ? '(confirmed)' : '(not confirmed yet)'}
        </dd>
      </dl>
      <p>
        <Link to={user.role === 'admin' ? '/admin/password' : '/account/password'}>Change your password</Link>
      </p>
      {!user.emailVerified && (
        <Form method="post">
          <CsrfInput />
          <button type="submit" name="intent" value="resend-verification" className="secondary">
            Send the confirmation mail again
          </button>
        </Form>
      )}
      {user.role === 'member' && (
        <>
          <h2>E-mails</h2>
          <Form method="post" className="stack">
            <CsrfInput />
            <label className="inline">
              <input type="checkbox" name="lowBalanceMail" defaultChecked={lowBalanceMail} /> E-mail me when a call’s balance runs
              low (the warning shows in the call’s page either way)
            </label>
            <button type="submit" name="intent" value="low-balance-mail" className="secondary">
              Save
            </button>
          </Form>
          <h2>What next</h2>
          <ul>
            <li>
              <Link to="/wallet">Top up your wallet</Link>
            </li>
            <li>
              <Link to="/">Find an operator</Link>
            </li>
            <li>
              <Link to="/calls">Your calls</Link>
            </li>
          </ul>
        </>
      )}
    </>
  )
}

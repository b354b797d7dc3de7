import { type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node'
import { Link, useLoaderData } from '@remix-run/react'
import { verifyEmail } from '../auth/accounts.server.js'

export const meta: MetaFunction = () => [{ title: 'Confirm your e-mail address · perminute' }]

// Opening the link confirms the address: confirming is harmless to repeat and proves only that the mail arrived.
export async function loader({ request, context }: LoaderFunctionArgs) {
  const token = new URL(request.url).searchParams.get('token') ?? ''
  if (!token) return { ok: false, message: 'This link has no confirmation code. Open the link from the mail again.' }
  const result = await verifyEmail(context, token)
  return result.ok ? { ok: true, message: 'Your e-mail address is confirmed.' } : { ok: false, message: result.message }
}

export default function VerifyEmailPage() {
  const { ok, message } = useLoaderData<typeof loader>()
  return (
    <>
      <h1>{ok ? 'Address confirmed' : 'Could not confirm the address'}</h1>
      <p className={ok ? 'notice' : 'alert'} role="status">
        {message}
      </p>
      <p>
        <Link to="/account">Go to your account</Link>
      </p>
    </>
  )
}

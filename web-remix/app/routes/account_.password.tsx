import { redirect, type ActionFunctionArgs, type HeadersFunction, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node'
import { Link, useActionData } from '@remix-run/react'
import { ChangePasswordForm } from '../auth/change-password-form.js'
import { changePasswordAction } from '../auth/change-password.server.js'
import { requireUser } from '../auth/session.server.js'

export const meta: MetaFunction = () => [{ title: 'Change your password · perminute' }]

// Too many wrong current passwords: the answer says when to come back.
export const headers: HeadersFunction = ({ actionHeaders }) => {
  const retryAfter = actionHeaders.get('Retry-After')
  return retryAfter ? { 'Retry-After': retryAfter } : new Headers()
}

// Admins change theirs inside the admin portal, behind its address check and second factor.
async function requireNonAdmin(request: Request, context: LoaderFunctionArgs['context']) {
  const user = await requireUser(request, context)
  if (user.role === 'admin') throw redirect('/admin/password')
  return user
}

export async function loader({ request, context }: LoaderFunctionArgs) {
  await requireNonAdmin(request, context)
  return null
}

export async function action({ request, context }: ActionFunctionArgs) {
  return changePasswordAction(request, context, await requireNonAdmin(request, context), '/account')
}

export default function ChangePasswordPage() {
  const result = useActionData<typeof action>()
  return (
    <>
      <h1>Change your password</h1>
      <ChangePasswordForm result={result} />
      <p>
        <Link to="/account">Back to your account</Link>
      </p>
    </>
  )
}

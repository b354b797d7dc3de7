import type { ActionFunctionArgs, HeadersFunction, LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { useActionData, useSearchParams } from '@remix-run/react'
import { ChangePasswordForm } from '../auth/change-password-form.js'
import { changePasswordAction } from '../auth/change-password.server.js'
import { requireAdmin } from '../backoffice/admin-access.server.js'
import { AdminNav } from '../backoffice/portal-nav.js'

export const meta: MetaFunction = () => [{ title: 'Your password · Admin · perminute' }]

export const headers: HeadersFunction = ({ actionHeaders }) => {
  const retryAfter = actionHeaders.get('Retry-After')
  return retryAfter ? { 'Retry-After': retryAfter } : new Headers()
}

export async function loader({ request, context }: LoaderFunctionArgs) {
  await requireAdmin(request, context)
  return null
}

export async function action({ request, context }: ActionFunctionArgs) {
  return changePasswordAction(request, context, await requireAdmin(request, context), '/admin/password')
}

export default function AdminPasswordPage() {
  const result = useActionData<typeof action>()
  const [params] = useSearchParams()
  return (
    <>
      <AdminNav />
      <h1>Your password</h1>
      {params.get('notice') === 'password-changed' && (
        <p className="notice" role="status">
          Your password is changed. Your other sessions and plugins are signed out.
        </p>
      )}
      <ChangePasswordForm result={result} />
    </>
  )
}

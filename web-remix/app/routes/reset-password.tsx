import { data, redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node'
import { Form, Link, useActionData, useLoaderData } from '@remix-run/react'
import { resetPassword } from '../auth/accounts.server.js'
import { CsrfInput } from '../auth/csrf-input.js'
import { requireCsrf } from '../auth/csrf.server.js'
import { secret, text } from '../auth/form.server.js'
import { Field, FormError } from '../components/field.js'

export const meta: MetaFunction = () => [{ title: 'Choose a new password · perminute' }]

export async function loader({ request }: LoaderFunctionArgs) {
  return { token: new URL(request.url).searchParams.get('token') ?? '' }
}

export async function action({ request, context }: ActionFunctionArgs) {
  const formData = await request.formData()
  await requireCsrf(request, formData, context)
  const result = await resetPassword(context, text(formData, 'token', 200), secret(formData, 'password'))
  if (!result.ok) return data({ error: result.message, field: result.field ?? null }, { status: result.status })
  return redirect('/login?notice=password-reset')
}

export default function ResetPasswordPage() {
  const { token } = useLoaderData<typeof loader>()
  const result = useActionData<typeof action>()
  if (!token) {
    return (
      <>
        <h1>Choose a new password</h1>
        <p className="alert">This link has no reset code. <Link to="/forgot-password">Ask for a new link</Link>.</p>
      </>
    )
  }
  return (
    <>
      <h1>Choose a new password</h1>
      <FormError message={result && !result.field ? result.error : null} />
      <Form method="post" className="stack">
        <CsrfInput />
        <input type="hidden" name="token" value={token} />
        <Field label="New password" name="password" type="password" autoComplete="new-password" required minLength={8}
          hint="At least 8 characters, and not a common password. Every session and every signed-in plugin will be signed out." error={result?.field === 'password' ? result.error : null} />
        <div>
          <button type="submit">Save the new password</button>
        </div>
      </Form>
    </>
  )
}

import { data, type ActionFunctionArgs, type MetaFunction } from '@remix-run/node'
import { Form, useActionData, useNavigation } from '@remix-run/react'
import { requestPasswordReset } from '../auth/accounts.server.js'
import { CsrfInput } from '../auth/csrf-input.js'
import { requireCsrf } from '../auth/csrf.server.js'
import { text } from '../auth/form.server.js'
import { passOnRetryAfter, retryAfterHeaders } from '../auth/retry-after.js'
import { Field, FormError } from '../components/field.js'

export const meta: MetaFunction = () => [{ title: 'Reset your password · perminute' }]

// Too many requests: the answer says when to come back (Retry-After, in seconds).
export const headers = passOnRetryAfter

export async function action({ request, context }: ActionFunctionArgs) {
  const formData = await request.formData()
  await requireCsrf(request, formData, context)
  const email = text(formData, 'email', 320)
  if (!email) return data({ sent: false, error: 'Enter the e-mail address of your account.' }, { status: 400 })
  const result = await requestPasswordReset(context, email, context.clientAddress ?? 'unknown')
  if (!result.ok) return data({ sent: false, error: result.message }, { status: result.status, headers: retryAfterHeaders(result.retryAfterMs) })
  // The same answer whether or not the address has an account.
  return { sent: true, error: null }
}

export default function ForgotPasswordPage() {
  const result = useActionData<typeof action>()
  const navigation = useNavigation()
  return (
    <>
      <h1>Reset your password</h1>
      {result?.sent ? (
        <p className="notice" role="status">
          If that address has an account, a reset link is on its way. It works for one hour.
        </p>
      ) : (
        <>
          <FormError message={result?.error} />
          <Form method="post" className="stack">
            <CsrfInput />
            <Field label="E-mail address" name="email" type="email" autoComplete="email" required />
            <div>
              <button type="submit" disabled={navigation.state === 'submitting'}>
                Send me a reset link
              </button>
            </div>
          </Form>
        </>
      )}
    </>
  )
}

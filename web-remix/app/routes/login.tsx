import { data, redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node'
import { Form, Link, useActionData, useNavigation, useSearchParams } from '@remix-run/react'
import { logIn } from '../auth/accounts.server.js'
import { CsrfInput } from '../auth/csrf-input.js'
import { requireCsrf } from '../auth/csrf.server.js'
import { secret, text } from '../auth/form.server.js'
import { safeRedirectPath } from '../auth/redirect-target.server.js'
import { passOnRetryAfter, retryAfterHeaders } from '../auth/retry-after.js'
import { getSessionUser, homeFor, startSession } from '../auth/session.server.js'
import { Field, FormError } from '../components/field.js'

// A throttled log-in tells the client when to come back (Retry-After, in seconds).
export const headers = passOnRetryAfter

export const meta: MetaFunction = () => [{ title: 'Log in · perminute' }]

export async function loader({ request, context }: LoaderFunctionArgs) {
  const user = await getSessionUser(request, context)
  if (user) throw redirect(safeRedirectPath(new URL(request.url).searchParams.get('redirectTo'), homeFor(user.role)))
  return null
}

export async function action({ request, context }: ActionFunctionArgs) {
  const formData = await request.formData()
  await requireCsrf(request, formData, context)
  const email = text(formData, 'email', 320)
  const password = secret(formData, 'password')
  if (!email || !password) return data({ error: 'Enter your e-mail address and your password.', email }, { status: 400 })
  const result = await logIn(context, { email, password, clientAddress: context.clientAddress ?? 'unknown' })
  if (!result.ok) return data({ error: result.message, email }, { status: result.status, headers: retryAfterHeaders(result.retryAfterMs) })
  const cookie = await startSession(request, context, result.value.userId, context.clientAddress ?? null)
  const target = safeRedirectPath(formData.get('redirectTo'), homeFor(result.value.role as 'member'))
  return redirect(target, { headers: { 'Set-Cookie': cookie } })
}

const notices: Record<string, string> = {
  'password-reset': 'Your password was changed. Log in with the new one.',
  'logged-out': 'You are logged out.',
}

export default function LoginPage() {
  const result = useActionData<typeof action>()
  const [params] = useSearchParams()
  const navigation = useNavigation()
  const notice = notices[params.get('notice') ?? '']
  return (
    <>
      <h1>Log in</h1>
      {notice && (
        <p className="notice" role="status">
          {notice}
        </p>
      )}
      <FormError message={result?.error} />
      <Form method="post" className="stack">
        <CsrfInput />
        <input type="hidden" name="redirectTo" value={params.get('redirectTo') ?? ''} />
        <Field label="E-mail address" name="email" type="email" autoComplete="email" required defaultValue={result?.email ?? ''} />
        <Field label="Password" name="password" type="password" autoComplete="current-password" required />
        <div>
          <button type="submit" disabled={navigation.state === 'submitting'}>
            {navigation.state === 'submitting' ? 'Logging in…' : 'Log in'}
          </button>
        </div>
      </Form>
      <p>
        <Link to="/forgot-password">Forgot your password?</Link> · No account yet? <Link to="/signup">Sign up</Link>
      </p>
    </>
  )
}

import { data, redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node'
import { Form, Link, useActionData, useNavigation } from '@remix-run/react'
import { signUp } from '../auth/accounts.server.js'
import { CsrfInput } from '../auth/csrf-input.js'
import { requireCsrf } from '../auth/csrf.server.js'
import { secret, text } from '../auth/form.server.js'
import { passOnRetryAfter, retryAfterHeaders } from '../auth/retry-after.js'
import { getSessionUser } from '../auth/session.server.js'
import { Field, FormError } from '../components/field.js'

export const meta: MetaFunction = () => [{ title: 'Sign up · perminute' }]

// Too many sign-ups: the answer says when to come back (Retry-After, in seconds).
export const headers = passOnRetryAfter

export async function loader({ request, context }: LoaderFunctionArgs) {
  if (await getSessionUser(request, context)) throw redirect('/account')
  return null
}

// The answer to a valid sign-up is "check your mail" whether or not the address already has an account (its owner is
// mailed instead), so this page cannot be used to find out who has one. Nobody is signed in by it: the new member
// confirms the address, then logs in.
export async function action({ request, context }: ActionFunctionArgs) {
  const formData = await request.formData()
  await requireCsrf(request, formData, context)
  const role = text(formData, 'role') === 'operator' ? 'operator' : 'member'
  const values = {
    role,
    email: text(formData, 'email', 320),
    displayName: text(formData, 'displayName', 80),
    callingProvider: text(formData, 'callingProvider', 40),
    callingHandle: text(formData, 'callingHandle', 120),
  } as const
  const password = secret(formData, 'password')
  const result = await signUp(context, { ...values, password }, context.clientAddress ?? 'unknown')
  if (!result.ok) {
    return data({ sentTo: null, error: result.message, field: result.field ?? null, values }, { status: result.status, headers: retryAfterHeaders(result.retryAfterMs) })
  }
  return { sentTo: result.value.email, error: null, field: null, values }
}

export default function SignupPage() {
  const result = useActionData<typeof action>()
  const navigation = useNavigation()
  const values = result?.values
  const errorFor = (field: string) => (result?.field === field ? result.error : null)
  if (result?.sentTo) {
    return (
      <>
        <h1>Check your mail</h1>
        <p className="notice" role="status">
          We sent a mail to {result.sentTo}. Open its link to confirm your address, then log in.
        </p>
        <p>
          Nothing arrived after a few minutes? Look in your spam folder, or <Link to="/signup">try again</Link>.
        </p>
        <p>
          <Link to="/login">Log in</Link>
        </p>
      </>
    )
  }
  return (
    <>
      <h1>Create an account</h1>
      <FormError message={result && !result.field ? result.error : null} />
      <Form method="post" className="stack" noValidate={false}>
        <CsrfInput />
        <fieldset>
          <legend>I want to</legend>
          <label>
            <input type="radio" name="role" value="member" defaultChecked={values?.role !== 'operator'} /> call operators (member)
          </label>
          <label>
            <input type="radio" name="role" value="operator" defaultChecked={values?.role === 'operator'} /> take calls and be paid
            (operator)
          </label>
        </fieldset>
        <Field label="Your name as others see it" name="displayName" autoComplete="nickname" required maxLength={80}
          defaultValue={values?.displayName ?? ''} error={errorFor('displayName')} />
        <Field label="E-mail address" name="email" type="email" autoComplete="email" required
          defaultValue={values?.email ?? ''} error={errorFor('email')} />
        <Field label="Password" name="password" type="password" autoComplete="new-password" required minLength={8}
          hint="At least 8 characters, and not a common password: a few unrelated words work well." error={errorFor('password')} />
        <Field label="Calling app (optional)" name="callingProvider" placeholder="discord, sip, …" maxLength={40}
          defaultValue={values?.callingProvider ?? ''} />
        <Field label="Your handle in that app (optional)" name="callingHandle" maxLength={120}
          hint="Operators see your name when you call from this handle." defaultValue={values?.callingHandle ?? ''}
          error={errorFor('callingHandle')} />
        <div>
          <button type="submit" disabled={navigation.state === 'submitting'}>
            {navigation.state === 'submitting' ? 'Creating your account…' : 'Create my account'}
          </button>
        </div>
      </Form>
      <p>
        Already have an account? <Link to="/login">Log in</Link>
      </p>
    </>
  )
}

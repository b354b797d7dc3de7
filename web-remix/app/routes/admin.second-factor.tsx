import { data, redirect, type ActionFunctionArgs, type HeadersFunction, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node'
import { Form, Link, useActionData, useLoaderData, useSearchParams } from '@remix-run/react'
import { recordAuditEntry } from '../../../activities/admin/audit.js'
import { CsrfInput } from '../auth/csrf-input.js'
import { requireCsrf } from '../auth/csrf.server.js'
import { text } from '../auth/form.server.js'
import { safeRedirectPath } from '../auth/redirect-target.server.js'
import { claimSecondFactorAttempt, describeSecondFactorThrottle, markAttemptSucceeded, retryAfterSeconds } from '../auth/throttle.server.js'
import { requireAdminFirstFactor, sessionIdHash, sessionPassedSecondFactor } from '../backoffice/admin-access.server.js'
import { secretBox } from '../../../activities/identity/secret-box.js'
import { hasRecoveryCodesLeft, issueRecoveryCodes, secondFactorOf, totpFor, useRecoveryCode, verifyTotpCode } from '../backoffice/second-factor.server.js'
import { Field, FormError } from '../components/field.js'
import { servicesFrom } from '../plugin-api/services.server.js'

export const meta: MetaFunction = () => [{ title: 'Second factor · Admin · perminute' }]

// Too many wrong codes: the answer says when to come back (Retry-After, in seconds).
export const headers: HeadersFunction = ({ actionHeaders }) => {
  const retryAfter = actionHeaders.get('Retry-After')
  return retryAfter ? { 'Retry-After': retryAfter } : new Headers()
}

export async function loader({ request, context }: LoaderFunctionArgs) {
  const user = await requireAdminFirstFactor(request, context)
  const target = safeRedirectPath(new URL(request.url).searchParams.get('redirectTo'), '/admin')
  // Not a redirect: after the enrolment form's action this loader runs again, and the recovery codes must show.
  if (await sessionPassedSecondFactor(request, context)) return { passed: true, next: target, enrolled: true, secret: null, uri: null }
  const { db, config } = servicesFrom(context)
  const factor = await secondFactorOf(db, secretBox(config.DATA_ENCRYPTION_KEY), user.id)
  const enrolled = factor.enrolledAt !== null
  return {
    passed: false,
    next: target,
    enrolled,
    // Shown only until the first code was accepted: after that the secret never leaves the server.
    secret: enrolled ? null : factor.secret,
    uri: enrolled ? null : totpFor(factor.secret, user.email, config.TOTP_ISSUER).toString(),
  }
}

export async function action({ request, context }: ActionFunctionArgs) {
  const user = await requireAdminFirstFactor(request, context)
  const formData = await request.formData()
  await requireCsrf(request, formData, context)
  const { db, config } = servicesFrom(context)
  const idHash = await sessionIdHash(request, context)
  if (!idHash) throw redirect('/login')
  const box = secretBox(config.DATA_ENCRYPTION_KEY)
  const factor = await secondFactorOf(db, box, user.id)
  const wasEnrolled = factor.enrolledAt !== null
  const code = text(formData, 'code', 20)
  const recovery = text(formData, 'recoveryCode', 40)
  // Claimed before the code is checked: past the limit, not even a right code passes, so guessing gains nothing; and
  // the claim counts this attempt at once, so codes sent together cannot all slip under the limit.
  const attempt = await claimSecondFactorAttempt(db, user.id, context.clientAddress ?? 'unknown')
  if (!attempt.allowed) {
    return data({ error: describeSecondFactorThrottle(attempt), codes: null, next: null }, { status: 429, headers: { 'Retry-After': retryAfterSeconds(attempt) } })
  }
  let passed = false
  let how: 'totp' | 'recovery_code' = 'totp'
  if (recovery && wasEnrolled) {
    passed = await useRecoveryCode(db, box, user.id, recovery)
    how = 'recovery_code'
  } else if (code) {
    passed = await verifyTotpCode(db, box, user.id, code, config.TOTP_ISSUER)
  }
  if (passed) await markAttemptSucceeded(db, attempt.attemptId)
  if (!passed) return data({ error: 'That code is not valid. Enter the current 6-digit code from your authenticator app.', codes: null, next: null }, { status: 400 })
  await db.sessionSecondFactor.createMany({ data: [{ sessionIdHash: idHash }], skipDuplicates: true })
  await recordAuditEntry(db, {
    channel: 'web',
    actorId: user.id,
    action: wasEnrolled ? 'admin.second_factor.pass' : 'admin.second_factor.enrol',
    subject: `user:${user.id}`,
    details: { method: how, clientAddress: context.clientAddress ?? null },
  })
  // At enrolment, and whenever none is left (the last one used, or codes kept before they were keyed), a new set.
  if (!wasEnrolled || !(await hasRecoveryCodesLeft(db, user.id))) {
    return { error: null, codes: await issueRecoveryCodes(db, box, user.id), next: safeRedirectPath(formData.get('redirectTo'), '/admin') }
  }
  throw redirect(safeRedirectPath(formData.get('redirectTo'), '/admin'))
}

export default function SecondFactorPage() {
  const { passed, next, enrolled, secret, uri } = useLoaderData<typeof loader>()
  const result = useActionData<typeof action>()
  const [params] = useSearchParams()
  if (result?.codes) {
    return (
      <>
        <h1>Your recovery codes</h1>
        <p className="notice" role="status">
          Two-step verification is on. Keep these codes somewhere safe: each one lets you in once if you lose your phone.
          They are shown only now, and any earlier codes no longer work.
        </p>
        <ul className="recovery-codes">
          {result.codes.map((c) => (
            <li key={c}>
              <code>{c}</code>
            </li>
          ))}
        </ul>
        <p>
          <Link to={result.next ?? '/admin'}>Continue to the admin portal</Link>
        </p>
      </>
    )
  }
  if (passed) {
    return (
      <>
        <h1>You are verified</h1>
        <p>
          <Link to={next}>Continue to the admin portal</Link>
        </p>
      </>
    )
  }
  return (
    <>
      <h1>{enrolled ? 'Enter your verification code' : 'Set up two-step verification'}</h1>
      <FormError message={result?.error} />
      {!enrolled && (
        <div className="stack">
          <p>Add this account to an authenticator app (scan or paste the key), then enter the code it shows.</p>
          <dl className="facts">
            <dt>Key</dt>
            <dd>
              <code data-testid="totp-secret">{secret}</code>
            </dd>
            <dt>Link</dt>
            <dd className="wrap">
              <code>{uri}</code>
            </dd>
          </dl>
        </div>
      )}
      <Form method="post" className="stack">
        <CsrfInput />
        <input type="hidden" name="redirectTo" value={params.get('redirectTo') ?? ''} />
        <Field label="6-digit code" name="code" inputMode="numeric" autoComplete="one-time-code" pattern="[0-9 ]*" required={!enrolled} />
        {enrolled && <Field label="Or a recovery code" name="recoveryCode" autoComplete="off" />}
        <div>
          <button type="submit">Verify</button>
        </div>
      </Form>
    </>
  )
}

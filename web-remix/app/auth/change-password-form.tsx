import { Form, useNavigation } from '@remix-run/react'
import { Field, FormError } from '../components/field.js'
import { CsrfInput } from './csrf-input.js'

/** The change-password form of every portal: the current password, then the new one. */
export function ChangePasswordForm({ result }: { result: { error: string; field: string | null } | undefined }) {
  const navigation = useNavigation()
  const errorOf = (field: string) => (result?.field === field ? result.error : null)
  return (
    <>
      <FormError message={result && !result.field ? result.error : null} />
      <Form method="post" className="stack">
        <CsrfInput />
        <Field label="Current password" name="currentPassword" type="password" autoComplete="current-password" required error={errorOf('currentPassword')} />
        <Field
          label="New password"
          name="newPassword"
          type="password"
          autoComplete="new-password"
          required
          minLength={8}
          hint="At least 8 characters, and not a common password: a few unrelated words work well."
          error={errorOf('newPassword')}
        />
        <p className="hint">Every other browser session and every signed-in plugin will be signed out; this one stays.</p>
        <div>
          <button type="submit" disabled={navigation.state === 'submitting'}>
            Change the password
          </button>
        </div>
      </Form>
    </>
  )
}

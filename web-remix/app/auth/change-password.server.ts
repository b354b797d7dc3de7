import { data, redirect, type AppLoadContext } from '@remix-run/node'
import { changePassword } from './accounts.server.js'
import { requireCsrf } from './csrf.server.js'
import { secret } from './form.server.js'
import { sessionIdHashOf, type SessionUser } from './session.server.js'

/** The change-password form's action, shared by /account/password and the admin portal's /admin/password. */
export async function changePasswordAction(request: Request, context: AppLoadContext | undefined, user: SessionUser, donePath: string) {
  const formData = await request.formData()
  await requireCsrf(request, formData, context)
  const sessionIdHash = await sessionIdHashOf(request, context)
  if (!sessionIdHash) throw redirect('/login')
  const currentPassword = secret(formData, 'currentPassword')
  const newPassword = secret(formData, 'newPassword')
  if (!currentPassword || !newPassword) {
    return data({ error: 'Enter your current password and the new one.', field: currentPassword ? 'newPassword' : 'currentPassword' }, { status: 400 })
  }
  const result = await changePassword(context, { userId: user.id, sessionIdHash, currentPassword, newPassword, clientAddress: context?.clientAddress ?? 'unknown' })
  if (!result.ok) {
    const headers: HeadersInit = result.status === 429 && result.retryAfterMs ? { 'Retry-After': String(Math.ceil(result.retryAfterMs / 1000)) } : {}
    return data({ error: result.message, field: result.field ?? null }, { status: result.status, headers })
  }
  throw redirect(`${donePath}?notice=password-changed`)
}

import { z } from 'zod'
import { hashPassword, verifyPassword } from '../../../activities/identity/passwords.js'
import { hashToken, newToken } from './auth.server.js'
import { apiError } from './errors.server.js'
import type { PlatformServices } from './services.server.js'
import { text } from './validation.server.js'

/** Signing the plugin in (a bearer token for an active operator) and out. */

export const sessionRequest = z.object({
  login: text(1, 320),
  password: text(1, 1024),
})

export interface SessionCreated {
  token: string
  operator: { id: string; displayName: string; ratePerMinuteCents: number }
}

// An unknown login still costs one argon2 verification, so response times do not tell which e-mails exist.
let decoyHash: Promise<string> | undefined
const decoy = () => (decoyHash ??= hashPassword(newToken()))

export const emailNotVerified = () =>
  apiError(403, 'email_not_verified', 'confirm your e-mail address first: open the link we mailed you (or ask for a new one when you log in on the website)')

const badCredentials = () => apiError(401, 'invalid_credentials', 'the login or the password is wrong')

export async function createSession(services: PlatformServices, request: z.infer<typeof sessionRequest>): Promise<SessionCreated> {
  const user = await services.db.user.findUnique({
    where: { email: request.login.trim().toLowerCase() },
    select: { id: true, role: true, status: true, displayName: true, passwordHash: true, emailVerifiedAt: true, operator: { select: { ratePerMinuteCents: true } } },
  })
  const passwordOk = await verifyPassword(user?.passwordHash ?? (await decoy()), request.password)
  if (!user || !passwordOk) throw badCredentials()
  // Only after the password is proven does the answer say what is wrong with the account.
  if (user.role !== 'operator' || !user.operator) throw apiError(403, 'not_an_operator', 'only operators may sign in to the plugin')
  if (user.status !== 'active') throw apiError(403, 'account_disabled', 'this operator account is disabled')
  // An operator bills members only from a confirmed address (docs/decisions/046).
  if (!user.emailVerifiedAt) throw emailNotVerified()

  const token = newToken()
  await services.db.pluginToken.create({ data: { tokenHash: hashToken(token), userId: user.id } })
  return {
    token,
    operator: { id: user.id, displayName: user.displayName, ratePerMinuteCents: user.operator.ratePerMinuteCents },
  }
}

export async function revokeSession(services: PlatformServices, tokenHash: string): Promise<void> {
  await services.db.pluginToken.updateMany({ where: { tokenHash, revokedAt: null }, data: { revokedAt: new Date() } })
}

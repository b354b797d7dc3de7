import { z } from 'zod'
import { checkCredentials } from '../auth/credentials.server.js'
import { retryAfterSeconds, waitInWords } from '../auth/throttle.server.js'
import { hashToken, newToken } from './auth.server.js'
import { apiError } from './errors.server.js'
import type { PlatformServices } from './services.server.js'
import { text } from './validation.server.js'

/**
 * Signing the plugin in (a bearer token for an active operator) and out. Sign-in shares the portal log-in's throttle
 * and its rules (web-remix/app/auth/credentials.server.ts, docs/decisions/050): an account that is not an operator's
 * is answered exactly like a wrong password, so the plugin never confirms a member's or an admin's password.
 */

export const sessionRequest = z.object({
  login: text(1, 320),
  password: text(1, 1024),
})

export interface SessionCreated {
  token: string
  operator: { id: string; displayName: string; ratePerMinuteCents: number }
}

export async function createSession(
  services: PlatformServices,
  request: z.infer<typeof sessionRequest>,
  clientAddress: string,
): Promise<SessionCreated> {
  const checked = await checkCredentials(services.db, { email: request.login, password: request.password, clientAddress }, { roles: ['operator'] })
  if (checked.outcome === 'throttled') {
    const { refusal } = checked
    const who = refusal.scope === 'account' ? 'for this account' : 'from this network'
    throw apiError(429, 'too_many_attempts', `too many failed sign-ins ${who}; try again in ${waitInWords(refusal)}`, { 'Retry-After': retryAfterSeconds(refusal) })
  }
  if (checked.outcome === 'refused') throw apiError(401, 'invalid_credentials', 'the login or the password is wrong')
  // The password is the operator's own: they are told the account is disabled, as the portal tells them.
  if (!checked.user.active) throw apiError(403, 'account_disabled', 'this operator account is disabled')
  const user = await services.db.user.findUniqueOrThrow({
    where: { id: checked.user.id },
    select: { displayName: true, operator: { select: { ratePerMinuteCents: true } } },
  })
  if (!user.operator) throw apiError(401, 'invalid_credentials', 'the login or the password is wrong')

  const token = newToken()
  await services.db.pluginToken.create({ data: { tokenHash: hashToken(token), userId: checked.user.id } })
  return {
    token,
    operator: { id: checked.user.id, displayName: user.displayName, ratePerMinuteCents: user.operator.ratePerMinuteCents },
  }
}

export async function revokeSession(services: PlatformServices, tokenHash: string): Promise<void> {
  await services.db.pluginToken.updateMany({ where: { tokenHash, revokedAt: null }, data: { revokedAt: new Date() } })
}

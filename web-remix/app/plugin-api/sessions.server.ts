import { randomUUID } from 'node:crypto'
import { z } from 'zod'
import { checkCredentials } from '../auth/credentials.server.js'
import { retryAfterSeconds, waitInWords } from '../auth/throttle.server.js'
import { hashToken, newToken, type AuthenticatedOperator } from './auth.server.js'
import { apiError } from './errors.server.js'
import type { PlatformServices } from './services.server.js'
import { text } from './validation.server.js'

/**
 * Signing the plugin in (a bearer token for an active operator), renewing its token, and signing out. Sign-in shares
 * the portal log-in's throttle and its rules (web-remix/app/auth/credentials.server.ts, docs/decisions/050): an account
 * that is not an operator's is answered exactly like a wrong password, so the plugin never confirms a member's or an
 * admin's password.
 */

export const MAX_DEVICE_NAME_LENGTH = 100

export const sessionRequest = z.object({
  login: text(1, 320),
  password: text(1, 1024),
  // What the operator portal shows the token as; printable text only (no control characters), trimmed.
  deviceName: z
    .string()
    .transform((name) => name.trim())
    .pipe(text(1, MAX_DEVICE_NAME_LENGTH).refine((name) => !/\p{Cc}/u.test(name), 'must not contain control characters'))
    .nullish(),
})

export interface SessionCreated {
  token: string
  expiresAt: string
  expiresInSeconds: number
  operator: { id: string; displayName: string; ratePerMinuteCents: number }
}

export interface SessionRenewed {
  token: string
  expiresAt: string
  expiresInSeconds: number
}

export const emailNotVerified = () =>
  apiError(403, 'email_not_verified', 'confirm your e-mail address first: open the link we mailed you (or ask for a new one when you log in on the website)')

const lifetimeMs = (services: PlatformServices) => Math.round(services.config.PLUGIN_TOKEN_TTL_DAYS * 86_400_000)

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
    select: { displayName: true, emailVerifiedAt: true, operator: { select: { ratePerMinuteCents: true } } },
  })
  if (!user.operator) throw apiError(401, 'invalid_credentials', 'the login or the password is wrong')
  // An operator bills members only from a confirmed address (docs/decisions/046).
  if (!user.emailVerifiedAt) throw emailNotVerified()

  const token = newToken()
  const expiresAt = new Date(Date.now() + lifetimeMs(services))
  await services.db.pluginToken.create({
    data: { tokenHash: hashToken(token), id: randomUUID(), userId: checked.user.id, deviceName: request.deviceName ?? null, expiresAt },
  })
  return {
    token,
    ...expiry(expiresAt),
    operator: { id: checked.user.id, displayName: user.displayName, ratePerMinuteCents: user.operator.ratePerMinuteCents },
  }
}

function expiry(expiresAt: Date): { expiresAt: string; expiresInSeconds: number } {
  return { expiresAt: expiresAt.toISOString(), expiresInSeconds: Math.max(0, Math.floor((expiresAt.getTime() - Date.now()) / 1000)) }
}

/** How long a renewed token's predecessor still works when its successor is never used (a lost answer). */
export const RENEWAL_GRACE_MS = 5 * 60_000

/**
 * A fresh token in place of the one the request carries (docs/api.md, "Renewing the token"). The old token keeps
 * working until the new one is first used, and at most RENEWAL_GRACE_MS, so an answer lost on the way can be asked for
 * again with the old token: the retry issues another token and revokes the unused one it replaces, and at most one
 * successor is ever alive. A token whose successor was already used is revoked (requireOperator) and refused.
 */
export async function renewSession(services: PlatformServices, operator: AuthenticatedOperator): Promise<SessionRenewed> {
  const token = newToken()
  const tokenHash = hashToken(token)
  const expiresAt = new Date(Date.now() + lifetimeMs(services))
  const renewed = await services.db.$transaction(async (tx) => {
    // The row lock makes two renewals with the same token take turns.
    const [current] = await tx.$queryRaw<{ user_id: string; device_name: string | null; replaced_by: string | null; expires_at: Date }[]>`
      SELECT user_id::text, device_name, replaced_by, expires_at FROM plugin_tokens
      WHERE token_hash = ${operator.tokenHash} AND revoked_at IS NULL AND expires_at > now() FOR UPDATE`
    if (!current || current.user_id !== operator.id) return false
    if (current.replaced_by) {
      const revoked = await tx.pluginToken.updateMany({
        where: { tokenHash: current.replaced_by, lastUsedAt: null, revokedAt: null },
        data: { revokedAt: new Date() },
      })
      // Its successor was used meanwhile: this token is retired (its holder is not the plugin that renewed it).
      if (revoked.count === 0) return false
    }
    await tx.pluginToken.create({ data: { tokenHash, id: randomUUID(), userId: operator.id, deviceName: current.device_name, expiresAt } })
    const graceEnd = new Date(Math.min(current.expires_at.getTime(), Date.now() + RENEWAL_GRACE_MS))
    await tx.pluginToken.update({ where: { tokenHash: operator.tokenHash }, data: { replacedBy: tokenHash, expiresAt: graceEnd } })
    return true
  })
  if (!renewed) {
    throw apiError(401, 'unauthorized', 'this token was renewed already and its successor is in use; sign in again', {
      'WWW-Authenticate': 'Bearer realm="plugin"',
    })
  }
  return { token, ...expiry(expiresAt) }
}

export async function revokeSession(services: PlatformServices, tokenHash: string): Promise<void> {
  await services.db.pluginToken.updateMany({ where: { tokenHash, revokedAt: null }, data: { revokedAt: new Date() } })
}

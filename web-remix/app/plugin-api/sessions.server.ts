import { randomUUID } from 'node:crypto'
import { z } from 'zod'
import { hashPassword, verifyPassword } from '../../../activities/identity/passwords.js'
import { hashToken, newToken, type AuthenticatedOperator } from './auth.server.js'
import { apiError } from './errors.server.js'
import type { PlatformServices } from './services.server.js'
import { text } from './validation.server.js'

/** Signing the plugin in (a bearer token for an active operator), renewing its token, and signing out. */

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

// An unknown login still costs one argon2 verification, so response times do not tell which e-mails exist.
let decoyHash: Promise<string> | undefined
const decoy = () => (decoyHash ??= hashPassword(newToken()))

export const emailNotVerified = () =>
  apiError(403, 'email_not_verified', 'confirm your e-mail address first: open the link we mailed you (or ask for a new one when you log in on the website)')

const badCredentials = () => apiError(401, 'invalid_credentials', 'the login or the password is wrong')

const lifetimeMs = (services: PlatformServices) => Math.round(services.config.PLUGIN_TOKEN_TTL_DAYS * 86_400_000)

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
  const expiresAt = new Date(Date.now() + lifetimeMs(services))
  await services.db.pluginToken.create({
    data: { tokenHash: hashToken(token), id: randomUUID(), userId: user.id, deviceName: request.deviceName ?? null, expiresAt },
  })
  return {
    token,
    ...expiry(expiresAt),
    operator: { id: user.id, displayName: user.displayName, ratePerMinuteCents: user.operator.ratePerMinuteCents },
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

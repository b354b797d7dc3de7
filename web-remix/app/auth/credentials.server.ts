import { hashPassword, verifyPassword } from '../../../activities/identity/passwords.js'
import type { Db } from '../../../prisma/client.js'
import type { Role } from './session.server.js'
import { claimLoginAttempt, markAttemptSucceeded, type ThrottleRefusal } from './throttle.server.js'

/**
 * Checking an e-mail address and a password, for every door that takes them (the portal's log-in, the plugin's
 * sign-in), under one throttle (docs/decisions/050-atomic-throttles.md).
 *
 * Every refusal looks the same from outside: an unknown address, a wrong password, and the right password of an
 * account this door is not for (a member at the plugin's) each claim an attempt, spend one argon2id verification
 * (a decoy hash when there is no account) and count as a failure. Only a right password of an account the door is
 * for counts as a success, disabled or not: its owner is told it is disabled, since the password is theirs.
 */

export type CredentialCheck =
  | { outcome: 'throttled'; refusal: ThrottleRefusal }
  | { outcome: 'refused' }
  | { outcome: 'accepted'; user: { id: string; role: Role; active: boolean } }

// Verified against when the address is unknown, so that an unknown address costs the same time as a wrong password.
let decoyHash: Promise<string> | undefined
const decoy = () => (decoyHash ??= hashPassword('a password nobody has, to spend the same time'))

export function normaliseEmail(email: string): string {
  return email.trim().toLowerCase()
}

export async function checkCredentials(
  db: Db,
  input: { email: string; password: string; clientAddress: string },
  door: { roles: readonly Role[] },
): Promise<CredentialCheck> {
  const email = normaliseEmail(input.email)
  const attempt = await claimLoginAttempt(db, email, input.clientAddress)
  if (!attempt.allowed) return { outcome: 'throttled', refusal: attempt }
  const user = await db.user.findUnique({ where: { email }, select: { id: true, role: true, status: true, passwordHash: true } })
  const matches = await verifyPassword(user?.passwordHash ?? (await decoy()), input.password)
  if (!user || !matches || !door.roles.includes(user.role)) return { outcome: 'refused' }
  await markAttemptSucceeded(db, attempt.attemptId)
  return { outcome: 'accepted', user: { id: user.id, role: user.role, active: user.status === 'active' } }
}

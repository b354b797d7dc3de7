import type { Db } from '../../../prisma/client.js'

/**
 * Log-in throttling. Failed attempts are counted per account (since its last successful log-in) and per client
 * address over a sliding window; past the limit, log-in is refused until the oldest counted failure leaves the
 * window, and the message says how long that is. Unknown addresses are counted too, so the answer never tells
 * whether an account exists.
 *
 * Admins' second factor is throttled the same way, in the same table: its attempts are keyed `second-factor:<user id>`
 * (never an e-mail address), so wrong codes count per admin, and towards their address's limit like wrong passwords.
 */

export const THROTTLE_WINDOW_MS = 15 * 60_000
export const MAX_FAILURES_PER_ACCOUNT = 5
export const MAX_FAILURES_PER_ADDRESS = 20

export interface ThrottleVerdict {
  allowed: boolean
  /** When refused: how long until the next attempt is allowed. */
  retryAfterMs: number
  scope: 'account' | 'address' | null
}

export const MAX_SECOND_FACTOR_FAILURES = 5

const secondFactorKey = (userId: string) => `second-factor:${userId}`

// The limit-th most recent failure leaves the window first among those that keep the door shut.
const waitFor = (failures: { createdAt: Date }[], limit: number, now: Date) =>
  failures.length >= limit ? failures[limit - 1]!.createdAt.getTime() + THROTTLE_WINDOW_MS - now.getTime() : 0

/** The latest failures of one key (an account's e-mail, an admin's second factor) since its last success in the window. */
async function failuresOf(db: Db, key: string, limit: number, now: Date): Promise<{ createdAt: Date }[]> {
  const windowStart = new Date(now.getTime() - THROTTLE_WINDOW_MS)
  const lastSuccess = await db.loginAttempt.findFirst({
    where: { email: key, succeeded: true, createdAt: { gt: windowStart } },
    orderBy: { createdAt: 'desc' },
    select: { createdAt: true },
  })
  return db.loginAttempt.findMany({
    where: { email: key, succeeded: false, createdAt: { gt: lastSuccess?.createdAt ?? windowStart } },
    orderBy: { createdAt: 'desc' },
    take: limit,
    select: { createdAt: true },
  })
}

export async function checkLoginThrottle(db: Db, email: string, clientAddress: string, now = new Date()): Promise<ThrottleVerdict> {
  const windowStart = new Date(now.getTime() - THROTTLE_WINDOW_MS)
  const [accountFailures, addressFailures] = await Promise.all([
    failuresOf(db, email, MAX_FAILURES_PER_ACCOUNT, now),
    db.loginAttempt.findMany({
      where: { clientAddress, succeeded: false, createdAt: { gt: windowStart } },
      orderBy: { createdAt: 'desc' },
      take: MAX_FAILURES_PER_ADDRESS,
      select: { createdAt: true },
    }),
  ])
  const accountWait = waitFor(accountFailures, MAX_FAILURES_PER_ACCOUNT, now)
  const addressWait = waitFor(addressFailures, MAX_FAILURES_PER_ADDRESS, now)
  if (accountWait <= 0 && addressWait <= 0) return { allowed: true, retryAfterMs: 0, scope: null }
  return accountWait >= addressWait
    ? { allowed: false, retryAfterMs: accountWait, scope: 'account' }
    : { allowed: false, retryAfterMs: addressWait, scope: 'address' }
}

export async function recordLoginAttempt(db: Db, email: string, clientAddress: string, succeeded: boolean): Promise<void> {
  await db.loginAttempt.create({ data: { email, clientAddress, succeeded } })
}

/** Whether an admin may try a second-factor code now: at most 5 wrong codes (or recovery codes) in 15 minutes. */
export async function checkSecondFactorThrottle(db: Db, userId: string, now = new Date()): Promise<ThrottleVerdict> {
  const wait = waitFor(await failuresOf(db, secondFactorKey(userId), MAX_SECOND_FACTOR_FAILURES, now), MAX_SECOND_FACTOR_FAILURES, now)
  return wait > 0 ? { allowed: false, retryAfterMs: wait, scope: 'account' } : { allowed: true, retryAfterMs: 0, scope: null }
}

export async function recordSecondFactorAttempt(db: Db, userId: string, clientAddress: string, succeeded: boolean): Promise<void> {
  await db.loginAttempt.create({ data: { email: secondFactorKey(userId), clientAddress, succeeded } })
}

export function describeSecondFactorThrottle(verdict: ThrottleVerdict): string {
  const minutes = Math.max(1, Math.ceil(verdict.retryAfterMs / 60_000))
  return `Too many wrong codes. For your account's safety, try again in ${minutes} minute${minutes === 1 ? '' : 's'}.`
}

/** The Retry-After header's value (whole seconds, rounded up) for a refused attempt. */
export const retryAfterSeconds = (verdict: ThrottleVerdict) => String(Math.max(1, Math.ceil(verdict.retryAfterMs / 1000)))

export function describeThrottle(verdict: ThrottleVerdict): string {
  const minutes = Math.max(1, Math.ceil(verdict.retryAfterMs / 60_000))
  const wait = `${minutes} minute${minutes === 1 ? '' : 's'}`
  return verdict.scope === 'account'
    ? `Too many failed log-ins for this account. Try again in ${wait}, or reset your password.`
    : `Too many failed log-ins from your network. Try again in ${wait}.`
}

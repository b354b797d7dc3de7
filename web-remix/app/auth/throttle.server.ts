import type { Db } from '../../../prisma/client.js'

/**
 * Log-in throttling. Failed attempts are counted per account (since its last successful log-in) and per client
 * address over a sliding window; past the limit, log-in is refused until the oldest counted failure leaves the
 * window, and the message says how long that is. Unknown addresses are counted too, so the answer never tells
 * whether an account exists.
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

export async function checkLoginThrottle(db: Db, email: string, clientAddress: string, now = new Date()): Promise<ThrottleVerdict> {
  const windowStart = new Date(now.getTime() - THROTTLE_WINDOW_MS)
  const lastSuccess = await db.loginAttempt.findFirst({
    where: { email, succeeded: true, createdAt: { gt: windowStart } },
    orderBy: { createdAt: 'desc' },
    select: { createdAt: true },
  })
  const accountSince = lastSuccess?.createdAt ?? windowStart
  const [accountFailures, addressFailures] = await Promise.all([
    db.loginAttempt.findMany({
      where: { email, succeeded: false, createdAt: { gt: accountSince } },
      orderBy: { createdAt: 'desc' },
      take: MAX_FAILURES_PER_ACCOUNT,
      select: { createdAt: true },
    }),
    db.loginAttempt.findMany({
      where: { clientAddress, succeeded: false, createdAt: { gt: windowStart } },
      orderBy: { createdAt: 'desc' },
      take: MAX_FAILURES_PER_ADDRESS,
      select: { createdAt: true },
    }),
  ])
  // The limit-th most recent failure leaves the window first among those that keep the door shut.
  const waitFor = (failures: { createdAt: Date }[], limit: number) =>
    failures.length >= limit ? failures[limit - 1]!.createdAt.getTime() + THROTTLE_WINDOW_MS - now.getTime() : 0
  const accountWait = waitFor(accountFailures, MAX_FAILURES_PER_ACCOUNT)
  const addressWait = waitFor(addressFailures, MAX_FAILURES_PER_ADDRESS)
  if (accountWait <= 0 && addressWait <= 0) return { allowed: true, retryAfterMs: 0, scope: null }
  return accountWait >= addressWait
    ? { allowed: false, retryAfterMs: accountWait, scope: 'account' }
    : { allowed: false, retryAfterMs: addressWait, scope: 'address' }
}

export async function recordLoginAttempt(db: Db, email: string, clientAddress: string, succeeded: boolean): Promise<void> {
  await db.loginAttempt.create({ data: { email, clientAddress, succeeded } })
}

export function describeThrottle(verdict: ThrottleVerdict): string {
  const minutes = Math.max(1, Math.ceil(verdict.retryAfterMs / 60_000))
  const wait = `${minutes} minute${minutes === 1 ? '' : 's'}`
  return verdict.scope === 'account'
    ? `Too many failed log-ins for this account. Try again in ${wait}, or reset your password.`
    : `Too many failed log-ins from your network. Try again in ${wait}.`
}

import type { Db } from '../../../prisma/client.js'

/**
 * Throttling of what can be guessed or abused, in PostgreSQL (docs/decisions/007 and 050). Each check is a claim: one
 * function call that takes an advisory lock per key, counts, and records the attempt before anything is verified, so
 * that requests arriving together are counted one after the other and at most the limit get through.
 *
 * Log-in attempts (the portal's form and the plugin's sign-in share them) count failures per account, since its
 * last successful log-in, and per client address, over a sliding window. Unknown addresses are counted too, so the
 * answer never tells whether an account exists. An allowed attempt is written as a failure at once; the caller marks
 * it succeeded when the password was right.
 *
 * Admins' second factor is throttled the same way, in the same table: its attempts are keyed `second-factor:<user id>`
 * (never an e-mail address), so wrong codes count per admin, and towards their address's limit like wrong passwords.
 *
 * Requests that send mail (sign-up, password reset, a new confirmation link) count every request, per client address
 * and per recipient, in `throttle_hits`.
 */

export const THROTTLE_WINDOW_MS = 15 * 60_000
export const MAX_FAILURES_PER_ACCOUNT = 5
export const MAX_FAILURES_PER_ADDRESS = 20
export const MAX_SECOND_FACTOR_FAILURES = 5
/** Sign-ups, reset requests and new confirmation links from one client address, together. */
export const MAX_MAIL_REQUESTS_PER_ADDRESS = 10
/** Mails those forms may send to one address. */
export const MAX_MAILS_PER_RECIPIENT = 3

export interface ThrottleRefusal {
  allowed: false
  /** How long until the next attempt is allowed. */
  retryAfterMs: number
  scope: 'account' | 'address' | 'recipient'
}

export type AttemptClaim = { allowed: true; attemptId: bigint } | ThrottleRefusal

interface LoginClaimAnswer {
  attemptId: string | null
  retryAfterMs: number
  scope: 'account' | 'address' | null
}

const secondFactorKey = (userId: string) => `second-factor:${userId}`

async function claim(db: Db, key: string, clientAddress: string, keyLimit: number, addressLimit: number | null): Promise<AttemptClaim> {
  const [row] = await db.$queryRaw<{ answer: LoginClaimAnswer }[]>`
    SELECT claim_login_attempt(${key}, ${clientAddress}, ${keyLimit}::int, ${addressLimit}::int, ${THROTTLE_WINDOW_MS}::int) AS answer`
  const answer = row!.answer
  if (answer.attemptId !== null) return { allowed: true, attemptId: BigInt(answer.attemptId) }
  return { allowed: false, retryAfterMs: Number(answer.retryAfterMs), scope: answer.scope ?? 'account' }
}

/** Claims a log-in attempt for an account (its normalised e-mail) from an address, or says how long to wait. */
export function claimLoginAttempt(db: Db, email: string, clientAddress: string): Promise<AttemptClaim> {
  return claim(db, email, clientAddress, MAX_FAILURES_PER_ACCOUNT, MAX_FAILURES_PER_ADDRESS)
}

/** Claims a second-factor attempt of an admin: at most 5 wrong codes (or recovery codes) in 15 minutes. */
export function claimSecondFactorAttempt(db: Db, userId: string, clientAddress: string): Promise<AttemptClaim> {
  return claim(db, secondFactorKey(userId), clientAddress, MAX_SECOND_FACTOR_FAILURES, null)
}

/** The claimed attempt proved its secret: it no longer counts as a failure, and the account's count starts again. */
export async function markAttemptSucceeded(db: Db, attemptId: bigint): Promise<void> {
  await db.loginAttempt.update({ where: { id: attemptId }, data: { succeeded: true } })
}

/**
 * Claims a request that sends mail to `recipient` (the e-mail as typed, normalised here), whether or not an account
 * has it, so that the answer says nothing about accounts.
 */
export async function claimMailRequest(db: Db, recipient: string, clientAddress: string): Promise<{ allowed: true } | ThrottleRefusal> {
  const addressBucket = `mail-form-address:${clientAddress}`
  const recipientBucket = `mail-recipient:${recipient.trim().toLowerCase()}`
  const [row] = await db.$queryRaw<{ answer: { retryAfterMs: number; bucket: string | null } }[]>`
    SELECT claim_throttle(
      ARRAY[${addressBucket}, ${recipientBucket}]::text[],
      ARRAY[${MAX_MAIL_REQUESTS_PER_ADDRESS}, ${MAX_MAILS_PER_RECIPIENT}]::int[],
      ${THROTTLE_WINDOW_MS}::int) AS answer`
  const answer = row!.answer
  if (answer.bucket === null) return { allowed: true }
  return { allowed: false, retryAfterMs: Number(answer.retryAfterMs), scope: answer.bucket === addressBucket ? 'address' : 'recipient' }
}

/** The Retry-After header's value (whole seconds, rounded up) for a refused attempt. */
export const retryAfterSeconds = (refusal: ThrottleRefusal) => String(Math.max(1, Math.ceil(refusal.retryAfterMs / 1000)))

/** The wait in words, rounded up to whole minutes: "15 minutes", "1 minute". */
export function waitInWords(refusal: ThrottleRefusal): string {
  const minutes = Math.max(1, Math.ceil(refusal.retryAfterMs / 60_000))
  return `${minutes} minute${minutes === 1 ? '' : 's'}`
}

export function describeThrottle(refusal: ThrottleRefusal): string {
  const wait = waitInWords(refusal)
  return refusal.scope === 'account'
    ? `Too many failed log-ins for this account. Try again in ${wait}, or reset your password.`
    : `Too many failed log-ins from your network. Try again in ${wait}.`
}

export function describeSecondFactorThrottle(refusal: ThrottleRefusal): string {
  return `Too many wrong codes. For your account's safety, try again in ${waitInWords(refusal)}.`
}

export function describeMailThrottle(refusal: ThrottleRefusal): string {
  const wait = waitInWords(refusal)
  return refusal.scope === 'recipient'
    ? `Too many requests for this e-mail address. Try again in ${wait}; meanwhile, look for our mail in your spam folder.`
    : `Too many requests from your network. Try again in ${wait}.`
}

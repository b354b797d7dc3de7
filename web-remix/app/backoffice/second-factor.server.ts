import { randomBytes } from 'node:crypto'
import * as OTPAuth from 'otpauth'
import type { SecretBox } from '../../../activities/identity/secret-box.js'
import type { Db } from '../../../prisma/client.js'

/**
 * Admins' second factor: TOTP (RFC 6238, 6 digits, 30 s, SHA-1 as authenticator apps expect) through otpauth, with
 * ten single-use recovery codes shown once at enrolment. A code is accepted once: the last time step used is stored.
 *
 * At rest (docs/decisions/054-secrets-at-rest.md): the TOTP secret is sealed with AES-256-GCM under
 * DATA_ENCRYPTION_KEY, bound to its admin; a secret stored in clear before that is sealed the first time it is read.
 * Recovery codes are kept as an HMAC keyed from the same key, never as a plain hash.
 */

const PERIOD_S = 30
const RECOVERY_CODES = 10

const totpContext = (userId: string) => `admin-totp-secret:${userId}`
const recoveryContext = (userId: string) => `admin-recovery-code:${userId}`
const normaliseRecoveryCode = (code: string) => code.replace(/[\s-]/g, '').toLowerCase()

export function totpFor(secretBase32: string, label: string, issuer: string): OTPAuth.TOTP {
  return new OTPAuth.TOTP({ issuer, label, algorithm: 'SHA1', digits: 6, period: PERIOD_S, secret: OTPAuth.Secret.fromBase32(secretBase32) })
}

export interface SecondFactor {
  userId: string
  /** The base32 secret, opened. */
  secret: string
  enrolledAt: Date | null
}

/** The admin's secret, opened; a row still in clear is sealed on the way (only if no one changed it meanwhile). */
async function opened(db: Db, box: SecretBox, row: { userId: string; secret: string; enrolledAt: Date | null }): Promise<SecondFactor> {
  if (box.isSealed(row.secret)) return { userId: row.userId, secret: box.open(row.secret, totpContext(row.userId)), enrolledAt: row.enrolledAt }
  await db.adminSecondFactor.updateMany({ where: { userId: row.userId, secret: row.secret }, data: { secret: box.seal(row.secret, totpContext(row.userId)) } })
  return { userId: row.userId, secret: row.secret, enrolledAt: row.enrolledAt }
}

/** The admin's pending or enrolled secret, creating a pending one on first use. */
export async function secondFactorOf(db: Db, box: SecretBox, userId: string): Promise<SecondFactor> {
  const existing = await db.adminSecondFactor.findUnique({ where: { userId } })
  if (existing) return opened(db, box, existing)
  const secret = new OTPAuth.Secret({ size: 20 }).base32
  await db.adminSecondFactor.createMany({ data: [{ userId, secret: box.seal(secret, totpContext(userId)) }], skipDuplicates: true })
  return opened(db, box, await db.adminSecondFactor.findUniqueOrThrow({ where: { userId } }))
}

/**
 * Checks a code (±1 step for clock drift) and spends it: the same code, or an older one, never passes twice.
 * Returns true when it passed; enrols the factor on its first success.
 */
export async function verifyTotpCode(db: Db, box: SecretBox, userId: string, code: string, issuer: string, nowMs = Date.now()): Promise<boolean> {
  const row = await db.adminSecondFactor.findUnique({ where: { userId } })
  const token = code.replace(/\s/g, '')
  if (!row || !/^\d{6}$/.test(token)) return false
  const factor = await opened(db, box, row)
  const delta = totpFor(factor.secret, userId, issuer).validate({ token, timestamp: nowMs, window: 1 })
  if (delta === null) return false
  const step = BigInt(Math.floor(nowMs / 1000 / PERIOD_S) + delta)
  // Conditional on the last step, so two requests with the same code cannot both pass.
  const spent = await db.adminSecondFactor.updateMany({
    where: { userId, OR: [{ lastUsedStep: null }, { lastUsedStep: { lt: step } }] },
    data: { lastUsedStep: step, ...(factor.enrolledAt ? {} : { enrolledAt: new Date(nowMs) }) },
  })
  return spent.count === 1
}

/** New recovery codes (replacing any earlier ones): returned once, stored as their HMAC. */
export async function issueRecoveryCodes(db: Db, box: SecretBox, userId: string): Promise<string[]> {
  const codes = Array.from({ length: RECOVERY_CODES }, () => {
    const raw = randomBytes(5).toString('hex')
    return `${raw.slice(0, 5)}-${raw.slice(5)}`
  })
  await db.$transaction([
    db.adminRecoveryCode.deleteMany({ where: { userId } }),
    db.adminRecoveryCode.createMany({ data: codes.map((code) => ({ codeHash: box.digest(normaliseRecoveryCode(code), recoveryContext(userId)), userId })) }),
  ])
  return codes
}

/** Whether the admin has a recovery code left (none after using the last, or after the move to keyed digests). */
export async function hasRecoveryCodesLeft(db: Db, userId: string): Promise<boolean> {
  return (await db.adminRecoveryCode.count({ where: { userId, usedAt: null } })) > 0
}

/** Spends a recovery code; true when it was valid and unused. */
export async function useRecoveryCode(db: Db, box: SecretBox, userId: string, code: string): Promise<boolean> {
  const codeHash = box.digest(normaliseRecoveryCode(code), recoveryContext(userId))
  const spent = await db.adminRecoveryCode.updateMany({ where: { codeHash, userId, usedAt: null }, data: { usedAt: new Date() } })
  return spent.count === 1
}

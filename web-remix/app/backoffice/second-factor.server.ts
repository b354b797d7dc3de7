import { createHash, randomBytes } from 'node:crypto'
import * as OTPAuth from 'otpauth'
import type { Db } from '../../../prisma/client.js'

/**
 * Admins' second factor: TOTP (RFC 6238, 6 digits, 30 s, SHA-1 as authenticator apps expect) through otpauth, with
 * ten single-use recovery codes shown once at enrolment. A code is accepted once: the last time step used is stored.
 */

const PERIOD_S = 30
const RECOVERY_CODES = 10

const hashCode = (code: string) => createHash('sha256').update(code.replace(/[\s-]/g, '').toLowerCase()).digest('hex')

export function totpFor(secretBase32: string, label: string, issuer: string): OTPAuth.TOTP {
  return new OTPAuth.TOTP({ issuer, label, algorithm: 'SHA1', digits: 6, period: PERIOD_S, secret: OTPAuth.Secret.fromBase32(secretBase32) })
}

/** The admin's pending or enrolled secret, creating a pending one on first use. */
export async function secondFactorOf(db: Db, userId: string) {
  const existing = await db.adminSecondFactor.findUnique({ where: { userId } })
  if (existing) return existing
  const secret = new OTPAuth.Secret({ size: 20 }).base32
  await db.adminSecondFactor.createMany({ data: [{ userId, secret }], skipDuplicates: true })
  return db.adminSecondFactor.findUniqueOrThrow({ where: { userId } })
}

/**
 * Checks a code (±1 step for clock drift) and spends it: the same code, or an older one, never passes twice.
 * Returns true when it passed; enrols the factor on its first success.
 */
export async function verifyTotpCode(db: Db, userId: string, code: string, issuer: string, nowMs = Date.now()): Promise<boolean> {
  const factor = await db.adminSecondFactor.findUnique({ where: { userId } })
  const token = code.replace(/\s/g, '')
  if (!factor || !/^\d{6}$/.test(token)) return false
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

/** New recovery codes (replacing any earlier ones): returned once, stored hashed. */
export async function issueRecoveryCodes(db: Db, userId: string): Promise<string[]> {
  const codes = Array.from({ length: RECOVERY_CODES }, () => {
    const raw = randomBytes(5).toString('hex')
    return `${raw.slice(0, 5)}-${raw.slice(5)}`
  })
  await db.$transaction([
    db.adminRecoveryCode.deleteMany({ where: { userId } }),
    db.adminRecoveryCode.createMany({ data: codes.map((code) => ({ codeHash: hashCode(code), userId })) }),
  ])
  return codes
}

/** Spends a recovery code; true when it was valid and unused. */
export async function useRecoveryCode(db: Db, userId: string, code: string): Promise<boolean> {
  const spent = await db.adminRecoveryCode.updateMany({ where: { codeHash: hashCode(code), userId, usedAt: null }, data: { usedAt: new Date() } })
  return spent.count === 1
}

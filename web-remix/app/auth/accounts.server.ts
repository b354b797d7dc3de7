import type { AppLoadContext } from '@remix-run/node'
import { createUser, EmailTakenError, UserInputError, validateNewUser, type NewUser } from '../../../activities/identity/users.js'
import { passwordProblem } from '../../../activities/identity/password-policy.js'
import { hashPassword } from '../../../activities/identity/passwords.js'
import { enqueueMail } from '../../../activities/mail/outbox.js'
import { passwordChangedMail, passwordResetMail, signUpWithExistingAddressMail, verifyEmailMail } from '../../../activities/mail/templates.js'
import type { Tx } from '../../../activities/ledger/tx.js'
import { servicesFrom } from '../plugin-api/services.server.js'
import { checkCredentials, normaliseEmail } from './credentials.server.js'
import { claimMailRequest, describeMailThrottle, describeThrottle, type ThrottleRefusal } from './throttle.server.js'
import { hashSecret, newSecret } from './tokens.server.js'

/** Sign-up, log-in, e-mail verification and password reset: what the account pages do, apart from the page. */

const VERIFY_TTL_MS = 24 * 60 * 60_000
const RESET_TTL_MS = 60 * 60_000
// The price a new operator starts with, until they set their own in the profile editor.
export const STARTING_OPERATOR_RATE_CENTS = 100

export type AccountResult<T> =
  | { ok: true; value: T }
  | { ok: false; status: number; message: string; field?: string; retryAfterMs?: number }

const throttled = (refusal: ThrottleRefusal, message: string) =>
  ({ ok: false, status: 429, message, retryAfterMs: refusal.retryAfterMs }) as const

async function issueToken(tx: Tx, userId: string, purpose: 'verify_email' | 'reset_password', ttlMs: number): Promise<string> {
  const token = newSecret()
  await tx.authToken.create({
    data: { tokenHash: hashSecret(token), userId, purpose, expiresAt: new Date(Date.now() + ttlMs) },
  })
  return token
}

function inputError(error: UserInputError): { ok: false; status: number; message: string; field: string } {
  const field = /e-mail|account/.test(error.message) ? 'email' : /password/.test(error.message) ? 'password' : /handle/.test(error.message) ? 'callingHandle' : 'displayName'
  return { ok: false, status: 400, message: capitalise(error.message), field }
}

/**
 * Signs up, or mails the owner when the address already has an account. The answer is the same either way ("check
 * your mail"), after the same work (the argon2id hash is made before the address is looked up), so the page never
 * tells whether an address has an account. Counted per client address and per address mailed.
 */
export async function signUp(
  context: AppLoadContext | undefined,
  input: { role: 'member' | 'operator'; email: string; password: string; displayName: string; callingProvider?: string; callingHandle?: string },
  clientAddress: string,
): Promise<AccountResult<{ email: string }>> {
  const { db, config } = servicesFrom(context)
  const newUser: NewUser = {
    role: input.role,
    email: input.email,
    password: input.password,
    displayName: input.displayName,
    callingProvider: input.callingHandle ? input.callingProvider || 'other' : null,
    callingHandle: input.callingHandle || null,
    ...(input.role === 'operator' ? { ratePerMinuteCents: STARTING_OPERATOR_RATE_CENTS } : {}),
  }
  try {
    validateNewUser(newUser)
  } catch (error) {
    if (error instanceof UserInputError) return inputError(error)
    throw error
  }
  const email = normaliseEmail(input.email)
  const claim = await claimMailRequest(db, email, clientAddress)
  if (!claim.allowed) return throttled(claim, describeMailThrottle(claim))
  try {
    await createUser(db, newUser, async (tx, created) => {
      const token = await issueToken(tx, created.id, 'verify_email', VERIFY_TTL_MS)
      await enqueueMail(tx, { to: created.email, ...verifyEmailMail(created.displayName, `${config.PUBLIC_URL}/verify-email?token=${token}`) })
    })
  } catch (error) {
    if (error instanceof EmailTakenError) {
      const owner = await db.user.findUnique({ where: { email }, select: { displayName: true } })
      if (owner) {
        await db.$transaction((tx) =>
          enqueueMail(tx, { to: email, ...signUpWithExistingAddressMail(owner.displayName, `${config.PUBLIC_URL}/login`, `${config.PUBLIC_URL}/forgot-password`) }),
        )
      }
      return { ok: true, value: { email } }
    }
    if (error instanceof UserInputError) return inputError(error)
    throw error
  }
  return { ok: true, value: { email } }
}

export async function logIn(
  context: AppLoadContext | undefined,
  input: { email: string; password: string; clientAddress: string },
): Promise<AccountResult<{ userId: string; role: string }>> {
  const { db } = servicesFrom(context)
  const checked = await checkCredentials(db, input, { roles: ['member', 'operator', 'company', 'admin'] })
  if (checked.outcome === 'throttled') return throttled(checked.refusal, describeThrottle(checked.refusal))
  if (checked.outcome === 'refused') return { ok: false, status: 401, message: 'Wrong e-mail address or password.' }
  if (!checked.user.active) return { ok: false, status: 403, message: 'This account is disabled. Contact support if you think this is a mistake.' }
  return { ok: true, value: { userId: checked.user.id, role: checked.user.role } }
}

/** A new confirmation link, counted like every request that sends mail (per client address and per address mailed). */
export async function sendVerificationMail(context: AppLoadContext | undefined, userId: string, clientAddress: string): Promise<AccountResult<null>> {
  const { db, config } = servicesFrom(context)
  const { email } = await db.user.findUniqueOrThrow({ where: { id: userId }, select: { email: true } })
  const claim = await claimMailRequest(db, email, clientAddress)
  if (!claim.allowed) return throttled(claim, describeMailThrottle(claim))
  await db.$transaction(async (tx) => {
    const user = await tx.user.findUniqueOrThrow({ where: { id: userId }, select: { email: true, displayName: true, emailVerifiedAt: true } })
    if (user.emailVerifiedAt) return
    const token = await issueToken(tx, userId, 'verify_email', VERIFY_TTL_MS)
    await enqueueMail(tx, { to: user.email, ...verifyEmailMail(user.displayName, `${config.PUBLIC_URL}/verify-email?token=${token}`) })
  })
  return { ok: true, value: null }
}

/** Spends a one-time token: returns its user when it is valid, unused and unexpired, marking it used. */
async function spendToken(tx: Tx, token: string, purpose: 'verify_email' | 'reset_password'): Promise<string | null> {
  const spent = await tx.authToken.updateMany({
    where: { tokenHash: hashSecret(token), purpose, usedAt: null, expiresAt: { gt: new Date() } },
    data: { usedAt: new Date() },
  })
  if (spent.count !== 1) return null
  const row = await tx.authToken.findUniqueOrThrow({ where: { tokenHash: hashSecret(token) }, select: { userId: true } })
  return row.userId
}

export async function verifyEmail(context: AppLoadContext | undefined, token: string): Promise<AccountResult<{ userId: string }>> {
  const { db } = servicesFrom(context)
  return db.$transaction(async (tx) => {
    const userId = await spendToken(tx, token, 'verify_email')
    if (!userId) {
      return { ok: false as const, status: 400, message: 'This confirmation link is invalid, used or expired. Sign in to get a new one.' }
    }
    await tx.user.update({ where: { id: userId }, data: { emailVerifiedAt: new Date() } })
    return { ok: true as const, value: { userId } }
  })
}

/**
 * Sends a reset link when the address has an account; says nothing either way (the page's answer is always the same,
 * and the request is counted, per client address and per address, whether or not it has an account).
 */
export async function requestPasswordReset(context: AppLoadContext | undefined, emailInput: string, clientAddress: string): Promise<AccountResult<null>> {
  const { db, config } = servicesFrom(context)
  const email = normaliseEmail(emailInput)
  const claim = await claimMailRequest(db, email, clientAddress)
  if (!claim.allowed) return throttled(claim, describeMailThrottle(claim))
  await db.$transaction(async (tx) => {
    const user = await tx.user.findUnique({ where: { email }, select: { id: true, displayName: true, status: true } })
    if (!user || user.status !== 'active') return
    const token = await issueToken(tx, user.id, 'reset_password', RESET_TTL_MS)
    await enqueueMail(tx, { to: email, ...passwordResetMail(user.displayName, `${config.PUBLIC_URL}/reset-password?token=${token}`) })
  })
  return { ok: true, value: null }
}

export async function resetPassword(
  context: AppLoadContext | undefined,
  token: string,
  password: string,
): Promise<AccountResult<{ userId: string }>> {
  const { db, config } = servicesFrom(context)
  const invalidLink = { ok: false as const, status: 400, message: 'This reset link is invalid, used or expired. Ask for a new one.' }
  // The rule needs the account's own words (its address, its name), so the link's user is looked at first; the link
  // is spent only in the transaction below.
  const holder = await db.authToken.findFirst({
    where: { tokenHash: hashSecret(token), purpose: 'reset_password', usedAt: null, expiresAt: { gt: new Date() } },
    select: { user: { select: { email: true, displayName: true } } },
  })
  if (!holder) return invalidLink
  const weak = passwordProblem(password, [holder.user.email, holder.user.displayName])
  if (weak) return { ok: false, status: 400, message: capitalise(weak), field: 'password' }
  const passwordHash = await hashPassword(password)
  return db.$transaction(async (tx) => {
    const userId = await spendToken(tx, token, 'reset_password')
    if (!userId) return invalidLink
    // Receiving the link proves the address too.
    const user = await tx.user.update({
      where: { id: userId },
      data: { passwordHash, emailVerifiedAt: new Date() },
      select: { email: true, displayName: true, emailVerifiedAt: true },
    })
    // A new password signs out every browser session and every plugin, and the other reset links die with the old one.
    await revokeCredentials(tx, userId, { keepSessionIdHash: null })
    await enqueueMail(tx, { to: user.email, ...passwordChangedMail(user.displayName, `${config.PUBLIC_URL}/forgot-password`) })
    return { ok: true as const, value: { userId } }
  })
}

/**
 * Everything a password opened, closed: the user's browser sessions (all but `keepSessionIdHash`, the one making the
 * change), every plugin token, and the reset links still unused.
 */
async function revokeCredentials(tx: Tx, userId: string, options: { keepSessionIdHash: string | null }): Promise<void> {
  await tx.webSession.deleteMany({ where: { userId, ...(options.keepSessionIdHash ? { idHash: { not: options.keepSessionIdHash } } : {}) } })
  await tx.pluginToken.updateMany({ where: { userId, revokedAt: null }, data: { revokedAt: new Date() } })
  await tx.authToken.updateMany({ where: { userId, purpose: 'reset_password', usedAt: null }, data: { usedAt: new Date() } })
}

/**
 * A signed-in user changes their password: the current one is required (wrong ones count towards the log-in throttle
 * of the account and of the address, as failed log-ins do), the new one meets the password rule. On success every
 * other session and every plugin token is revoked, this session stays, and a notice is mailed.
 */
export async function changePassword(
  context: AppLoadContext | undefined,
  input: { userId: string; sessionIdHash: string; currentPassword: string; newPassword: string; clientAddress: string },
): Promise<AccountResult<{ userId: string }>> {
  const { db, config } = servicesFrom(context)
  const user = await db.user.findUniqueOrThrow({ where: { id: input.userId }, select: { email: true, displayName: true, passwordHash: true } })
  // The same throttle and check as every password door (docs/decisions/050): a wrong current password is a failed log-in.
  const checked = await checkCredentials(
    db,
    { email: user.email, password: input.currentPassword, clientAddress: input.clientAddress },
    { roles: ['member', 'operator', 'company', 'admin'] },
  )
  if (checked.outcome === 'throttled') return throttled(checked.refusal, describeThrottle(checked.refusal))
  if (checked.outcome === 'refused') {
    return { ok: false, status: 400, message: 'Your current password is not right.', field: 'currentPassword' }
  }
  if (input.newPassword === input.currentPassword) {
    return { ok: false, status: 400, message: 'The new password must differ from the current one.', field: 'newPassword' }
  }
  const weak = passwordProblem(input.newPassword, [user.email, user.displayName])
  if (weak) return { ok: false, status: 400, message: capitalise(weak), field: 'newPassword' }
  const passwordHash = await hashPassword(input.newPassword)
  await db.$transaction(async (tx) => {
    // Conditional on the hash just checked: two changes at once cannot both pass on the same current password.
    const changed = await tx.user.updateMany({ where: { id: input.userId, passwordHash: user.passwordHash }, data: { passwordHash } })
    if (changed.count !== 1) throw new Response('Your password was changed meanwhile. Reload the page.', { status: 409 })
    await revokeCredentials(tx, input.userId, { keepSessionIdHash: input.sessionIdHash })
    await enqueueMail(tx, { to: user.email, ...passwordChangedMail(user.displayName, `${config.PUBLIC_URL}/forgot-password`) })
  })
  return { ok: true, value: { userId: input.userId } }
}

function capitalise(text: string): string {
  const sentence = text.charAt(0).toUpperCase() + text.slice(1)
  return /[.!?]$/.test(sentence) ? sentence : `${sentence}.`
}

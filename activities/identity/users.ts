import { randomUUID } from 'node:crypto'
import type { Db } from '../../prisma/client.js'
import { accountIds, openAccount, openPlatformAccounts } from '../ledger/accounts.js'
import type { Tx } from '../ledger/tx.js'
import { passwordProblem } from './password-policy.js'
import { hashPassword } from './passwords.js'

/** Creating users of every role, with the ledger accounts each role owns. */

export type Role = 'member' | 'operator' | 'company' | 'admin'

export interface NewUser {
  role: Role
  email: string
  password: string
  displayName: string
  /** Members: the handle they call from. Operators: the calling account they take calls on. */
  callingProvider?: string | null
  callingHandle?: string | null
  /** Operators only. */
  ratePerMinuteCents?: number
  companyId?: string | null
  headline?: string
  tags?: string[]
  /** Companies only: the company's name and agreed share of its operators' earnings. */
  companyName?: string
  companyShareBps?: number
  id?: string
  /** The address is known to be the user's (created by an admin, or the demo): no confirmation mail is needed. */
  emailVerified?: boolean
}

export class UserInputError extends Error {
  override name = 'UserInputError'
}

/**
 * The e-mail address already has an account: a UserInputError like the others for the admin command, but one that a
 * sign-up must not show (web-remix/app/auth/accounts.server.ts mails the owner instead).
 */
export class EmailTakenError extends UserInputError {}

export interface CreatedUser {
  id: string
  email: string
  role: Role
  displayName: string
  companyId: string | null
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/

/** What createUser refuses before it looks at the database: the same for every address, taken or not. */
export function validateNewUser(user: NewUser): void {
  if (!EMAIL.test(user.email)) throw new UserInputError(`"${user.email}" is not an e-mail address`)
  const weak = passwordProblem(user.password, [user.email, user.displayName])
  if (weak) throw new UserInputError(weak)
  if (!user.displayName.trim()) throw new UserInputError('a display name is required')
  if (user.role === 'operator') {
    const rate = user.ratePerMinuteCents
    if (rate === undefined || !Number.isSafeInteger(rate) || rate <= 0) {
      throw new UserInputError('an operator needs a price per minute: a positive whole number of cents')
    }
  }
  if (user.role === 'company') {
    const share = user.companyShareBps
    if (share === undefined || !Number.isInteger(share) || share < 0 || share > 10_000) {
      throw new UserInputError('a company needs its share in basis points, 0 to 10000')
    }
  }
}

/** Opens the ledger accounts a user of this role owns. Idempotent. */
export async function openAccountsFor(tx: Tx, role: Role, userId: string, companyId: string | null): Promise<void> {
  await openPlatformAccounts(tx)
  if (role === 'member') await openAccount(tx, accountIds.memberWallet(userId), 'member_wallet', userId)
  if (role === 'operator') await openAccount(tx, accountIds.operatorEarnings(userId), 'operator_earnings', userId)
  if (role === 'company' && companyId) await openAccount(tx, accountIds.companyEarnings(companyId), 'company_earnings', companyId)
}

/**
 * Creates the user and the ledger accounts of its role in one transaction. `inTransaction` runs inside it, after the
 * user exists (the sign-up's verification mail is enqueued there, so there is never a user without it or a mail
 * without the user).
 */
export async function createUser(
  db: Db,
  user: NewUser,
  inTransaction?: (tx: Tx, created: CreatedUser) => Promise<void>,
): Promise<CreatedUser> {
  validateNewUser(user)
  const email = user.email.trim().toLowerCase()
  const passwordHash = await hashPassword(user.password)
  const id = user.id ?? randomUUID()
  return db.$transaction(async (tx) => {
    const taken = await tx.user.findMany({
      where: { OR: [{ email }, ...(user.callingHandle ? [{ callingHandle: user.callingHandle }] : [])] },
      select: { email: true, callingHandle: true },
      take: 2,
    })
    // The handle first: whether it is taken must not depend on whether the e-mail address is.
    if (user.callingHandle && taken.some((row) => row.callingHandle === user.callingHandle)) {
      throw new UserInputError(`the handle ${user.callingHandle} is taken`)
    }
    if (taken.some((row) => row.email === email)) throw new EmailTakenError(`${email} already has an account`)
    await tx.user.create({
      data: {
        id,
        email,
        passwordHash,
        role: user.role,
        displayName: user.displayName.trim(),
        callingProvider: user.callingProvider ?? null,
        callingHandle: user.callingHandle ?? null,
        emailVerifiedAt: user.emailVerified ? new Date() : null,
      },
    })
    let companyId: string | null = null
    if (user.role === 'company') {
      companyId = randomUUID()
      await tx.company.create({
        data: { id: companyId, name: user.companyName?.trim() || user.displayName.trim(), ownerUserId: id, shareBps: user.companyShareBps! },
      })
    }
    if (user.role === 'operator') {
      companyId = user.companyId ?? null
      await tx.operator.create({
        data: {
          userId: id,
          companyId,
          ratePerMinuteCents: user.ratePerMinuteCents!,
          headline: user.headline ?? '',
          tags: user.tags ?? [],
        },
      })
    }
    await openAccountsFor(tx, user.role, id, companyId)
    const created: CreatedUser = { id, email, role: user.role, displayName: user.displayName.trim(), companyId }
    if (inTransaction) await inTransaction(tx, created)
    return created
  })
}

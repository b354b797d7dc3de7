import { randomUUID } from 'node:crypto'
import { createUser, type CreatedUser } from '../../activities/identity/users.js'
import { creditMemberWallet } from '../../activities/wallets.js'
import { createDb, type Db } from '../../prisma/client.js'

/** The test database the global setup created and migrated (never the demo database). */
export function testDatabaseUrl(): string {
  const url = process.env.DATABASE_URL
  if (!url) throw new Error('DATABASE_URL is not set: run the tests through vitest, whose global setup creates the test database')
  return url
}

export function connectTestDb(): Db {
  return createDb(testDatabaseUrl(), { maxConnections: 40 })
}

const unique = () => randomUUID().slice(0, 8)

export async function createMember(db: Db, options: { fundedCents?: number; handle?: string } = {}): Promise<CreatedUser> {
  const tag = unique()
  const member = await createUser(db, {
    role: 'member',
    email: `member-${tag}@example.test`,
    password: 'correct-horse',
    displayName: `Member ${tag}`,
    callingProvider: 'discord',
    callingHandle: options.handle ?? `member-${tag}`,
  })
  if (options.fundedCents) await fundMember(db, member.id, options.fundedCents)
  return member
}

export async function fundMember(db: Db, memberId: string, amountCents: number): Promise<void> {
  await creditMemberWallet(db, {
    transferId: `test-credit:${randomUUID()}`,
    memberId,
    amountCents,
    source: 'adjustments',
    code: 'wallet_adjustment',
  })
}

export async function createOperator(db: Db, options: { ratePerMinuteCents?: number; companyId?: string } = {}): Promise<CreatedUser> {
  const tag = unique()
  return createUser(db, {
    role: 'operator',
    emailVerified: true,
    email: `operator-${tag}@example.test`,
    password: 'correct-horse',
    displayName: `Operator ${tag}`,
    ratePerMinuteCents: options.ratePerMinuteCents ?? 100,
    companyId: options.companyId ?? null,
  })
}

export async function createCompany(db: Db, shareBps: number): Promise<CreatedUser> {
  const tag = unique()
  return createUser(db, {
    role: 'company',
    email: `company-${tag}@example.test`,
    password: 'correct-horse',
    displayName: `Company ${tag}`,
    companyShareBps: shareBps,
  })
}

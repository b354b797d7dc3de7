import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { verifyPassword } from '../../activities/identity/passwords.js'
import { checkLedger } from '../../activities/ledger/check.js'
import { accountIds } from '../../activities/ledger/accounts.js'
import { walletBalance } from '../../activities/ledger/balances.js'
import type { Db } from '../../prisma/client.js'
import { DEMO_PASSWORD, DEMO_USERS, seedDemoData, seedWalletTransferId } from '../../prisma/seed.js'
import { runScript, STACK_FRAME } from '../activities/admin/run-cli.js'
import { createScratchDatabase } from '../support/scratch-database.js'
import { connectTestDb, testDatabaseUrl } from '../support/db.js'

const TIMEOUT = 120_000
const DEMO_EMAILS = DEMO_USERS.map((user) => user.email)

let db: Db
beforeAll(() => {
  db = connectTestDb()
})
afterAll(async () => {
  await db.$disconnect()
})

/**
 * Everything the seed owns, read back from the database. Scoped to the demo users and the seed's transfers,
 * because other test files write to the same database at the same time.
 */
async function demoState() {
  const users = await db.user.findMany({
    where: { email: { in: DEMO_EMAILS } },
    include: { operator: true, ownedCompany: true },
    orderBy: { email: 'asc' },
  })
  const ownerIds = [
    ...users.map((user) => user.id),
    ...users.flatMap((user) => (user.ownedCompany ? [user.ownedCompany.id] : [])),
  ]
  const accounts = await db.account.findMany({ where: { ownerId: { in: ownerIds } }, orderBy: { id: 'asc' } })
  const transfers = await db.transfer.findMany({ where: { id: { startsWith: 'seed:' } }, orderBy: { id: 'asc' } })
  const companies = await db.company.count({ where: { ownerUserId: { in: users.map((user) => user.id) } } })
  return {
    users: users.map(({ id, email, role, callingHandle, operator, ownedCompany }) => ({
      id,
      email,
      role,
      callingHandle,
      operator: operator && { rate: operator.ratePerMinuteCents, companyId: operator.companyId },
      company: ownedCompany && { id: ownedCompany.id, shareBps: ownedCompany.shareBps },
    })),
    accounts: accounts.map((account) => ({
      id: account.id,
      debitsPosted: account.debitsPosted,
      creditsPosted: account.creditsPosted,
      debitsPending: account.debitsPending,
    })),
    transfers: transfers.map((transfer) => ({ id: transfer.id, amount: transfer.amount, status: transfer.status })),
    companies,
  }
}

describe('demo data (prisma/seed.ts)', () => {
  it(
    'seeds the demo once: a second run creates and credits nothing, and the ledger stays sound',
    { timeout: TIMEOUT },
    async () => {
      await seedDemoData(db)
      const afterFirst = await demoState()
      const second = await seedDemoData(db)
      const afterSecond = await demoState()

      expect(second.createdUsers).toBe(0)
      expect(second.creditedCents).toBe(0)
      expect(afterSecond).toEqual(afterFirst)
      expect((await checkLedger(db)).violations).toEqual([])

      // What the demo needs: one admin, a company with two operators, two independents, three funded members.
      const users = afterSecond.users
      expect(users).toHaveLength(9)
      const count = (role: string) => users.filter((user) => user.role === role).length
      expect({
        admin: count('admin'),
        company: count('company'),
        operator: count('operator'),
        member: count('member'),
      }).toEqual({
        admin: 1,
        company: 1,
        operator: 4,
        member: 3,
      })
      const company = users.find((user) => user.role === 'company')!.company!
      expect(company.shareBps).toBe(1500)
      const operators = users.filter((user) => user.role === 'operator')
      expect(operators.filter((operator) => operator.operator!.companyId === company.id)).toHaveLength(2)
      expect(operators.filter((operator) => operator.operator!.companyId === null)).toHaveLength(2)
      for (const operator of operators) {
        expect(operator.operator!.rate).toBeGreaterThanOrEqual(99)
        expect(operator.operator!.rate).toBeLessThanOrEqual(499)
      }
      expect(new Set(operators.map((operator) => operator.operator!.rate)).size).toBe(4)
      const operatorProfiles = await db.operator.findMany({
        where: { userId: { in: operators.map((operator) => operator.id) } },
      })
      for (const profile of operatorProfiles) {
        expect(profile.headline).not.toBe('')
        expect(profile.tags.length).toBeGreaterThan(0)
      }

      const members = users.filter((user) => user.role === 'member')
      for (const member of members) expect(member.callingHandle).toBeTruthy()
      // Each wallet was funded exactly once, one of them nearly empty for the low-balance demo.
      const funding = Object.fromEntries(afterSecond.transfers.map((transfer) => [transfer.id, transfer.amount]))
      expect(members.map((member) => funding[seedWalletTransferId(member.email)])).toEqual([5000n, 2000n, 200n])
      for (const member of members) {
        expect(afterSecond.accounts.find((account) => account.id === accountIds.memberWallet(member.id))).toBeDefined()
        expect((await walletBalance(db, member.id))!.availableCents).toBeLessThanOrEqual(5000)
      }

      // The printed password opens every demo account.
      const hashes = await db.user.findMany({ where: { email: { in: DEMO_EMAILS } }, select: { passwordHash: true } })
      for (const { passwordHash } of hashes) expect(await verifyPassword(passwordHash, DEMO_PASSWORD)).toBe(true)
    },
  )

  it('runs as a script, printing the demo logins and their password', { timeout: TIMEOUT }, async () => {
    await seedDemoData(db)
    const result = await runScript('prisma/seed.ts', [], testDatabaseUrl())
    expect(result.code, result.stderr).toBe(0)
    expect(result.stderr).toBe('')
    expect(result.stdout).toContain(DEMO_PASSWORD)
    expect(result.stdout).toMatch(/0 users created/)
    for (const email of DEMO_EMAILS) expect(result.stdout).toContain(email)
  })

  it(
    'explains an unreachable or unmigrated database in one line, without a stack trace',
    { timeout: TIMEOUT },
    async () => {
      const empty = await createScratchDatabase('seed_unmigrated', { migrated: false })
      try {
        const [unmigrated, unreachable] = await Promise.all([
          runScript('prisma/seed.ts', [], empty.url),
          runScript('prisma/seed.ts', [], 'postgresql://postgres@127.0.0.1:1/nothing_listens_here'),
        ])
        for (const [result, message] of [
          [unmigrated, /not migrated.*npm run db:migrate/],
          [unreachable, /not reachable/],
        ] as const) {
          expect(result.code).toBe(1)
          expect(result.stderr.trim().split('\n'), result.stderr).toHaveLength(1)
          expect(result.stderr).toMatch(message)
          expect(result.stderr).not.toMatch(STACK_FRAME)
        }
      } finally {
        await empty.drop()
      }
    },
  )
})

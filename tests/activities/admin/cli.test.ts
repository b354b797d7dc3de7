import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { accountIds } from '../../../activities/ledger/accounts.js'
import { createTransfer, voidPendingTransfer } from '../../../activities/ledger/transfers.js'
import { walletBalance } from '../../../activities/ledger/balances.js'
import { createDb, type Db } from '../../../prisma/client.js'
import { connectTestDb, createMember, fundMember, testDatabaseUrl } from '../../support/db.js'
import { runAdmin, runAll, STACK_FRAME, type ScriptResult } from './run-cli.js'
import { createScratchDatabase, type ScratchDatabase } from '../../support/scratch-database.js'

// Each case starts a real process (tsx compiling the CLI), a second or two apiece on a small machine.
const TIMEOUT = 120_000
const UNREACHABLE = 'postgresql://postgres@127.0.0.1:1/nothing_listens_here'

let db: Db
let url: string
beforeAll(() => {
  url = testDatabaseUrl()
  db = connectTestDb()
})
afterAll(async () => {
  await db.$disconnect()
})

const tag = () => randomUUID().slice(0, 8)
const admin = (...args: string[]) => runAdmin(args, url)

function json<T = Record<string, unknown>>(result: ScriptResult): T {
  expect(result.stderr, 'a command that succeeds prints nothing on stderr').toBe('')
  return JSON.parse(result.stdout) as T
}

function expectCleanFailure(result: ScriptResult, code: 1 | 2, message: RegExp): void {
  expect(result.code, `${result.stderr}${result.stdout}`).toBe(code)
  const lines = result.stderr.trim().split('\n')
  expect(lines, 'one line on stderr').toHaveLength(1)
  expect(lines[0]).toMatch(message)
  expect(result.stderr).not.toMatch(STACK_FRAME)
  expect(result.stdout).not.toMatch(STACK_FRAME)
}

async function auditEntries(action: string, subject: string) {
  return db.auditLogEntry.findMany({ where: { action, subject }, orderBy: { id: 'asc' } })
}

describe('admin CLI: help', () => {
  it(
    'lists every command at the top level and explains each one, without touching the database',
    { timeout: TIMEOUT },
    async () => {
      const [top, credit, help] = await Promise.all([
        runAdmin(['--help'], UNREACHABLE),
        runAdmin(['credit-wallet', '--help'], UNREACHABLE),
        runAdmin(['help', 'create-user'], UNREACHABLE),
      ])
      expect(top.code).toBe(0)
      for (const command of ['create-user', 'credit-wallet', 'show-wallet', 'ledger-check'])
        expect(top.stdout).toContain(command)
      expect(top.stdout).toContain('--json')
      expect(credit.code).toBe(0)
      for (const option of ['--member', '--amount', '--reason', '--id', '--json', '--help'])
        expect(credit.stdout).toContain(option)
      expect(help.code).toBe(0)
      for (const option of ['--role', '--rate', '--company', '--share', '--handle', '--provider'])
        expect(help.stdout).toContain(option)
    },
  )
})

describe('admin CLI: create-user', () => {
  it('creates a user of each role, with the role-specific facts, and audits each', { timeout: TIMEOUT }, async () => {
    const t = tag()
    const company = json<{ user: { id: string; companyId: string } }>(
      await admin(
        'create-user',
        '--role',
        'company',
        '--email',
        `studio-${t}@example.test`,
        '--password',
        'correct-horse',
        '--name',
        `Studio ${t}`,
        '--share',
        '1500',
        '--json',
      ),
    )
    const [operator, member, adminUser] = await Promise.all([
      admin(
        'create-user',
        '--role',
        'operator',
        '--email',
        `op-${t}@example.test`,
        '--password',
        'correct-horse',
        '--name',
        `Op ${t}`,
        '--rate',
        '250',
        '--company',
        company.user.companyId,
        '--handle',
        `op-${t}`,
        '--provider',
        'discord',
        '--tags',
        'tarot, astrology',
        '--json',
      ),
      admin(
        'create-user',
        '--role',
        'member',
        '--email',
        `Member-${t}@Example.test`,
        '--password',
        'correct-horse',
        '--name',
        `Member ${t}`,
        '--handle',
        `member-${t}`,
        '--provider',
        'sip',
        '--json',
      ),
      admin(
        'create-user',
        '--role',
        'admin',
        '--email',
        `admin-${t}@example.test`,
        '--password',
        'correct-horse',
        '--name',
        `Admin ${t}`,
      ),
    ])
    const operatorId = json<{ user: { id: string } }>(operator).user.id
    const memberId = json<{ user: { id: string; email: string } }>(member).user.id
    expect(adminUser.code).toBe(0)
    expect(adminUser.stdout).toContain(`admin-${t}@example.test`)

    const users = await db.user.findMany({
      where: {
        email: {
          in: [
            `studio-${t}@example.test`,
            `op-${t}@example.test`,
            `member-${t}@example.test`,
            `admin-${t}@example.test`,
          ],
        },
      },
      include: { operator: true, ownedCompany: true },
    })
    const byRole = Object.fromEntries(users.map((user) => [user.role, user]))
    expect(Object.keys(byRole).sort()).toEqual(['admin', 'company', 'member', 'operator'])
    expect(byRole['company']!.ownedCompany).toMatchObject({
      id: company.user.companyId,
      shareBps: 1500,
      name: `Studio ${t}`,
    })
    expect(byRole['operator']!.id).toBe(operatorId)
    expect(byRole['operator']!.operator).toMatchObject({
      ratePerMinuteCents: 250,
      companyId: company.user.companyId,
      tags: ['tarot', 'astrology'],
    })
    expect(byRole['operator']).toMatchObject({ callingProvider: 'discord', callingHandle: `op-${t}` })
    expect(byRole['member']).toMatchObject({ id: memberId, callingProvider: 'sip', callingHandle: `member-${t}` })
    // Members get a wallet, operators their earnings account, with the user.
    expect(await walletBalance(db, memberId)).toMatchObject({ availableCents: 0 })
    expect(await db.account.findUnique({ where: { id: accountIds.operatorEarnings(operatorId) } })).not.toBeNull()

    for (const user of users) {
      const entries = await auditEntries('user.create', `user:${user.id}`)
      expect(entries).toHaveLength(1)
      expect(entries[0]).toMatchObject({
        channel: 'cli',
        actorId: null,
        details: expect.objectContaining({ role: user.role, email: user.email }),
      })
      expect(JSON.stringify(entries[0]!.details)).not.toContain('correct-horse')
    }
  })
})

describe('admin CLI: credit-wallet and show-wallet', () => {
  it('credits through an audited adjustment, once per key', { timeout: TIMEOUT }, async () => {
    const member = await createMember(db)
    const key = `test-${randomUUID()}`
    const transferId = `adjustment:${key}`

    const first = json<{ transferId: string; created: boolean; balance: { availableCents: number } }>(
      await admin(
        'credit-wallet',
        '--member',
        member.email,
        '--amount',
        '1234',
        '--reason',
        'dropped call',
        '--id',
        key,
        '--json',
      ),
    )
    expect(first).toMatchObject({ transferId, created: true, balance: { availableCents: 1234 } })
    expect(await walletBalance(db, member.id)).toMatchObject({ postedCents: 1234, availableCents: 1234 })
    expect(await db.transfer.findUnique({ where: { id: transferId } })).toMatchObject({
      debitAccountId: accountIds.adjustments,
      creditAccountId: accountIds.memberWallet(member.id),
      amount: 1234n,
      status: 'posted',
      code: 'wallet_adjustment',
      memo: 'dropped call',
    })
    const entries = await auditEntries('wallet.credit', `user:${member.id}`)
    expect(entries).toHaveLength(1)
    expect(entries[0]).toMatchObject({
      channel: 'cli',
      details: expect.objectContaining({ transferId, memberId: member.id, amountCents: 1234, reason: 'dropped call' }),
    })

    // The same key again, by id this time: nothing more is credited and no second entry is written.
    const again = await admin(
      'credit-wallet',
      '--member',
      member.id,
      '--amount',
      '1234',
      '--reason',
      'dropped call',
      '--id',
      key,
    )
    expect(again.code).toBe(0)
    expect(again.stdout).toMatch(/already applied/)
    expect(await walletBalance(db, member.id)).toMatchObject({ availableCents: 1234 })
    expect(await auditEntries('wallet.credit', `user:${member.id}`)).toHaveLength(1)

    // The same key for another amount is refused, not silently ignored.
    const reused = await admin(
      'credit-wallet',
      '--member',
      member.email,
      '--amount',
      '999',
      '--reason',
      'oops',
      '--id',
      key,
    )
    expectCleanFailure(reused, 1, /already used/)
    expect(await walletBalance(db, member.id)).toMatchObject({ availableCents: 1234 })

    // Without a key, every run is a new adjustment.
    const fresh = json<{ created: boolean; transferId: string }>(
      await admin('credit-wallet', '--member', member.email, '--amount', '66', '--reason', 'promotion', '--json'),
    )
    expect(fresh.created).toBe(true)
    expect(fresh.transferId).toMatch(/^adjustment:[0-9a-f-]{36}$/)
    expect(await walletBalance(db, member.id)).toMatchObject({ availableCents: 1300 })
    expect(await auditEntries('wallet.credit', `user:${member.id}`)).toHaveLength(2)
  })

  it('shows posted, reserved and available money and the recent transfers', { timeout: TIMEOUT }, async () => {
    const member = await createMember(db)
    await fundMember(db, member.id, 1000)
    const holdId = `test-reservation:${randomUUID()}`
    // A hold like a call's, under a code of its own so the ledger check's call invariants do not apply to it.
    await db.$transaction((tx) =>
      createTransfer(tx, {
        id: holdId,
        debitAccountId: accountIds.memberWallet(member.id),
        creditAccountId: accountIds.platformRevenue,
        amountCents: 234,
        pending: true,
        code: 'test_reservation',
      }),
    )
    try {
      const shown = json<{
        member: { id: string; email: string }
        postedCents: number
        reservedCents: number
        availableCents: number
        recentTransfers: Array<{ id: string; direction: string; status: string; amountCents: number }>
      }>(await admin('show-wallet', '--member', member.email, '--json'))
      expect(shown.member).toMatchObject({ id: member.id, email: member.email })
      expect(shown).toMatchObject({ postedCents: 1000, reservedCents: 234, availableCents: 766 })
      expect(shown.recentTransfers).toHaveLength(2)
      expect(shown.recentTransfers).toContainEqual(
        expect.objectContaining({ id: holdId, direction: 'out', status: 'pending', amountCents: 234 }),
      )
      expect(shown.recentTransfers).toContainEqual(
        expect.objectContaining({ direction: 'in', status: 'posted', amountCents: 1000 }),
      )

      const human = await admin('show-wallet', '--member', member.id)
      expect(human.code).toBe(0)
      expect(human.stdout).toMatch(/posted\s+\$10\.00/)
      expect(human.stdout).toMatch(/reserved\s+\$2\.34/)
      expect(human.stdout).toMatch(/available\s+\$7\.66/)
    } finally {
      await db.$transaction((tx) => voidPendingTransfer(tx, holdId))
    }
  })
})

describe('admin CLI: ledger-check', () => {
  // A database of its own: the corruption below would fail every other test file's ledger check while it lasts.
  let scratch: ScratchDatabase
  let scratchDb: Db
  beforeAll(async () => {
    scratch = await createScratchDatabase('admin_ledger', { migrated: true })
    scratchDb = createDb(scratch.url, { maxConnections: 2 })
  }, TIMEOUT)
  afterAll(async () => {
    await scratchDb?.$disconnect()
    await scratch?.drop()
  }, TIMEOUT)

  it(
    'passes on a sound ledger and exits 1, naming the invariant, when an account total is corrupted',
    { timeout: TIMEOUT },
    async () => {
      const t = tag()
      const created = await runAdmin(
        [
          'create-user',
          '--role',
          'member',
          '--email',
          `m-${t}@example.test`,
          '--password',
          'correct-horse',
          '--name',
          'M',
          '--json',
        ],
        scratch.url,
      )
      const memberId = json<{ user: { id: string } }>(created).user.id
      expect(
        (await runAdmin(['credit-wallet', '--member', memberId, '--amount', '500', '--reason', 'seed'], scratch.url))
          .code,
      ).toBe(0)

      const sound = json<{ ok: boolean; violations: unknown[]; transfers: number }>(
        await runAdmin(['ledger-check', '--json'], scratch.url),
      )
      expect(sound).toMatchObject({ ok: true, violations: [], transfers: 1 })

      const wallet = accountIds.memberWallet(memberId)
      await scratchDb.$executeRaw`UPDATE accounts SET credits_posted = credits_posted + 1 WHERE id = ${wallet}`
      try {
        const [asJson, asText] = await Promise.all([
          runAdmin(['ledger-check', '--json'], scratch.url),
          runAdmin(['ledger-check'], scratch.url),
        ])
        expect(asJson.code).toBe(1)
        const report = JSON.parse(asJson.stdout) as {
          ok: boolean
          violations: Array<{ invariant: string; detail: string }>
        }
        expect(report.ok).toBe(false)
        const invariants = report.violations.map((violation) => violation.invariant)
        expect(invariants).toContain('every account total equals the sum of its transfers')
        expect(invariants).toContain('all balances sum to zero (posted and pending)')
        expect(
          report.violations.find((violation) => violation.invariant.startsWith('every account total'))!.detail,
        ).toContain(wallet)

        expectCleanFailure(asText, 1, /ledger check failed/)
        expect(asText.stdout).toMatch(/FAILED: 2 violations/)
        expect(asText.stdout).toContain('every account total equals the sum of its transfers')
      } finally {
        await scratchDb.$executeRaw`UPDATE accounts SET credits_posted = credits_posted - 1 WHERE id = ${wallet}`
      }
      const restored = await runAdmin(['ledger-check'], scratch.url)
      expect(restored.code).toBe(0)
      expect(restored.stdout).toMatch(/^Ledger OK/)
    },
  )
})

describe('admin CLI: bad arguments', () => {
  // The process-level contract: exit code, one line on stderr, no stack trace. The many ways an argument can be
  // wrong are covered in-process by commands.test.ts, where they cost milliseconds instead of a process each.
  it('answer with one clear line and a non-zero exit, never a stack trace', { timeout: TIMEOUT }, async () => {
    const member = await createMember(db)
    const credit = (...extra: string[]) => ['credit-wallet', '--member', member.email, '--reason', 'test', ...extra]
    const cases: Array<{ args: string[]; code: 1 | 2; message: RegExp; databaseUrl?: string }> = [
      { args: ['frobnicate'], code: 2, message: /unknown command "frobnicate"/ },
      { args: ['create-user', '--bogus'], code: 2, message: /unknown option --bogus/ },
      { args: ['credit-wallet', '--amount', '100', '--reason', 'x'], code: 2, message: /missing --member/ },
      {
        args: credit('--amount', '12.34'),
        code: 2,
        message: /--amount must be a positive whole number of cents.*"12\.34"/,
      },
      {
        args: credit('--amount', '-500'),
        code: 2,
        message: /--amount must be a positive whole number of cents.*"-500"/,
      },
      {
        args: ['credit-wallet', '--member', `nobody-${tag()}@example.test`, '--amount', '100', '--reason', 'x'],
        code: 1,
        message: /no member with e-mail/,
      },
      { args: ['ledger-check'], code: 1, message: /not reachable/, databaseUrl: UNREACHABLE },
      // A malformed command line is reported as such even when the database is down.
      { args: credit('--amount', '1.5'), code: 2, message: /whole number of cents/, databaseUrl: UNREACHABLE },
    ]
    const [bare, ...results] = await runAll([
      () => admin(),
      ...cases.map((c) => () => runAdmin(c.args, c.databaseUrl ?? url)),
    ])
    // No command at all: the overview, on stderr, is the message.
    expect(bare!.code).toBe(2)
    expect(bare!.stderr).toMatch(/Usage:/)
    expect(bare!.stderr).not.toMatch(STACK_FRAME)
    results.forEach((result, i) => {
      const c = cases[i]!
      expectCleanFailure(result, c.code, c.message)
      expect(result.stdout, `${c.args.join(' ')} prints no result`).toBe('')
    })
    // None of the refused credits moved money.
    expect(await walletBalance(db, member.id)).toMatchObject({ availableCents: 0 })

    // With --json, the failure is also on stdout, for scripts.
    const asJson = await admin(
      'credit-wallet',
      '--member',
      `nobody-${tag()}@example.test`,
      '--amount',
      '100',
      '--reason',
      'x',
      '--json',
    )
    expect(asJson.code).toBe(1)
    expect(JSON.parse(asJson.stdout)).toMatchObject({
      error: 'member_not_found',
      message: expect.stringMatching(/no member/),
    })
  })
})

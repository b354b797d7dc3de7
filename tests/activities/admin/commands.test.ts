import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CommandFailure, parseCommandArgs, UsageError, type Command } from '../../../activities/admin/args.js'
import { createUserCommand } from '../../../activities/admin/commands/create-user.js'
import { creditWalletCommand } from '../../../activities/admin/commands/credit-wallet.js'
import { showWalletCommand } from '../../../activities/admin/commands/show-wallet.js'
import { MemberNotFoundError } from '../../../activities/admin/members.js'
import { formatCents } from '../../../activities/admin/money-format.js'
import { EmailTakenError, UserInputError } from '../../../activities/identity/users.js'
import { walletBalance } from '../../../activities/ledger/balances.js'
import { readPlatformSettings } from '../../../activities/settings.js'
import { parseConfig } from '../../../config/env.js'
import type { Db } from '../../../prisma/client.js'
import { connectTestDb, createMember, createOperator, testDatabaseUrl } from '../../support/db.js'

// The admin commands in-process: every way an argument can be wrong, checked without starting a process per case.
// cli.test.ts proves how the process reports these (exit code, one line, no stack trace).

let db: Db
beforeAll(() => {
  db = connectTestDb()
})
afterAll(async () => {
  await db.$disconnect()
})

const prepare = (command: Command, args: string[]) => command.prepare(parseCommandArgs(command, args))
const run = (command: Command, args: string[]) =>
  prepare(command, args)({ db, config: parseConfig({ NODE_ENV: 'test', DATABASE_URL: testDatabaseUrl() }), origin: { test: true } })
const newUser = (role: string, ...extra: string[]) => [
  '--role',
  role,
  '--email',
  `${role}-${Math.random().toString(36).slice(2, 10)}@example.test`,
  '--password',
  'correct-horse',
  '--name',
  'Someone',
  ...extra,
]

describe('admin command arguments', () => {
  const credit = (...extra: string[]) => ['--member', 'ada@example.test', '--reason', 'test', ...extra]
  it.each<[string, Command, string[], RegExp]>([
    ['zero cents', creditWalletCommand, credit('--amount', '0'), /--amount must be a positive whole number of cents/],
    ['a negative amount after a space', creditWalletCommand, credit('--amount', '-5'), /"-5"/],
    ['dollars instead of cents', creditWalletCommand, credit('--amount', '$5'), /whole number of cents.*"\$5"/],
    [
      'an amount past the safe range',
      creditWalletCommand,
      credit('--amount', '9007199254740993'),
      /whole number of cents/,
    ],
    [
      'a repeated option',
      creditWalletCommand,
      credit('--amount', '1', '--amount', '2'),
      /--amount is given more than once/,
    ],
    ['a value for a flag', creditWalletCommand, credit('--amount', '1', '--json=yes'), /--json takes no value/],
    [
      'an option without its value',
      creditWalletCommand,
      ['--member', 'a@b.test', '--amount', '1', '--reason'],
      /--reason needs a value/,
    ],
    [
      'an empty reason',
      creditWalletCommand,
      ['--member', 'a@b.test', '--amount', '1', '--reason', ' '],
      /missing --reason/,
    ],
    [
      'an idempotency key with spaces',
      creditWalletCommand,
      credit('--amount', '1', '--id', 'two words'),
      /--id must be/,
    ],
    ['a positional argument', showWalletCommand, ['--member', 'a@b.test', 'extra'], /unexpected argument "extra"/],
    [
      'a limit out of range',
      showWalletCommand,
      ['--member', 'a@b.test', '--limit', '101'],
      /--limit must be a whole number from 1 to 100/,
    ],
    ['nothing at all', createUserCommand, [], /missing --role, --email, --password, --name/],
    ['an unknown role', createUserCommand, newUser('wizard'), /--role must be one of member, operator, company, admin/],
    ['an operator without a rate', createUserCommand, newUser('operator'), /an operator needs --rate/],
    [
      'a rate in dollars',
      createUserCommand,
      newUser('operator', '--rate', '1.99'),
      /--rate must be a positive whole number of cents/,
    ],
    [
      'a rate for a member',
      createUserCommand,
      newUser('member', '--rate', '100'),
      /--rate is for operator accounts, not member/,
    ],
    [
      'a share above 100%',
      createUserCommand,
      newUser('company', '--share', '10001'),
      /--share must be .* from 0 to 10000/,
    ],
    [
      'a handle for an admin',
      createUserCommand,
      newUser('admin', '--handle', 'x', '--provider', 'sip'),
      /--handle is for member and operator/,
    ],
    [
      'a handle without its provider',
      createUserCommand,
      newUser('member', '--handle', 'ada'),
      /--handle and --provider go together/,
    ],
    [
      'a company by name',
      createUserCommand,
      newUser('operator', '--rate', '100', '--company', 'Acme'),
      /--company must be a company id/,
    ],
  ])('refuse %s before touching the database', (_what, command, args, message) => {
    let thrown: unknown
    try {
      prepare(command, args)
    } catch (error) {
      thrown = error
    }
    expect(thrown).toBeInstanceOf(UsageError)
    expect((thrown as Error).message).toMatch(message)
    expect((thrown as Error).message).not.toContain('\n')
  })

  it('asks for no required option when help is wanted', () => {
    expect(parseCommandArgs(createUserCommand, ['--help'])).toMatchObject({ help: true })
  })
})

describe('admin commands refused by the data', () => {
  it('refuse a second account for an e-mail and a short password', async () => {
    const member = await createMember(db)
    await expect(
      run(createUserCommand, [
        '--role',
        'member',
        '--email',
        member.email.toUpperCase(),
        '--password',
        'correct-horse',
        '--name',
        'X',
      ]),
    ).rejects.toThrow(new EmailTakenError(`${member.email} already has an account`))
    await expect(
      run(
        createUserCommand,
        newUser('member').map((arg) => (arg === 'correct-horse' ? 'short' : arg)),
      ),
    ).rejects.toBeInstanceOf(UserInputError)
  })

  it('refuse an operator for a company that does not exist', async () => {
    const missing = run(
      createUserCommand,
      newUser('operator', '--rate', '100', '--company', '00000000-0000-4000-8000-00000000dead'),
    )
    await expect(missing).rejects.toBeInstanceOf(CommandFailure)
    await expect(missing).rejects.toMatchObject({ code: 'company_not_found' })
    const byEmail = run(
      createUserCommand,
      newUser('operator', '--rate', '100', '--company', 'no-such-company@example.test'),
    )
    await expect(byEmail).rejects.toMatchObject({ code: 'company_not_found' })
  })

  it("give a company without --share the platform's default company share, from the settings in force", async () => {
    const config = parseConfig({ NODE_ENV: 'test', DATABASE_URL: testDatabaseUrl(), DEFAULT_COMPANY_SHARE_BPS: '1234' })
    // The settings in force: the configuration's default unless an admin changed it in this database.
    const expected = (await readPlatformSettings(db, config)).defaultCompanyShareBps
    const created = await prepare(createUserCommand, newUser('company', '--json'))({ db, config, origin: { test: true } })
    const user = (created.json as { user: { id: string; companyShareBps: number } }).user
    expect(user.companyShareBps).toBe(expected)
    expect((await db.company.findUniqueOrThrow({ where: { ownerUserId: user.id } })).shareBps).toBe(expected)
    const text = await prepare(createUserCommand, newUser('company'))({ db, config, origin: { test: true } })
    expect(text.text).toContain(`share ${expected / 100}%, the platform's default`)
    // An agreed share stands.
    const agreed = await run(createUserCommand, newUser('company', '--share', '2500', '--json'))
    expect(agreed.json).toMatchObject({ user: { companyShareBps: 2500 } })
  })

  it('accept a company by its account e-mail', async () => {
    const company = await run(createUserCommand, newUser('company', '--share', '2000', '--json'))
    const companyUser = (company.json as { user: { email: string; companyId: string } }).user
    const operator = await run(createUserCommand, newUser('operator', '--rate', '150', '--company', companyUser.email))
    expect(operator.json).toMatchObject({
      user: { role: 'operator', companyId: companyUser.companyId, ratePerMinuteCents: 150 },
    })
  })

  it('refuse wallets of users who are not members, and members who do not exist', async () => {
    const operator = await createOperator(db)
    await expect(run(showWalletCommand, ['--member', operator.email])).rejects.toThrow(MemberNotFoundError)
    await expect(run(showWalletCommand, ['--member', operator.id])).rejects.toThrow(/is an operator, not a member/)
    await expect(
      run(creditWalletCommand, ['--member', '00000000-0000-4000-8000-00000000dead', '--amount', '1', '--reason', 'x']),
    ).rejects.toThrow(/no member with id/)
    // The operator has no wallet to credit, and nothing was credited anywhere.
    expect(await walletBalance(db, operator.id)).toBeNull()
  })
})

describe('formatCents', () => {
  it('formats integer cents as dollars, at the edge only', () => {
    expect(formatCents(0)).toBe('$0.00')
    expect(formatCents(5)).toBe('$0.05')
    expect(formatCents(1234)).toBe('$12.34')
    expect(formatCents(123456789)).toBe('$1,234,567.89')
    expect(formatCents(-99)).toBe('-$0.99')
    expect(() => formatCents(1.5)).toThrow(RangeError)
  })
})

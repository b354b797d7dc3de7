// Demo data for a local platform: one admin, a company with two operators, two independent operators and three
// members with funded wallets, all sharing one password. `npm run db:seed` (tsx prisma/seed.ts) seeds the database
// DATABASE_URL names; running it again creates and credits nothing. It never picks a database of its own, so it
// touches a test database only if someone points DATABASE_URL at one.
import {
  assertDatabaseReady,
  DatabaseNotReadyError,
  describeDatabaseFailure,
  describeDatabaseUrl,
} from '../activities/admin/database.js'
import { formatCents } from '../activities/admin/money-format.js'
import { createUser, UserInputError, type NewUser, type Role } from '../activities/identity/users.js'
import { walletBalance } from '../activities/ledger/balances.js'
import { TransferConflictError } from '../activities/ledger/transfers.js'
import { creditMemberWallet } from '../activities/wallets.js'
import { ConfigError, loadConfig } from '../config/env.js'
import { createDb, type Db } from './client.js'
import { isEntryPoint } from './entry-point.js'
import { seedStorefront } from './seed-storefront.js'

export const DEMO_PASSWORD = 'demo-password'

interface DemoUser {
  /** Fixed, so links and bookmarks into the demo survive a fresh database. */
  id: string
  role: Role
  email: string
  displayName: string
  callingProvider?: string
  callingHandle?: string
  ratePerMinuteCents?: number
  headline?: string
  tags?: string[]
  /** Operators: the demo company's owner, whose company they belong to. */
  companyOwnerEmail?: string
  companyShareBps?: number
  /** Members: what the wallet is funded with, once. */
  walletCents?: number
}

const COMPANY_OWNER = 'studio@perminute.test'

export const DEMO_USERS: readonly DemoUser[] = [
  {
    id: '00000000-0000-4000-8000-00000000a001',
    role: 'admin',
    email: 'admin@perminute.test',
    displayName: 'Avery Admin',
  },
  {
    id: '00000000-0000-4000-8000-00000000c001',
    role: 'company',
    email: COMPANY_OWNER,
    displayName: 'Nightingale Studio',
    companyShareBps: 1_500,
  },
  {
    id: '00000000-0000-4000-8000-00000000e001',
    role: 'operator',
    email: 'luna@perminute.test',
    displayName: 'Luna Castellanos',
    ratePerMinuteCents: 199,
    headline: 'Tarot and honest talk, since 2009',
    tags: ['tarot', 'relationships', 'spanish'],
    companyOwnerEmail: COMPANY_OWNER,
    callingProvider: 'discord',
    callingHandle: 'luna.nightingale',
  },
  {
    id: '00000000-0000-4000-8000-00000000e002',
    role: 'operator',
    email: 'orion@perminute.test',
    displayName: 'Orion Vale',
    ratePerMinuteCents: 349,
    headline: 'Career coaching for people changing lanes',
    tags: ['career', 'coaching', 'interviews'],
    companyOwnerEmail: COMPANY_OWNER,
    callingProvider: 'discord',
    callingHandle: 'orion.nightingale',
  },
  {
    id: '00000000-0000-4000-8000-00000000e003',
    role: 'operator',
    email: 'sage@perminute.test',
    displayName: 'Sage Okafor',
    ratePerMinuteCents: 99,
    headline: 'A patient ear when you need to think out loud',
    tags: ['listening', 'wellbeing'],
    callingProvider: 'sip',
    callingHandle: 'sage@sip.perminute.test',
  },
  {
    id: '00000000-0000-4000-8000-00000000e004',
    role: 'operator',
    email: 'rex@perminute.test',
    displayName: 'Rex Holloway',
    ratePerMinuteCents: 499,
    headline: 'Senior TypeScript reviews, live',
    tags: ['programming', 'typescript', 'code review'],
    callingProvider: 'discord',
    callingHandle: 'rex.codes',
  },
  {
    id: '00000000-0000-4000-8000-00000000b001',
    role: 'member',
    email: 'ada@perminute.test',
    displayName: 'Ada Member',
    callingProvider: 'discord',
    callingHandle: 'ada.member',
    walletCents: 5_000,
  },
  {
    id: '00000000-0000-4000-8000-00000000b002',
    role: 'member',
    email: 'ben@perminute.test',
    displayName: 'Ben Member',
    callingProvider: 'discord',
    callingHandle: 'ben.member',
    walletCents: 2_000,
  },
  {
    // Two dollars: one or two minutes at most rates, so the low-balance warning shows in the first call.
    id: '00000000-0000-4000-8000-00000000b003',
    role: 'member',
    email: 'cleo@perminute.test',
    displayName: 'Cleo Member',
    callingProvider: 'sip',
    callingHandle: 'cleo@sip.perminute.test',
    walletCents: 200,
  },
]

/** A demo login exists with another role: seeding around it would leave the demo half-made. */
export class SeedConflictError extends Error {
  override name = 'SeedConflictError'
}

export interface SeededUser {
  id: string
  role: Role
  email: string
  displayName: string
  /** False when the user was already there. */
  created: boolean
  callingHandle: string | null
  ratePerMinuteCents: number | null
  companyName: string | null
  companyShareBps: number | null
  /** Members: the wallet's available balance after seeding. */
  walletAvailableCents: number | null
}

export interface SeedSummary {
  password: string
  users: SeededUser[]
  createdUsers: number
  /** Money put into wallets by this run; zero on a second run. */
  creditedCents: number
}

/** The wallet-funding transfer's id: deterministic, so a second run credits nothing. */
export const seedWalletTransferId = (email: string) => `seed:wallet:${email}`

async function existingUser(db: Db, email: string) {
  return db.user.findUnique({
    where: { email },
    select: { id: true, role: true, ownedCompany: { select: { id: true, name: true, shareBps: true } } },
  })
}

async function ensureUser(db: Db, demo: DemoUser): Promise<{ id: string; created: boolean }> {
  const found = await existingUser(db, demo.email)
  if (found) {
    if (found.role !== demo.role) {
      throw new SeedConflictError(
        `${demo.email} already exists as ${found.role}, not ${demo.role}: remove it or seed another database`,
      )
    }
    return { id: found.id, created: false }
  }

  let companyId: string | null = null
  if (demo.companyOwnerEmail) {
    companyId = (await existingUser(db, demo.companyOwnerEmail))?.ownedCompany?.id ?? null
    if (!companyId) {
      throw new SeedConflictError(`${demo.companyOwnerEmail} owns no company, so ${demo.email} has none to join`)
    }
  }
  const newUser: NewUser = {
    id: demo.id,
    role: demo.role,
    email: demo.email,
    password: DEMO_PASSWORD,
    displayName: demo.displayName,
    callingProvider: demo.callingProvider ?? null,
    callingHandle: demo.callingHandle ?? null,
    companyId,
  }
  if (demo.ratePerMinuteCents !== undefined) newUser.ratePerMinuteCents = demo.ratePerMinuteCents
  if (demo.headline !== undefined) newUser.headline = demo.headline
  if (demo.tags !== undefined) newUser.tags = demo.tags
  if (demo.companyShareBps !== undefined) newUser.companyShareBps = demo.companyShareBps
  try {
    // Demo addresses cannot receive mail: they start confirmed.
    const created = await createUser(db, newUser, async (tx, user) => {
      await tx.user.update({ where: { id: user.id }, data: { emailVerifiedAt: new Date() } })
    })
    return { id: created.id, created: true }
  } catch (error) {
    // Another seed run may have created the same user between our look-up and our insert: that is success too.
    const raced = error instanceof UserInputError ? await existingUser(db, demo.email) : null
    if (raced && raced.role === demo.role) return { id: raced.id, created: false }
    throw error
  }
}

/** Seeds the demo users and funds the members' wallets. Idempotent: a second run creates and credits nothing. */
export async function seedDemoData(db: Db): Promise<SeedSummary> {
  const users: SeededUser[] = []
  let creditedCents = 0
  // In list order: the company exists before the operators that join it.
  for (const demo of DEMO_USERS) {
    const { id, created } = await ensureUser(db, demo)
    let walletAvailableCents: number | null = null
    if (demo.walletCents !== undefined) {
      try {
        const credit = await creditMemberWallet(db, {
          transferId: seedWalletTransferId(demo.email),
          memberId: id,
          amountCents: demo.walletCents,
          source: 'adjustments',
          code: 'wallet_adjustment',
          memo: 'demo funds (prisma/seed.ts)',
        })
        if (credit.created) creditedCents += demo.walletCents
        walletAvailableCents = credit.balance.availableCents
      } catch (error) {
        if (error instanceof TransferConflictError) {
          throw new SeedConflictError(
            `${demo.email}'s demo funding exists with another amount: another version of the seed ran here`,
          )
        }
        throw error
      }
    }
    const owned = demo.role === 'company' ? (await existingUser(db, demo.email))?.ownedCompany : null
    users.push({
      id,
      role: demo.role,
      email: demo.email,
      displayName: demo.displayName,
      created,
      callingHandle: demo.callingHandle ?? null,
      ratePerMinuteCents: demo.ratePerMinuteCents ?? null,
      companyName: owned?.name ?? (demo.companyOwnerEmail ? companyNameOf(demo.companyOwnerEmail) : null),
      companyShareBps: owned?.shareBps ?? null,
      walletAvailableCents,
    })
  }
  // Profiles, hours, pictures, and a few rated past calls (which the members' wallets paid for).
  await seedStorefront(db)
  for (const user of users) {
    if (user.role === 'member') user.walletAvailableCents = (await walletBalance(db, user.id))?.availableCents ?? null
  }
  return { password: DEMO_PASSWORD, users, createdUsers: users.filter((user) => user.created).length, creditedCents }
}

function companyNameOf(ownerEmail: string): string | null {
  return DEMO_USERS.find((user) => user.email === ownerEmail)?.displayName ?? null
}

export function formatSeedSummary(summary: SeedSummary, where: string): string {
  const existing = summary.users.length - summary.createdUsers
  const lines = [
    `Demo data ready in ${where}: ${summary.createdUsers} user${summary.createdUsers === 1 ? '' : 's'} created, ` +
      `${existing} already there; ${formatCents(summary.creditedCents)} credited to wallets.`,
    `Every demo login uses the password: ${summary.password}`,
    '',
  ]
  const width = Math.max(...summary.users.map((user) => user.email.length))
  for (const user of summary.users) {
    let about = ''
    if (user.role === 'company') {
      about = `${user.companyName}, takes ${(user.companyShareBps ?? 0) / 100}% of its operators' earnings`
    } else if (user.role === 'operator') {
      about = `${formatCents(user.ratePerMinuteCents ?? 0)}/min, ${user.companyName ?? 'independent'}`
    } else if (user.role === 'member') {
      about = `wallet ${formatCents(user.walletAvailableCents ?? 0)} available, calls from ${user.callingHandle}`
    }
    lines.push(`  ${user.role.padEnd(8)}  ${user.email.padEnd(width)}  ${about}`.trimEnd())
  }
  return `${lines.join('\n')}\n`
}

async function main(): Promise<number> {
  let databaseUrl: string | undefined
  try {
    databaseUrl = loadConfig().DATABASE_URL
    await assertDatabaseReady(databaseUrl)
    const db = createDb(databaseUrl, { maxConnections: 2 })
    try {
      process.stdout.write(formatSeedSummary(await seedDemoData(db), describeDatabaseUrl(databaseUrl)))
    } finally {
      await db.$disconnect()
    }
    return 0
  } catch (error) {
    console.error(`seed: ${describeSeedFailure(error, databaseUrl)}`)
    return 1
  }
}

function describeSeedFailure(error: unknown, databaseUrl: string | undefined): string {
  if (error instanceof DatabaseNotReadyError || error instanceof SeedConflictError || error instanceof UserInputError) {
    return error.message
  }
  const fromDatabase = databaseUrl ? describeDatabaseFailure(error, databaseUrl) : null
  if (fromDatabase) return fromDatabase
  const message = error instanceof Error ? error.message : String(error)
  // A ConfigError lists one problem a line; anything else is a bug, reported by its name and first line.
  if (error instanceof ConfigError) return message.replace(/\s*\n\s*/g, ' ')
  const firstLine =
    message
      .split('\n')
      .map((line) => line.trim())
      .find(Boolean) ?? '(no message)'
  return `unexpected ${error instanceof Error ? error.name : 'error'}: ${firstLine}`
}


if (isEntryPoint(import.meta.url)) process.exitCode = await main()

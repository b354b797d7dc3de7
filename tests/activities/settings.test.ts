import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { shareForNewCompany } from '../../activities/companies.js'
import { createUser } from '../../activities/identity/users.js'
import { defaultSettings, readPlatformSettings, SettingsInputError, updatePlatformSettings } from '../../activities/settings.js'
import { parseConfig } from '../../config/env.js'
import { createDb, type Db } from '../../prisma/client.js'
import { billingSettingsFrom } from '../../temporal/calls.js'
import { createScratchDatabase, type ScratchDatabase } from '../support/scratch-database.js'

// Platform settings on a database of their own: a changed setting would change other test files' calls otherwise.

let scratch: ScratchDatabase
let db: Db
let adminId: string
const config = parseConfig({ ...process.env, NODE_ENV: 'test', PLATFORM_COMMISSION_BPS: '2000', BILLING_PERIOD_MS: '60000', PAYOUT_MINIMUM_CENTS: '2000' })

beforeAll(async () => {
  scratch = await createScratchDatabase('settings', { migrated: true })
  db = createDb(scratch.url)
  adminId = (await createUser(db, { role: 'admin', email: 'root@example.test', password: 'long enough', displayName: 'Root' })).id
})
afterAll(async () => {
  await db?.$disconnect()
  await scratch?.drop()
})

describe('platform settings', () => {
  it('default to the configuration, and a change applies to the settings the next call is frozen with', async () => {
    expect(await readPlatformSettings(db, config)).toEqual(defaultSettings(config))
    expect(billingSettingsFrom(await readPlatformSettings(db, config), null)).toMatchObject({ commissionBps: 2000, periodMs: 60_000, companyShareBps: 0 })

    const { changed } = await updatePlatformSettings(db, config, { commissionBps: 2500, payoutMinimumCents: 5000 }, { channel: 'web', actorId: adminId })
    expect(changed).toEqual(['commissionBps', 'payoutMinimumCents'])
    const now = await readPlatformSettings(db, config)
    expect(now).toMatchObject({ commissionBps: 2500, payoutMinimumCents: 5000, billingPeriodMs: 60_000 })
    expect(billingSettingsFrom(now, 1000)).toMatchObject({ commissionBps: 2500, companyShareBps: 1000 })

    const entry = await db.auditLogEntry.findFirstOrThrow({ where: { action: 'settings.update' } })
    expect(entry.actorId).toBe(adminId)
    expect(entry.details).toEqual({ changes: { commissionBps: { from: 2000, to: 2500 }, payoutMinimumCents: { from: 2000, to: 5000 } } })
  })

  it('refuses an invalid set as a whole', async () => {
    const before = await readPlatformSettings(db, config)
    const attempt = updatePlatformSettings(db, config, { priceMinCents: 900, priceMaxCents: 800, graceMs: 5 }, { channel: 'web', actorId: adminId })
    await expect(attempt).rejects.toBeInstanceOf(SettingsInputError)
    await expect(attempt).rejects.toMatchObject({ problems: { priceMaxCents: 'must not be below the lowest price' } })
    await expect(updatePlatformSettings(db, config, { lowBalancePeriods: 0 }, { channel: 'web', actorId: adminId })).rejects.toMatchObject({
      problems: { lowBalancePeriods: 'must be between 1 and 100 periods' },
    })
    await expect(updatePlatformSettings(db, config, { commissionBps: 9000, defaultCompanyShareBps: 2000 }, { channel: 'web', actorId: adminId })).rejects.toBeInstanceOf(SettingsInputError)
    expect(await readPlatformSettings(db, config)).toEqual(before)
  })

  it("is the share a new company gets when none is agreed, as an admin last set it", async () => {
    expect(await shareForNewCompany(db, config)).toBe(config.DEFAULT_COMPANY_SHARE_BPS)
    await updatePlatformSettings(db, config, { defaultCompanyShareBps: 1750 }, { channel: 'web', actorId: adminId })
    expect(await shareForNewCompany(db, config)).toBe(1750)
    expect(await shareForNewCompany(db, config, 900)).toBe(900)
  })

  it('keeps the audit log append-only', async () => {
    await expect(db.auditLogEntry.deleteMany({})).rejects.toThrow(/append-only/)
    await expect(db.auditLogEntry.updateMany({ data: { action: 'rewritten' } })).rejects.toThrow(/append-only/)
    expect(await db.auditLogEntry.count({ where: { action: 'rewritten' } })).toBe(0)
  })
})

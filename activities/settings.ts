import type { PlatformConfig } from '../config/env.js'
import type { Db } from '../prisma/client.js'
import { recordAuditEntry, type AuditContext } from './admin/audit.js'
import type { Tx } from './ledger/tx.js'

/**
 * Platform settings an admin may change. The configuration gives each one its default; a row in platform_settings
 * overrides it. A call freezes the settings it starts with (Call's columns), so a change applies to calls that start
 * after it, never to one in progress.
 */

export interface PlatformSettings {
  commissionBps: number
  defaultCompanyShareBps: number
  priceMinCents: number
  priceMaxCents: number
  billingPeriodMs: number
  graceMs: number
  lowBalancePeriods: number
  heartbeatTimeoutMs: number
  payoutMinimumCents: number
  earningsClearingHours: number
}

export type SettingKey = keyof PlatformSettings

export interface SettingDefinition {
  key: SettingKey
  label: string
  unit: string
  min: number
  max: number
  fromConfig: (config: PlatformConfig) => number
}

export const SETTING_DEFINITIONS: readonly SettingDefinition[] = [
  { key: 'commissionBps', label: 'Platform commission', unit: 'basis points', min: 0, max: 10_000, fromConfig: (c) => c.PLATFORM_COMMISSION_BPS },
  { key: 'defaultCompanyShareBps', label: 'Default company share', unit: 'basis points', min: 0, max: 10_000, fromConfig: (c) => c.DEFAULT_COMPANY_SHARE_BPS },
  { key: 'priceMinCents', label: 'Lowest price per minute', unit: 'cents', min: 1, max: 1_000_000, fromConfig: (c) => c.PRICE_MIN_CENTS },
  { key: 'priceMaxCents', label: 'Highest price per minute', unit: 'cents', min: 1, max: 1_000_000, fromConfig: (c) => c.PRICE_MAX_CENTS },
  { key: 'billingPeriodMs', label: 'Billing period', unit: 'ms', min: 100, max: 3_600_000, fromConfig: (c) => c.BILLING_PERIOD_MS },
  { key: 'graceMs', label: 'Grace time', unit: 'ms', min: 0, max: 600_000, fromConfig: (c) => c.GRACE_MS },
  { key: 'lowBalancePeriods', label: 'Low-balance warning', unit: 'periods', min: 1, max: 100, fromConfig: (c) => c.LOW_BALANCE_PERIODS },
  { key: 'heartbeatTimeoutMs', label: 'Heartbeat timeout', unit: 'ms', min: 1_000, max: 3_600_000, fromConfig: (c) => c.HEARTBEAT_TIMEOUT_MS },
  { key: 'payoutMinimumCents', label: 'Payout minimum', unit: 'cents', min: 1, max: 100_000_000, fromConfig: (c) => c.PAYOUT_MINIMUM_CENTS },
  { key: 'earningsClearingHours', label: 'Earnings clearing period', unit: 'hours', min: 0, max: 24 * 90, fromConfig: (c) => c.EARNINGS_CLEARING_HOURS },
]

const definitions = new Map(SETTING_DEFINITIONS.map((d) => [d.key, d]))

export class SettingsInputError extends Error {
  override name = 'SettingsInputError'
  constructor(readonly problems: Partial<Record<SettingKey, string>>) {
    super(Object.entries(problems).map(([key, problem]) => `${key}: ${problem}`).join('; '))
  }
}

export function defaultSettings(config: PlatformConfig): PlatformSettings {
  return Object.fromEntries(SETTING_DEFINITIONS.map((d) => [d.key, d.fromConfig(config)])) as unknown as PlatformSettings
}

/** The settings in force: the configuration's defaults, overridden by what admins changed. */
export async function readPlatformSettings(tx: Tx, config: PlatformConfig): Promise<PlatformSettings> {
  const settings = defaultSettings(config)
  const rows = await tx.platformSetting.findMany({ select: { key: true, value: true } })
  for (const row of rows) {
    if (definitions.has(row.key as SettingKey)) settings[row.key as SettingKey] = Number(row.value)
  }
  return settings
}

/** Checks one complete set of settings: every value in its range, and the price bounds in order. */
export function validateSettings(settings: PlatformSettings): Partial<Record<SettingKey, string>> {
  const problems: Partial<Record<SettingKey, string>> = {}
  for (const d of SETTING_DEFINITIONS) {
    const value = settings[d.key]
    if (!Number.isSafeInteger(value)) problems[d.key] = 'must be a whole number'
    else if (value < d.min || value > d.max) problems[d.key] = `must be between ${d.min} and ${d.max} ${d.unit}`
  }
  if (!problems.priceMinCents && !problems.priceMaxCents && settings.priceMinCents > settings.priceMaxCents) {
    problems.priceMaxCents = 'must not be below the lowest price'
  }
  if (!problems.commissionBps && !problems.defaultCompanyShareBps && settings.commissionBps + settings.defaultCompanyShareBps > 10_000) {
    problems.defaultCompanyShareBps = 'commission and company share together must not exceed 10000 basis points'
  }
  return problems
}

/**
 * Changes settings, validated as a whole, with one audit entry naming every value that changed (before and after).
 * Returns the settings now in force. Nothing changes when a value is invalid.
 */
export async function updatePlatformSettings(
  db: Db,
  config: PlatformConfig,
  changes: Partial<PlatformSettings>,
  audit: AuditContext,
): Promise<{ settings: PlatformSettings; changed: SettingKey[] }> {
  return db.$transaction(async (tx) => {
    // One change at a time: two admins saving at once must not validate against each other's stale values.
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext('platform_settings'))`
    const before = await readPlatformSettings(tx, config)
    const after: PlatformSettings = { ...before }
    for (const [key, value] of Object.entries(changes) as [SettingKey, number][]) {
      if (!definitions.has(key)) throw new SettingsInputError({ [key]: 'is not a setting' })
      after[key] = value
    }
    const problems = validateSettings(after)
    if (Object.keys(problems).length > 0) throw new SettingsInputError(problems)
    const changed = SETTING_DEFINITIONS.map((d) => d.key).filter((key) => before[key] !== after[key])
    if (changed.length === 0) return { settings: before, changed }
    for (const key of changed) {
      await tx.platformSetting.upsert({
        where: { key },
        create: { key, value: BigInt(after[key]), updatedBy: audit.actorId },
        update: { value: BigInt(after[key]), updatedBy: audit.actorId, updatedAt: new Date() },
      })
    }
    await recordAuditEntry(tx, {
      channel: audit.channel,
      actorId: audit.actorId,
      action: 'settings.update',
      subject: 'platform_settings',
      details: {
        changes: Object.fromEntries(changed.map((key) => [key, { from: before[key], to: after[key] }])),
        ...(audit.origin ? { origin: audit.origin } : {}),
      },
    })
    return { settings: after, changed }
  })
}

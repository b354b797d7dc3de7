import type { Db } from '../prisma/client.js'
import { accountIds } from './ledger/accounts.js'
import { toCents, type Tx } from './ledger/tx.js'

/**
 * A member's spending caps (docs/decisions/017-spending-caps.md): a daily and a monthly amount, each optional.
 * Each cap limits two things in its period, with the same number: what calls spend (the wallet's holds for calls,
 * pending or posted, counted when they were made) and what top-ups deposit (top-ups opened in the period that are
 * still open or succeeded). Days and months are counted in the member's time zone (UTC unless they chose one).
 * A hold or a top-up that would take the period's total over a cap is refused; reaching it exactly is allowed.
 */

export type CapPeriod = 'daily' | 'monthly'
export type CapMeasure = 'spend' | 'deposit'

export interface SpendingCaps {
  dailyCents: number | null
  monthlyCents: number | null
  timeZone: string
}

export const NO_CAPS: SpendingCaps = Object.freeze({ dailyCents: null, monthlyCents: null, timeZone: 'UTC' })

export interface PeriodTotals {
  todayCents: number
  thisMonthCents: number
}

export type CapCheck =
  | { allowed: true }
  | {
      allowed: false
      cap: CapPeriod
      measure: CapMeasure
      limitCents: number
      /** What the period already counts, before the refused amount. */
      usedCents: number
      /** What could still be spent (or deposited) in the period under this cap. */
      remainingCents: number
    }

/** The pure rule: would `amountCents` more keep the period's totals within the caps? The daily cap is checked first. */
export function capAllows(caps: Pick<SpendingCaps, 'dailyCents' | 'monthlyCents'>, totals: PeriodTotals, amountCents: number, measure: CapMeasure): CapCheck {
  const checks: Array<[CapPeriod, number | null, number]> = [
    ['daily', caps.dailyCents, totals.todayCents],
    ['monthly', caps.monthlyCents, totals.thisMonthCents],
  ]
  for (const [cap, limitCents, usedCents] of checks) {
    if (limitCents !== null && usedCents + amountCents > limitCents) {
      return { allowed: false, cap, measure, limitCents, usedCents, remainingCents: Math.max(0, limitCents - usedCents) }
    }
  }
  return { allowed: true }
}

export class SpendingCapInputError extends Error {
  override name = 'SpendingCapInputError'
}

/** True when both JavaScript (for display) and PostgreSQL (for the periods) know the time zone. */
export async function isKnownTimeZone(tx: Tx, timeZone: string): Promise<boolean> {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone })
  } catch {
    return false
  }
  const rows = await tx.$queryRaw<{ known: boolean }[]>`SELECT EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = ${timeZone}) AS known`
  return rows[0]?.known === true
}

export async function readSpendingCaps(tx: Tx, memberId: string): Promise<SpendingCaps> {
  const rows = await tx.$queryRaw<{ daily_cents: bigint | null; monthly_cents: bigint | null; time_zone: string }[]>`
    SELECT daily_cents, monthly_cents, time_zone FROM spending_caps WHERE member_id = ${memberId}::uuid`
  const row = rows[0]
  if (!row) return NO_CAPS
  return {
    dailyCents: row.daily_cents === null ? null : toCents(row.daily_cents),
    monthlyCents: row.monthly_cents === null ? null : toCents(row.monthly_cents),
    timeZone: row.time_zone,
  }
}

/** Sets (or removes, with nulls) the member's caps. Takes effect for the next hold or top-up. */
export async function setSpendingCaps(db: Db, memberId: string, caps: SpendingCaps): Promise<void> {
  for (const value of [caps.dailyCents, caps.monthlyCents]) {
    if (value !== null && (!Number.isSafeInteger(value) || value <= 0)) {
      throw new SpendingCapInputError('a cap is a positive whole number of cents, or none')
    }
  }
  if (caps.dailyCents !== null && caps.monthlyCents !== null && caps.monthlyCents < caps.dailyCents) {
    throw new SpendingCapInputError('the monthly cap cannot be lower than the daily cap')
  }
  if (!(await isKnownTimeZone(db, caps.timeZone))) throw new SpendingCapInputError(`unknown time zone "${caps.timeZone}"`)
  await db.$executeRaw`
    INSERT INTO spending_caps (member_id, daily_cents, monthly_cents, time_zone, updated_at)
    VALUES (${memberId}::uuid, ${caps.dailyCents}, ${caps.monthlyCents}, ${caps.timeZone}, now())
    ON CONFLICT (member_id) DO UPDATE
      SET daily_cents = EXCLUDED.daily_cents, monthly_cents = EXCLUDED.monthly_cents,
          time_zone = EXCLUDED.time_zone, updated_at = now()`
}

/**
 * What the wallet spent on calls today and this month (member's time zone): holds pending or posted, by when made.
 * The rule is the database's member_call_spending, which every call hold checks the caps with (migration
 * 20261123160000_spending_cap_in_call_holds), so the wallet page and the holds can never count differently.
 */
export async function spentInPeriods(tx: Tx, memberId: string, at: Date, timeZone: string): Promise<PeriodTotals> {
  const rows = await tx.$queryRaw<{ today: bigint; month: bigint }[]>`
    SELECT today, month FROM member_call_spending(${memberId}::uuid, ${at}::timestamptz, ${timeZone})`
  return { todayCents: toCents(rows[0]?.today), thisMonthCents: toCents(rows[0]?.month) }
}

/** What top-ups deposited (or are about to: checkouts still open) today and this month, in the member's time zone. */
export async function depositedInPeriods(tx: Tx, memberId: string, at: Date, timeZone: string): Promise<PeriodTotals> {
  const rows = await tx.$queryRaw<{ today: bigint; month: bigint }[]>`
    WITH bounds AS (
      SELECT date_trunc('day', ${at}::timestamptz, ${timeZone}) AS day_start,
             date_trunc('month', ${at}::timestamptz, ${timeZone}) AS month_start)
    SELECT coalesce(sum(t.amount_cents) FILTER (WHERE t.created_at >= b.day_start), 0)::bigint AS today,
           coalesce(sum(t.amount_cents), 0)::bigint AS month
    FROM bounds b
    LEFT JOIN topups t ON t.member_id = ${memberId}::uuid AND t.status IN ('open', 'succeeded') AND t.created_at >= b.month_start
    GROUP BY b.day_start`
  return { todayCents: toCents(rows[0]?.today), thisMonthCents: toCents(rows[0]?.month) }
}

/** Serialises a member's capped decisions: the wallet row, the lock every movement of the wallet takes first. */
async function lockWallet(tx: Tx, memberId: string): Promise<void> {
  await tx.$queryRaw`SELECT id FROM accounts WHERE id = ${accountIds.memberWallet(memberId)} FOR NO KEY UPDATE`
}

/**
 * May the member's wallet be held `amountCents` more for a call at `at`? Runs inside the hold's transaction, before
 * the hold: it locks the member's wallet (as the hold is about to), so two holds of one member are checked one after
 * the other. A member without caps costs one indexed read and no lock.
 */
export async function spendingCapAllows(tx: Tx, memberId: string, amountCents: number, at: Date): Promise<CapCheck> {
  const caps = await readSpendingCaps(tx, memberId)
  if (caps.dailyCents === null && caps.monthlyCents === null) return { allowed: true }
  await lockWallet(tx, memberId)
  return capAllows(caps, await spentInPeriods(tx, memberId, at, caps.timeZone), amountCents, 'spend')
}

/** May the member open a top-up of `amountCents` at `at`? Same locking as spendingCapAllows; run it in the transaction
 *  that records the top-up. */
export async function depositCapAllows(tx: Tx, memberId: string, amountCents: number, at: Date): Promise<CapCheck> {
  const caps = await readSpendingCaps(tx, memberId)
  if (caps.dailyCents === null && caps.monthlyCents === null) return { allowed: true }
  await lockWallet(tx, memberId)
  return capAllows(caps, await depositedInPeriods(tx, memberId, at, caps.timeZone), amountCents, 'deposit')
}

/** Everything the wallet page shows about caps: the caps and both measures' totals. Reads only. */
export async function capUsage(tx: Tx, memberId: string, at: Date): Promise<{ caps: SpendingCaps; spent: PeriodTotals; deposited: PeriodTotals }> {
  const caps = await readSpendingCaps(tx, memberId)
  const [spent, deposited] = await Promise.all([
    spentInPeriods(tx, memberId, at, caps.timeZone),
    depositedInPeriods(tx, memberId, at, caps.timeZone),
  ])
  return { caps, spent, deposited }
}

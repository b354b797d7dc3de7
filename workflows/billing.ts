/**
 * The billing arithmetic: the one place where the money rules of a call are computed.
 * Pure functions over integer cents, imported by the workflow, the activities, the web and the tests.
 * Amounts are plain numbers that must be safe integers; every entry point checks that.
 */

export type Cents = number

export interface BillingSettings {
  /** Length of one billing period in ms (60 000 in production). */
  periodMs: number
  /** A call that lasts no longer than this costs nothing. */
  graceMs: number
  /** Warn the member when fewer than this many further periods are funded. */
  lowBalancePeriods: number
  /** The plugin is presumed gone after this long without a heartbeat. */
  heartbeatTimeoutMs: number
  /** Platform commission in basis points of the charged amount. */
  commissionBps: number
  /** The company's share of what remains after commission, in basis points (0 without a company). */
  companyShareBps: number
}

export const BPS = 10_000

export function assertCents(value: number, what: string): Cents {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${what} must be a non-negative whole number of cents, got ${value}`)
  }
  return value
}

/** Whether a member with this available balance may start a call at this rate (rule 1). */
export function canStartCall(availableCents: Cents, ratePerMinuteCents: Cents): boolean {
  return availableCents >= ratePerMinuteCents
}

/** How many whole periods an available balance funds at a rate. */
export function fundedPeriods(availableCents: Cents, ratePerMinuteCents: Cents): number {
  assertCents(availableCents, 'available balance')
  if (ratePerMinuteCents <= 0) throw new RangeError('rate must be positive')
  return Math.floor(availableCents / ratePerMinuteCents)
}

/** Rule 4: after a hold, is the member short of funds for the next W periods? */
export function isLowBalance(availableAfterHoldCents: Cents, ratePerMinuteCents: Cents, lowBalancePeriods: number): boolean {
  return fundedPeriods(availableAfterHoldCents, ratePerMinuteCents) < lowBalancePeriods
}

/** The 1-based period that is running at `elapsedMs` after the start (period k covers ((k-1)P, kP]). */
export function periodAt(elapsedMs: number, periodMs: number): number {
  if (elapsedMs <= 0) return 1
  return Math.ceil(elapsedMs / periodMs)
}

/** When period k begins, in ms after the call's start. */
export function periodStartOffsetMs(k: number, periodMs: number): number {
  return (k - 1) * periodMs
}

/** The most time ahead of its period that a period's hold is made (see holdAheadMs). */
export const HOLD_AHEAD_MAX_MS = 5_000

/**
 * How long before period k begins its hold is made: a tenth of the period, at most HOLD_AHEAD_MAX_MS (5 s of a 60-s
 * period). Rule 2 asks for the money to be held when the period starts; a hold started on the boundary itself
 * commits after it, by however late the timer fires and the stack answers (a few hundred milliseconds when quiet,
 * seconds under load), and for that long the member talks unreserved. Made a little ahead, the hold is in place when
 * the period starts. Nothing is charged for it: a period is charged only once it has started (rule 3), and a hold
 * for a period the call never reached is voided at settlement like any unused one. A hold refused ahead is not the
 * end: the member has paid up to the boundary, may top up meanwhile, and is asked again on the boundary itself
 * (docs/decisions/045).
 */
export function holdAheadMs(periodMs: number): number {
  return Math.min(HOLD_AHEAD_MAX_MS, Math.floor(periodMs / 10))
}

/**
 * Rule 3: the number of periods a call of this length is charged for.
 * Each started period is charged in full; a call no longer than the grace time costs nothing;
 * never more periods than were held (a period whose hold failed was never started).
 */
export function billablePeriods(elapsedMs: number, settings: Pick<BillingSettings, 'periodMs' | 'graceMs'>, heldPeriods: number): number {
  if (elapsedMs <= settings.graceMs) return 0
  return Math.min(periodAt(elapsedMs, settings.periodMs), heldPeriods)
}

export interface ChargeSplit {
  chargedCents: Cents
  commissionCents: Cents
  companyShareCents: Cents
  operatorEarningsCents: Cents
}

/**
 * Rule 6: split a charge into the platform's commission, the company's share of the rest, and the operator's
 * earnings. Integer arithmetic, rounding down in the platform's and the company's parts; the operator gets the
 * remainder, so the three parts always add up to the charge exactly.
 */
export function splitCharge(chargedCents: Cents, commissionBps: number, companyShareBps: number): ChargeSplit {
  assertCents(chargedCents, 'charge')
  for (const [name, bps] of [['commission', commissionBps], ['company share', companyShareBps]] as const) {
    if (!Number.isInteger(bps) || bps < 0 || bps > BPS) throw new RangeError(`${name} must be 0..${BPS} basis points`)
  }
  // The products below are exact integers while charge × 10 000 stays under 2^53 (charges up to ~9e11 cents).
  if (!Number.isSafeInteger(chargedCents * BPS)) throw new RangeError('charge too large to split exactly')
  const commissionCents = Math.floor((chargedCents * commissionBps) / BPS)
  const afterCommission = chargedCents - commissionCents
  const companyShareCents = Math.floor((afterCommission * companyShareBps) / BPS)
  const operatorEarningsCents = afterCommission - companyShareCents
  return { chargedCents, commissionCents, companyShareCents, operatorEarningsCents }
}

/** The whole settlement of a call: how many periods are charged and how the money is split. */
export function settleAmounts(input: {
  elapsedMs: number
  heldPeriods: number
  ratePerMinuteCents: Cents
  settings: Pick<BillingSettings, 'periodMs' | 'graceMs' | 'commissionBps' | 'companyShareBps'>
}): ChargeSplit & { billedPeriods: number } {
  const billedPeriods = billablePeriods(input.elapsedMs, input.settings, input.heldPeriods)
  const charged = billedPeriods * input.ratePerMinuteCents
  return { billedPeriods, ...splitCharge(charged, input.settings.commissionBps, input.settings.companyShareBps) }
}

/** Transfer ids: deterministic, so each doubles as its idempotency key. */
export const transferIds = {
  periodHold: (callId: string, k: number) => `call:${callId}:period:${k}`,
  prepaidHold: (callId: string) => `call:${callId}:prepaid`,
  commission: (callId: string) => `call:${callId}:commission`,
  companyShare: (callId: string) => `call:${callId}:company-share`,
} as const

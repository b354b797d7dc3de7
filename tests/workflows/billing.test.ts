import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  holdAheadMs,
  billablePeriods,
  canStartCall,
  fundedPeriods,
  isLowBalance,
  periodAt,
  settleAmounts,
  splitCharge,
} from '../../workflows/billing.js'

const cents = fc.integer({ min: 0, max: 10_000_000_00 })
const rate = fc.integer({ min: 1, max: 100_000 })
const bps = fc.integer({ min: 0, max: 10_000 })
const periodMs = fc.integer({ min: 100, max: 120_000 })

describe('billing arithmetic', () => {
  it('holds a period a tenth of it ahead, never more than 5 s', () => {
    expect(holdAheadMs(60_000)).toBe(5_000)
    expect(holdAheadMs(10_000)).toBe(1_000)
    expect(holdAheadMs(1_000)).toBe(100)
    fc.assert(fc.property(fc.integer({ min: 1, max: 3_600_000 }), (periodMs) => {
      const ahead = holdAheadMs(periodMs)
      expect(ahead).toBeGreaterThanOrEqual(0)
      expect(ahead).toBeLessThanOrEqual(Math.min(5_000, periodMs / 10))
    }))
  })

  it('splits any charge into parts that add up to it exactly, none negative', () => {
    fc.assert(
      fc.property(cents, bps, bps, (charged, commission, share) => {
        const split = splitCharge(charged, commission, share)
        expect(split.commissionCents + split.companyShareCents + split.operatorEarningsCents).toBe(charged)
        expect(split.commissionCents).toBeGreaterThanOrEqual(0)
        expect(split.companyShareCents).toBeGreaterThanOrEqual(0)
        expect(split.operatorEarningsCents).toBeGreaterThanOrEqual(0)
        for (const part of Object.values(split)) expect(Number.isSafeInteger(part)).toBe(true)
      }),
    )
  })

  it('rounds the platform and company parts down, never taking more than their rate', () => {
    fc.assert(
      fc.property(cents, bps, bps, (charged, commission, share) => {
        const split = splitCharge(charged, commission, share)
        expect(split.commissionCents * 10_000).toBeLessThanOrEqual(charged * commission)
        expect(split.companyShareCents * 10_000).toBeLessThanOrEqual((charged - split.commissionCents) * share)
      }),
    )
    expect(splitCharge(101, 2_000, 1_500)).toEqual({ chargedCents: 101, commissionCents: 20, companyShareCents: 12, operatorEarningsCents: 69 })
  })

  it('charges each started period in full, and nothing within the grace time', () => {
    fc.assert(
      fc.property(periodMs, fc.integer({ min: 0, max: 10_000 }), fc.integer({ min: 0, max: 10_000_000 }), fc.integer({ min: 1, max: 500 }), (period, grace, elapsed, held) => {
        const billed = billablePeriods(elapsed, { periodMs: period, graceMs: grace }, held)
        if (elapsed <= grace) expect(billed).toBe(0)
        else expect(billed).toBe(Math.min(Math.ceil(elapsed / period), held))
      }),
    )
    expect(billablePeriods(5_000, { periodMs: 60_000, graceMs: 5_000 }, 1)).toBe(0)
    expect(billablePeriods(5_001, { periodMs: 60_000, graceMs: 5_000 }, 1)).toBe(1)
    expect(billablePeriods(60_000, { periodMs: 60_000, graceMs: 5_000 }, 2)).toBe(1)
    expect(billablePeriods(60_001, { periodMs: 60_000, graceMs: 5_000 }, 2)).toBe(2)
  })

  it('never charges past the funded periods, whatever the call length', () => {
    fc.assert(
      fc.property(cents, rate, fc.integer({ min: 0, max: 100_000_000 }), periodMs, (balance, r, elapsed, period) => {
        // The periods a wallet can fund are all the workflow can ever hold.
        const held = Math.max(1, Math.min(fundedPeriods(balance, r), 10_000))
        if (!canStartCall(balance, r)) return
        const result = settleAmounts({
          elapsedMs: elapsed,
          heldPeriods: held,
          ratePerMinuteCents: r,
          settings: { periodMs: period, graceMs: 5_000, commissionBps: 2_000, companyShareBps: 1_000 },
        })
        expect(result.chargedCents).toBeLessThanOrEqual(balance)
        expect(result.chargedCents).toBe(result.billedPeriods * r)
        expect(result.billedPeriods).toBeLessThanOrEqual(held)
      }),
    )
  })

  it('refuses a start that one period at the rate does not cover', () => {
    fc.assert(
      fc.property(cents, rate, (balance, r) => {
        expect(canStartCall(balance, r)).toBe(balance >= r)
      }),
    )
  })

  it('warns when fewer than W further periods are funded', () => {
    fc.assert(
      fc.property(cents, rate, fc.integer({ min: 1, max: 10 }), (available, r, w) => {
        expect(isLowBalance(available, r, w)).toBe(Math.floor(available / r) < w)
      }),
    )
    expect(isLowBalance(199, 100, 2)).toBe(true)
    expect(isLowBalance(200, 100, 2)).toBe(false)
  })

  it('numbers periods so that period k covers ((k-1)P, kP]', () => {
    expect(periodAt(0, 1000)).toBe(1)
    expect(periodAt(1000, 1000)).toBe(1)
    expect(periodAt(1001, 1000)).toBe(2)
  })

  it('refuses amounts that are not whole, non-negative, safe cents', () => {
    expect(() => splitCharge(1.5, 0, 0)).toThrow(RangeError)
    expect(() => splitCharge(-1, 0, 0)).toThrow(RangeError)
    expect(() => splitCharge(100, 10_001, 0)).toThrow(RangeError)
    expect(() => fundedPeriods(Number.MAX_SAFE_INTEGER + 2, 1)).toThrow(RangeError)
    expect(() => splitCharge(2 ** 50, 2_000, 0)).toThrow(/too large to split exactly/)
  })
})

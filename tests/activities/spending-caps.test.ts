import { randomUUID } from 'node:crypto'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCallActivities } from '../../activities/calls.js'
import { checkLedger } from '../../activities/ledger/check.js'
import { accountIds } from '../../activities/ledger/accounts.js'
import { createTransfer } from '../../activities/ledger/transfers.js'
import {
  capAllows,
  capUsage,
  depositCapAllows,
  depositedInPeriods,
  setSpendingCaps,
  SpendingCapInputError,
  spendingCapAllows,
  spentInPeriods,
} from '../../activities/spending-caps.js'
import type { Db } from '../../prisma/client.js'
import { callInput, testConfig } from '../support/call-harness.js'
import { connectTestDb, createMember, createOperator } from '../support/db.js'

let db: Db
beforeAll(() => {
  db = connectTestDb()
})
afterAll(async () => {
  expect((await checkLedger(db)).violations).toEqual([])
  await db?.$disconnect()
})

describe('the cap rule', () => {
  it('allows reaching a cap exactly and refuses going over it, daily before monthly', () => {
    const caps = { dailyCents: 1_000, monthlyCents: 5_000 }
    expect(capAllows(caps, { todayCents: 900, thisMonthCents: 900 }, 100, 'spend')).toEqual({ allowed: true })
    expect(capAllows(caps, { todayCents: 900, thisMonthCents: 900 }, 101, 'spend')).toEqual({
      allowed: false, cap: 'daily', measure: 'spend', limitCents: 1_000, usedCents: 900, remainingCents: 100,
    })
    expect(capAllows(caps, { todayCents: 0, thisMonthCents: 4_950 }, 100, 'deposit')).toMatchObject({ allowed: false, cap: 'monthly', remainingCents: 50 })
    expect(capAllows({ dailyCents: null, monthlyCents: null }, { todayCents: 10 ** 9, thisMonthCents: 10 ** 9 }, 10 ** 6, 'spend')).toEqual({ allowed: true })
  })

  it('allows an amount exactly when every set cap still covers the period total with it', () => {
    const cap = fc.option(fc.integer({ min: 1, max: 100_000 }), { nil: null })
    fc.assert(
      fc.property(cap, cap, fc.nat(100_000), fc.nat(100_000), fc.integer({ min: 1, max: 100_000 }), (daily, monthly, today, extra, amount) => {
        const totals = { todayCents: today, thisMonthCents: today + extra }
        const check = capAllows({ dailyCents: daily, monthlyCents: monthly }, totals, amount, 'spend')
        const within = (daily === null || today + amount <= daily) && (monthly === null || today + extra + amount <= monthly)
        expect(check.allowed).toBe(within)
        if (!check.allowed) expect(check.remainingCents).toBeLessThan(amount)
      }),
    )
  })
})

describe('what a period counts', () => {
  it('counts call holds, pending and posted (the part posted), and neither top-ups nor adjustments', async () => {
    const calls = createCallActivities(db)
    const config = testConfig()
    const member = await createMember(db, { fundedCents: 5_000 }) // an adjustment: not spending
    const operator = await createOperator(db, { ratePerMinuteCents: 150 })
    const input = await callInput(db, config, { memberId: member.id, operatorId: operator.id, ratePerMinuteCents: 150 })
    const startedAtMs = Date.now()
    await calls.openCall({ ...input, startedAtMs })
    await calls.holdNextPeriod({ callId: input.callId, period: 2 })
    await calls.holdNextPeriod({ callId: input.callId, period: 3 })
    // Three periods held (450), pending.
    expect(await spentInPeriods(db, member.id, new Date(), 'UTC')).toEqual({ todayCents: 450, thisMonthCents: 450 })
    // Ending within the second period posts two and releases the third.
    await calls.settleCall({ callId: input.callId, endReason: 'member_hangup', endedAtMs: startedAtMs + 1_500 })
    expect(await spentInPeriods(db, member.id, new Date(), 'UTC')).toEqual({ todayCents: 300, thisMonthCents: 300 })
    // Tomorrow the day starts again; in forty days, the month too.
    expect(await spentInPeriods(db, member.id, new Date(Date.now() + 36 * 3_600_000), 'UTC')).toMatchObject({ todayCents: 0 })
    expect(await spentInPeriods(db, member.id, new Date(Date.now() + 40 * 86_400_000), 'UTC')).toEqual({ todayCents: 0, thisMonthCents: 0 })
  })

  it('counts days and months in the member’s time zone', async () => {
    const member = await createMember(db)
    // 23:00 UTC on 28 February is 18:00 in New York.
    await db.topUp.create({
      data: {
        id: randomUUID(), memberId: member.id, amountCents: 2_000n, idempotencyKey: randomUUID(), provider: 'sandbox',
        status: 'succeeded', createdAt: new Date('2027-02-28T23:00:00Z'), expiresAt: new Date('2027-02-28T23:30:00Z'),
        completedAt: new Date('2027-02-28T23:01:00Z'),
      },
    })
    // 03:00 UTC on 1 March: a new day and month in UTC, still 28 February (22:00) in New York.
    const at = new Date('2027-03-01T03:00:00Z')
    expect(await depositedInPeriods(db, member.id, at, 'UTC')).toEqual({ todayCents: 0, thisMonthCents: 0 })
    expect(await depositedInPeriods(db, member.id, at, 'America/New_York')).toEqual({ todayCents: 2_000, thisMonthCents: 2_000 })
    await setSpendingCaps(db, member.id, { dailyCents: 2_500, monthlyCents: null, timeZone: 'America/New_York' })
    await expect(db.$transaction((tx) => depositCapAllows(tx, member.id, 600, at))).resolves.toMatchObject({ allowed: false, cap: 'daily', usedCents: 2_000 })
    await setSpendingCaps(db, member.id, { dailyCents: 2_500, monthlyCents: null, timeZone: 'UTC' })
    await expect(db.$transaction((tx) => depositCapAllows(tx, member.id, 600, at))).resolves.toEqual({ allowed: true })
  })

  it('counts open checkouts and successful top-ups as deposits, not declined or expired ones', async () => {
    const member = await createMember(db)
    const now = new Date()
    const row = (status: 'open' | 'succeeded' | 'declined' | 'expired', amount: number) => ({
      id: randomUUID(), memberId: member.id, amountCents: BigInt(amount), idempotencyKey: randomUUID(), provider: 'sandbox', status,
      createdAt: now, expiresAt: new Date(now.getTime() + 60_000),
      completedAt: status === 'open' ? null : now, declineReason: status === 'declined' ? 'card_declined' : null,
    })
    await db.topUp.createMany({ data: [row('open', 100), row('succeeded', 200), row('declined', 400), row('expired', 800)] })
    expect(await depositedInPeriods(db, member.id, new Date(), 'UTC')).toEqual({ todayCents: 300, thisMonthCents: 300 })
  })
})

describe('spendingCapAllows', () => {
  it('refuses a hold that would take the day over the cap, inside the hold’s transaction', async () => {
    const calls = createCallActivities(db)
    const config = testConfig()
    const member = await createMember(db, { fundedCents: 5_000 })
    const operator = await createOperator(db, { ratePerMinuteCents: 200 })
    await setSpendingCaps(db, member.id, { dailyCents: 500, monthlyCents: 20_000, timeZone: 'Europe/Paris' })
    const input = await callInput(db, config, { memberId: member.id, operatorId: operator.id, ratePerMinuteCents: 200 })
    await calls.openCall({ ...input, startedAtMs: Date.now() })
    await calls.holdNextPeriod({ callId: input.callId, period: 2 })
    // 400 spent: another 100 reaches the cap exactly; another 200 would pass it.
    await expect(db.$transaction((tx) => spendingCapAllows(tx, member.id, 100, new Date()))).resolves.toEqual({ allowed: true })
    await expect(db.$transaction((tx) => spendingCapAllows(tx, member.id, 200, new Date()))).resolves.toEqual({
      allowed: false, cap: 'daily', measure: 'spend', limitCents: 500, usedCents: 400, remainingCents: 100,
    })
    const usage = await capUsage(db, member.id, new Date())
    expect(usage).toMatchObject({ caps: { dailyCents: 500, monthlyCents: 20_000, timeZone: 'Europe/Paris' }, spent: { todayCents: 400 } })
    await calls.settleCall({ callId: input.callId, endReason: 'member_hangup', endedAtMs: Date.now() })
  })

  it('lets only one of two concurrent holds through when both together would pass the cap', async () => {
    const member = await createMember(db, { fundedCents: 5_000 })
    const operator = await createOperator(db)
    await setSpendingCaps(db, member.id, { dailyCents: 300, monthlyCents: null, timeZone: 'UTC' })
    const attempt = () =>
      db.$transaction(async (tx) => {
        const check = await spendingCapAllows(tx, member.id, 200, new Date())
        if (check.allowed) {
          await createTransfer(tx, {
            id: `test-spend:${randomUUID()}`,
            debitAccountId: accountIds.memberWallet(member.id),
            creditAccountId: accountIds.operatorEarnings(operator.id),
            amountCents: 200,
            pending: false,
            code: 'call_hold',
          })
        }
        return check.allowed
      })
    const results = await Promise.all([attempt(), attempt(), attempt()])
    expect(results.filter(Boolean)).toHaveLength(1)
    expect(await spentInPeriods(db, member.id, new Date(), 'UTC')).toMatchObject({ todayCents: 200 })
  })

  it('allows everything for a member without caps', async () => {
    const member = await createMember(db)
    await expect(db.$transaction((tx) => spendingCapAllows(tx, member.id, 10 ** 9, new Date()))).resolves.toEqual({ allowed: true })
  })
})

describe('the call’s own holds', () => {
  it('hold up to the cap, refuse the period that would pass it, and answer a replayed hold as made', async () => {
    const calls = createCallActivities(db)
    const member = await createMember(db, { fundedCents: 5_000 })
    const operator = await createOperator(db, { ratePerMinuteCents: 200 })
    await setSpendingCaps(db, member.id, { dailyCents: null, monthlyCents: 400, timeZone: 'UTC' })
    const input = await callInput(db, testConfig(), { memberId: member.id, operatorId: operator.id, ratePerMinuteCents: 200 })
    await calls.openCall({ ...input, startedAtMs: Date.now() })
    expect(await calls.holdNextPeriod({ callId: input.callId, period: 2 })).toMatchObject({ held: true, heldPeriods: 2 })
    expect(await calls.holdNextPeriod({ callId: input.callId, period: 3 })).toEqual({ held: false, reason: 'spending_cap' })
    // The cap lowered below what is held: a replay of a hold already made is still the same hold.
    await setSpendingCaps(db, member.id, { dailyCents: 100, monthlyCents: 100, timeZone: 'UTC' })
    expect(await calls.holdNextPeriod({ callId: input.callId, period: 2 })).toMatchObject({ held: true, heldPeriods: 2 })
    expect(await spentInPeriods(db, member.id, new Date(), 'UTC')).toEqual({ todayCents: 400, thisMonthCents: 400 })
    await calls.settleCall({ callId: input.callId, endReason: 'spending_cap', endedAtMs: Date.now() })
  })

  it('bill no time past the cap when settlement catches up periods no worker held', async () => {
    const calls = createCallActivities(db)
    const member = await createMember(db, { fundedCents: 5_000 })
    const operator = await createOperator(db, { ratePerMinuteCents: 100 })
    await setSpendingCaps(db, member.id, { dailyCents: 250, monthlyCents: null, timeZone: 'UTC' })
    const config = testConfig()
    const input = await callInput(db, config, { memberId: member.id, operatorId: operator.id, ratePerMinuteCents: 100 })
    const startedAtMs = Date.now() - 10 * config.BILLING_PERIOD_MS
    await calls.openCall({ ...input, startedAtMs })
    // Ten periods went by with no worker holding them: the cap lets two more be billed, not nine.
    const settlement = await calls.settleCall({ callId: input.callId, endReason: 'operator_hangup', endedAtMs: Date.now() })
    expect(settlement).toMatchObject({ billedMinutes: 2, chargedCents: 200 })
    expect(await spentInPeriods(db, member.id, new Date(), 'UTC')).toMatchObject({ todayCents: 200 })
  })
})

describe('setSpendingCaps', () => {
  it('refuses unknown time zones, non-positive caps and a monthly cap below the daily one', async () => {
    const member = await createMember(db)
    await expect(setSpendingCaps(db, member.id, { dailyCents: 100, monthlyCents: null, timeZone: 'Mars/Olympus' })).rejects.toThrow(SpendingCapInputError)
    await expect(setSpendingCaps(db, member.id, { dailyCents: 0, monthlyCents: null, timeZone: 'UTC' })).rejects.toThrow(SpendingCapInputError)
    await expect(setSpendingCaps(db, member.id, { dailyCents: 1.5, monthlyCents: null, timeZone: 'UTC' })).rejects.toThrow(SpendingCapInputError)
    await expect(setSpendingCaps(db, member.id, { dailyCents: 500, monthlyCents: 400, timeZone: 'UTC' })).rejects.toThrow(/monthly/)
    await setSpendingCaps(db, member.id, { dailyCents: 500, monthlyCents: null, timeZone: 'Asia/Tokyo' })
    await setSpendingCaps(db, member.id, { dailyCents: null, monthlyCents: 9_000, timeZone: 'Asia/Tokyo' })
    expect(await db.spendingCap.findUnique({ where: { memberId: member.id } })).toMatchObject({ dailyCents: null, monthlyCents: 9_000n, timeZone: 'Asia/Tokyo' })
  })
})

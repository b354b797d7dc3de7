import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCallActivities } from '../../activities/calls.js'
import { checkLedger } from '../../activities/ledger/check.js'
import { accountIds } from '../../activities/ledger/accounts.js'
import { createTransfer, voidPendingTransfers } from '../../activities/ledger/transfers.js'
import type { Db } from '../../prisma/client.js'
import { transferIds } from '../../workflows/billing.js'
import type { EndReason, Settlement } from '../../workflows/definitions.js'
import { callInput, testConfig } from '../support/call-harness.js'
import { connectTestDb, createCompany, createMember, createOperator } from '../support/db.js'

// Settlement in one statement (settle_call, docs/decisions/030): the same ledger, call row, events and Settlement as
// the interactive transaction it replaces, which stays for the rare call that needs catching up.
const PERIOD = 1_000 // testConfig's billing period; its grace time is 300 ms
let db: Db
beforeAll(() => {
  db = connectTestDb()
})
afterAll(async () => {
  await db?.$disconnect()
})

/**
 * The database as the activities see it, with a hook on its statements: `onQuery` runs before each raw query and may
 * answer in its place. Records the statements and how many interactive transactions were opened.
 */
function hookedDb(onQuery: (sql: string, values: unknown[]) => Promise<unknown> | undefined = () => undefined) {
  const seen = { queries: [] as string[], transactions: 0 }
  const hooked = new Proxy(db, {
    get(target, prop) {
      if (prop === '$queryRaw') {
        return async (sql: TemplateStringsArray, ...values: unknown[]) => {
          const text = sql.join('?')
          seen.queries.push(text)
          return (await onQuery(text, values)) ?? target.$queryRaw(sql, ...values)
        }
      }
      if (prop === '$transaction') seen.transactions++
      const value: unknown = Reflect.get(target, prop, target)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
  return { db: hooked, seen }
}

const isSettleStatement = (sql: string) => sql.includes('settle_call(')

/** A database on which settle_call always finds the call moved on: settlement falls back to today's transaction. */
function interactiveOnly() {
  return hookedDb((sql, values) =>
    isSettleStatement(sql)
      ? db.$queryRaw`SELECT 'stale' AS outcome, *, false AS heartbeat_stale FROM calls WHERE id = ${values[0] as string}::uuid`
      : undefined,
  )
}

interface Scenario {
  mode?: 'prepaid'
  rate: number
  /** Per-minute: the periods held before the end; prepaid: the block. */
  held: number
  elapsedMs: number
  companyShareBps?: number
  /** What the member's wallet holds before the call (10 000 unless said). */
  fundedCents?: number
}

/**
 * Opens a call `elapsedMs` ago between parties of its own (a company of its own too, if asked) and holds its periods,
 * as the workflow would. `ids` are the call's and its parties' ids, which outcomeOf replaces.
 */
async function openScenario(scenario: Scenario, startedAtMs = Date.now() - scenario.elapsedMs) {
  const { rate, companyShareBps } = scenario
  const company = companyShareBps === undefined ? null : await createCompany(db, companyShareBps)
  const companyId = company?.companyId ?? undefined
  const member = await createMember(db, { fundedCents: scenario.fundedCents ?? 10_000 })
  const operator = await createOperator(db, { ratePerMinuteCents: rate, companyId })
  const prepaid = scenario.mode === 'prepaid'
  const parties = { memberId: member.id, operatorId: operator.id, ratePerMinuteCents: rate, companyId, companyShareBps }
  const input = await callInput(db, testConfig(), parties, prepaid ? { mode: 'prepaid', prepaidMinutes: scenario.held } : {})
  const activities = createCallActivities(db)
  expect(await activities.openCall({ ...input, startedAtMs })).toMatchObject({ status: 'active' })
  for (let k = 2; !prepaid && k <= scenario.held; k++) {
    expect(await activities.holdNextPeriod({ callId: input.callId, period: k })).toMatchObject({ held: true })
  }
  const ids = [input.callId, member.id, operator.id, ...(companyId ? [companyId] : [])]
  return { callId: input.callId, ids, endedAtMs: startedAtMs + scenario.elapsedMs }
}

function settle(database: Db, callId: string, endReason: EndReason, endedAtMs: number): Promise<Settlement> {
  return createCallActivities(database).settleCall({ callId, endReason, endedAtMs })
}

interface Outcome {
  call: Record<string, unknown>
  transfers: Array<Record<string, unknown>>
  events: Array<{ type: string; payload: unknown }>
}

/**
 * What a settlement left behind, with the call's and its parties' ids replaced, and without the moments that differ
 * between two runs: the call's row, its transfers, its events and the balances of its parties' accounts.
 */
async function outcomeOf(callId: string, ids: string[]): Promise<Outcome> {
  const [call] = await db.$queryRaw<Record<string, unknown>[]>`
    SELECT id, member_id, operator_id, company_id, mode, status, started_at, ended_at, end_reason, held_periods, low_balance,
      billed_minutes, charged_cents, commission_cents, company_share_cents, operator_earnings_cents,
      settled_at IS NOT NULL AS settled
    FROM calls WHERE id = ${callId}::uuid`
  const byId = { orderBy: { id: 'asc' } } as const
  const transfers = await db.transfer.findMany({ where: { callId }, ...byId, omit: { createdAt: true, resolvedAt: true } })
  // call.started is the opening's (it names the member's request, which differs between two runs), not the settlement's.
  const events = await db.outboxEvent.findMany({ where: { callId, type: { not: 'call.started' } }, ...byId, omit: { id: true, createdAt: true } })
  const accounts = await db.account.findMany({ where: { ownerId: { in: ids } }, ...byId, omit: { createdAt: true } })
  let text = JSON.stringify({ call, transfers, events, accounts }, (_key, value: unknown) =>
    typeof value === 'bigint' ? value.toString() : value,
  )
  ids.forEach((id, i) => (text = text.replaceAll(id, `<party ${i}>`)))
  return JSON.parse(text) as Outcome
}

/** Each transfer of the call by its id's last part, as [status, posted amount]. */
const statusesOf = (outcome: Outcome) =>
  Object.fromEntries(outcome.transfers.map((t) => [String(t.id).replace('call:<party 0>:', ''), [t.status, t.postedAmount]]))

const eventTypes = (outcome: Outcome) => outcome.events.map((e) => e.type)

/** Settles the same scenario twice, in one statement and in today's transaction, and compares all they left. */
async function settleBothWays(scenario: Scenario, endReason: EndReason): Promise<{ settlement: Settlement; outcome: Outcome }> {
  const startedAtMs = Date.now() - scenario.elapsedMs
  const results = []
  for (const way of [hookedDb(), interactiveOnly()]) {
    const { callId, ids, endedAtMs } = await openScenario(scenario, startedAtMs)
    const settlement = await settle(way.db, callId, endReason, endedAtMs)
    results.push({ settlement: { ...settlement, callId: '<party 0>' }, outcome: await outcomeOf(callId, ids), seen: way.seen })
  }
  const [oneStatement, interactive] = results as [(typeof results)[0], (typeof results)[0]]
  // One way is a read and the settlement's statement, without an interactive transaction; the other, the transaction.
  expect(oneStatement.seen.queries).toHaveLength(2)
  expect(oneStatement.seen.queries.filter(isSettleStatement)).toHaveLength(1)
  expect(oneStatement.seen.transactions).toBe(0)
  expect(interactive.seen.transactions).toBe(1)
  expect(oneStatement.settlement).toEqual(interactive.settlement)
  expect(oneStatement.outcome).toEqual(interactive.outcome)
  expect((await checkLedger(db)).violations).toEqual([])
  return oneStatement
}

describe('settling a call in one statement', () => {
  it('posts the periods used and releases the rest (billed < held), as the transaction did', async () => {
    const { settlement, outcome } = await settleBothWays({ rate: 137, held: 3, elapsedMs: 1.5 * PERIOD }, 'member_hangup')
    expect(settlement).toMatchObject({ billedMinutes: 2, chargedCents: 274, commissionCents: 54, operatorEarningsCents: 220 })
    expect(settlement.companyShareCents).toBe(0)
    expect(statusesOf(outcome)).toEqual({
      'period:1': ['posted', '137'],
      'period:2': ['posted', '137'],
      'period:3': ['voided', '0'],
      commission: ['posted', '54'],
    })
    // A plugin's end: no call.ending, only call.settled, whose payload is the Settlement.
    expect(eventTypes(outcome)).toEqual(['call.settled'])
    expect(outcome.events[0]!.payload).toEqual(settlement)
  })

  it('posts every period held (billed = held), moves the company’s share and tells of a platform end', async () => {
    const scenario = { rate: 333, held: 2, elapsedMs: 1.5 * PERIOD, companyShareBps: 1_500 }
    const { settlement, outcome } = await settleBothWays(scenario, 'funds_exhausted')
    // 666 charged: 133 commission; 15 % of the remaining 533 is 79 (rounded down); the operator keeps 454.
    expect(settlement).toMatchObject({ billedMinutes: 2, chargedCents: 666, commissionCents: 133, companyShareCents: 79 })
    expect(settlement.operatorEarningsCents).toBe(454)
    expect(statusesOf(outcome)).toMatchObject({ 'period:2': ['posted', '333'], 'company-share': ['posted', '79'] })
    expect(eventTypes(outcome)).toEqual(['call.ending', 'call.settled'])
    expect(outcome.events[0]!.payload).toEqual({ callId: '<party 0>', reason: 'funds_exhausted', endedAtMs: settlement.endedAtMs })
  })

  it('charges nothing within the grace time, moves no commission and clears the low-balance flag', async () => {
    const scenario = { rate: 250, held: 1, elapsedMs: 200, companyShareBps: 2_000, fundedCents: 600 }
    const { settlement, outcome } = await settleBothWays(scenario, 'operator_hangup')
    expect(settlement).toMatchObject({ billedMinutes: 0, chargedCents: 0, commissionCents: 0, companyShareCents: 0 })
    expect(statusesOf(outcome)).toEqual({ 'period:1': ['voided', '0'] })
    expect(eventTypes(outcome)).toEqual(['call.low_balance', 'call.settled'])
    expect(outcome.call).toMatchObject({ low_balance: false })
  })

  it('posts the used part of a prepaid block and releases the rest, with and without a company', async () => {
    const prepaid = { mode: 'prepaid', rate: 199 } as const
    const withCompany = await settleBothWays({ ...prepaid, held: 5, elapsedMs: 2.2 * PERIOD, companyShareBps: 3_333 }, 'other')
    const { settlement } = withCompany
    expect(settlement).toMatchObject({ billedMinutes: 3, chargedCents: 597 })
    expect(statusesOf(withCompany.outcome)).toMatchObject({
      prepaid: ['posted', '597'],
      'company-share': ['posted', String(settlement.companyShareCents)],
    })
    const usedUp = await settleBothWays({ ...prepaid, held: 2, elapsedMs: 2 * PERIOD }, 'prepaid_exhausted')
    expect(usedUp.settlement).toMatchObject({ billedMinutes: 2, chargedCents: 398 })
    expect(eventTypes(usedUp.outcome)).toEqual(['call.ending', 'call.settled'])
    const withinGrace = await settleBothWays({ ...prepaid, held: 2, elapsedMs: 100 }, 'member_hangup')
    expect(statusesOf(withinGrace.outcome)).toEqual({ prepaid: ['voided', '0'] })
  })

  it('answers a replay with the first settlement and moves nothing, whatever end it asks for', async () => {
    const { callId, ids, endedAtMs } = await openScenario({ rate: 100, held: 3, elapsedMs: 2_500 })
    const first = await settle(db, callId, 'member_hangup', endedAtMs)
    const after = await outcomeOf(callId, ids)
    const replay = hookedDb()
    expect(await settle(replay.db, callId, 'heartbeat_lost', Date.now())).toEqual(first)
    // Answered from the read alone.
    expect(replay.seen.queries).toHaveLength(1)
    expect(await outcomeOf(callId, ids)).toEqual(after)
    expect((await checkLedger(db)).violations).toEqual([])
  })

  it('answers the first settlement when another one lands between its read and its statement', async () => {
    const { callId, ids, endedAtMs } = await openScenario({ rate: 100, held: 2, elapsedMs: 1_500 })
    let first: Settlement | undefined
    const racing = hookedDb(async (sql) => {
      if (isSettleStatement(sql) && !first) first = await settle(db, callId, 'operator_hangup', endedAtMs - 400)
      return undefined
    })
    const settlement = await settle(racing.db, callId, 'member_hangup', endedAtMs)
    expect(settlement).toEqual(first)
    expect(settlement).toMatchObject({ endReason: 'operator_hangup', billedMinutes: 2 })
    expect(eventTypes(await outcomeOf(callId, ids))).toEqual(['call.settled'])
    expect((await checkLedger(db)).violations).toEqual([])
  })

  it('bills a lost call to its last sighting as it stands, moved to ending first so that no later sighting moves it', async () => {
    const { callId, ids, endedAtMs } = await openScenario({ rate: 100, held: 2, elapsedMs: 1_500 })
    // The monitor judged the call lost at an old sighting (inside period 1); a slow scan saw both parties later
    // (inside period 2), before the settlement ran.
    const judgedAtMs = endedAtMs - 1_000
    const sightedAt = new Date(endedAtMs - 200)
    await db.$executeRaw`UPDATE calls SET last_heartbeat_at = ${sightedAt} WHERE id = ${callId}::uuid`
    let statusWhenSettled: string | undefined
    const watched = hookedDb(async (sql) => {
      if (isSettleStatement(sql)) {
        const [row] = await db.$queryRaw<{ status: string }[]>`SELECT status::text FROM calls WHERE id = ${callId}::uuid`
        statusWhenSettled = row!.status
        // Too late: a scan's sighting now changes nothing.
        await db.$executeRaw`UPDATE calls SET last_heartbeat_at = now() WHERE id = ${callId}::uuid AND status = 'active'`
      }
      return undefined
    })
    const settlement = await settle(watched.db, callId, 'heartbeat_lost', judgedAtMs)
    expect(statusWhenSettled).toBe('ending')
    expect(settlement).toMatchObject({ endReason: 'heartbeat_lost', endedAtMs: sightedAt.getTime(), billedMinutes: 2, chargedCents: 200 })
    expect((await outcomeOf(callId, ids)).call).toMatchObject({ status: 'settled', billed_minutes: 2 })
    expect((await db.call.findUniqueOrThrow({ where: { id: callId } })).lastHeartbeatAt).toEqual(sightedAt)
    expect((await checkLedger(db)).violations).toEqual([])
  })

  it('computes again, from the row as it is now, when a hold lands between its read and its statement', async () => {
    const { callId, ids, endedAtMs } = await openScenario({ rate: 100, held: 2, elapsedMs: 1_500 })
    let attempts = 0
    const moving = hookedDb(async (sql) => {
      // The workflow's hold of period 3, just before the first attempt: the row no longer says 2 periods held.
      if (isSettleStatement(sql) && attempts++ === 0) await createCallActivities(db).holdNextPeriod({ callId, period: 3 })
      return undefined
    })
    expect(await settle(moving.db, callId, 'member_hangup', endedAtMs)).toMatchObject({ billedMinutes: 2, chargedCents: 200 })
    // The stale attempt changed nothing; the second settled, still without an interactive transaction.
    expect(moving.seen.queries.filter(isSettleStatement)).toHaveLength(2)
    expect(moving.seen.transactions).toBe(0)
    const outcome = await outcomeOf(callId, ids)
    expect(statusesOf(outcome)).toEqual({
      'period:1': ['posted', '100'],
      'period:2': ['posted', '100'],
      'period:3': ['voided', '0'],
      commission: ['posted', '40'],
    })
    expect(outcome.call).toMatchObject({ status: 'settled', held_periods: 3, billed_minutes: 2 })
    expect(eventTypes(outcome)).toEqual(['call.settled'])
    expect((await checkLedger(db)).violations).toEqual([])
  })

  it('takes the call’s lock in a transaction when the call keeps moving under every attempt', async () => {
    const { callId, endedAtMs } = await openScenario({ rate: 100, held: 2, elapsedMs: 1_500 })
    const stale = interactiveOnly()
    expect(await settle(stale.db, callId, 'member_hangup', endedAtMs)).toMatchObject({ billedMinutes: 2 })
    expect(stale.seen.queries.filter(isSettleStatement)).toHaveLength(3)
    expect(stale.seen.transactions).toBe(1)
  })

  it('still catches up periods no worker held, in a transaction', async () => {
    const { callId, endedAtMs } = await openScenario({ rate: 100, held: 1, elapsedMs: 3_500 })
    const catchingUp = hookedDb()
    expect(await settle(catchingUp.db, callId, 'operator_hangup', endedAtMs)).toMatchObject({ billedMinutes: 4, chargedCents: 400 })
    expect(catchingUp.seen.queries.filter(isSettleStatement)).toHaveLength(0)
    expect(catchingUp.seen.transactions).toBe(1)
    expect((await checkLedger(db)).violations).toEqual([])
  })

  it('rolls everything back when the ledger refuses a movement', async () => {
    const { callId, ids, endedAtMs } = await openScenario({ rate: 100, held: 2, elapsedMs: 1_500 })
    // The commission's id already taken by another movement: its transfer answers 'conflict'.
    await createTransfer(db, {
      id: transferIds.commission(callId),
      debitAccountId: accountIds.operatorEarnings(ids[2]!),
      creditAccountId: accountIds.platformRevenue,
      amountCents: 1,
      pending: false,
      code: 'test_conflict',
    })
    const before = await outcomeOf(callId, ids)
    await expect(settle(db, callId, 'member_hangup', endedAtMs)).rejects.toThrow(/cannot create call:.*:commission \(conflict\)/)
    expect(await outcomeOf(callId, ids)).toEqual(before)
    expect(before.call).toMatchObject({ status: 'active', held_periods: 2 })
    // Close the call by hand, billing nothing, so no open call is left for other test files' heartbeat monitors.
    await voidPendingTransfers(db, [transferIds.periodHold(callId, 1), transferIds.periodHold(callId, 2)])
    await db.$executeRaw`
      UPDATE calls SET status = 'settled', ended_at = now(), end_reason = 'other', billed_minutes = 0, charged_cents = 0,
        commission_cents = 0, company_share_cents = 0, operator_earnings_cents = 0, settled_at = now()
      WHERE id = ${callId}::uuid`
    expect((await checkLedger(db)).violations).toEqual([])
  })
})

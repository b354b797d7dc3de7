import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { accountIds } from '../../activities/ledger/accounts.js'
import { checkLedger } from '../../activities/ledger/check.js'
import { accountBalance } from '../../activities/ledger/balances.js'
import { setSpendingCaps } from '../../activities/spending-caps.js'
import type { Db } from '../../prisma/client.js'
import { endCallWorkflow, forceEndCallWorkflow } from '../../temporal/calls.js'
import { holdAheadMs } from '../../workflows/billing.js'
import { callState, callWorkflowId, endCall, type Settlement } from '../../workflows/definitions.js'
import {
  callInput,
  eventsOf,
  settledCall,
  sleep,
  startCall,
  startCallHarness,
  testConfig,
  waitFor,
  type CallHarness,
} from '../support/call-harness.js'
import { connectTestDb, createCompany, createMember, createOperator, fundMember } from '../support/db.js'

// Billing period 1 s, grace 300 ms, low-balance threshold 2 periods: the rules of production, on a shorter clock.
const PERIOD = 1000
let db: Db
let harness: CallHarness

beforeAll(async () => {
  db = connectTestDb()
  harness = await startCallHarness(db, testConfig())
})
afterEach(async () => {
  expect((await checkLedger(db)).violations).toEqual([])
})
afterAll(async () => {
  await harness?.stop()
  await db?.$disconnect()
})

const available = async (memberId: string) => (await accountBalance(db, accountIds.memberWallet(memberId)))!.availableCents
const end = (callId: string, reason: 'operator_hangup' | 'member_hangup' = 'operator_hangup') =>
  endCallWorkflow(harness.client, callId, reason, Date.now(), 10_000)

/** The periods a settled call must be billed for, recomputed from its own recorded start and end. */
async function expectedPeriods(callId: string): Promise<number> {
  const call = await settledCall(db, callId)
  const elapsed = call.endedAt!.getTime() - call.startedAt.getTime()
  return elapsed <= harness.config.GRACE_MS ? 0 : Math.ceil(elapsed / PERIOD)
}

async function setUpCall(fundedCents: number, rate = 100) {
  const member = await createMember(db, { fundedCents })
  const operator = await createOperator(db, { ratePerMinuteCents: rate })
  return { member, operator, input: await callInput(db, harness.config, { memberId: member.id, operatorId: operator.id, ratePerMinuteCents: rate }) }
}

describe('the call workflow', () => {
  it('bills a normal call by started periods and splits the charge to the cent', async () => {
    const company = await createCompany(db, 1_500)
    const member = await createMember(db, { fundedCents: 10_000 })
    const operator = await createOperator(db, { ratePerMinuteCents: 333, companyId: company.companyId! })
    const input = await callInput(db, harness.config, {
      memberId: member.id,
      operatorId: operator.id,
      ratePerMinuteCents: 333,
      companyId: company.companyId,
      companyShareBps: 1_500,
    })
    const outcome = await startCall(harness, input)
    expect(outcome).toMatchObject({ status: 'active', fundedMinutes: 30 })
    expect(await available(member.id)).toBe(10_000 - 333)

    await sleep(2.5 * PERIOD)
    const result = await end(input.callId)
    expect(result.status).toBe('settled')
    const settlement = (result as { settlement: Settlement }).settlement
    // Slept 2.5 periods after the start answered, so at least three periods began; a loaded machine may add one.
    expect(settlement.billedMinutes).toBe(await expectedPeriods(input.callId))
    expect(settlement.billedMinutes).toBeGreaterThanOrEqual(3)
    const charged = settlement.billedMinutes * 333
    expect(settlement.chargedCents).toBe(charged)
    // 20 % commission rounded down, then the company's 15 % of the rest rounded down; the operator gets the remainder.
    const commission = Math.floor((charged * 20) / 100)
    const companyShare = Math.floor(((charged - commission) * 15) / 100)
    expect(settlement).toMatchObject({
      commissionCents: commission,
      companyShareCents: companyShare,
      operatorEarningsCents: charged - commission - companyShare,
      endReason: 'operator_hangup',
    })
    if (settlement.billedMinutes === 3) expect(settlement).toMatchObject({ commissionCents: 199, companyShareCents: 120, operatorEarningsCents: 680 })
    expect(await available(member.id)).toBe(10_000 - charged)
    expect((await accountBalance(db, accountIds.operatorEarnings(operator.id)))!.postedCents).toBe(settlement.operatorEarningsCents)
    expect((await accountBalance(db, accountIds.companyEarnings(company.companyId!)))!.postedCents).toBe(companyShare)
  })

  it('ends the call at the boundary where a hold fails, and tells the plugin', async () => {
    const { member, input } = await setUpCall(350)
    const started = await startCall(harness, input)
    expect(started).toMatchObject({ status: 'active', fundedMinutes: 3 })
    const call = await settledCall(db, input.callId)
    expect(call.endReason).toBe('funds_exhausted')
    expect(call.billedMinutes).toBe(3)
    expect(Number(call.chargedCents)).toBe(300)
    // Ended at the start of the unfunded fourth period, not later.
    expect(call.endedAt!.getTime() - call.startedAt.getTime()).toBe(3 * PERIOD)
    expect(await available(member.id)).toBe(50)
    const types = (await eventsOf(db, input.callId)).map((e) => e.type)
    expect(types).toEqual(['call.started', 'call.connected', 'call.low_balance', 'call.ending', 'call.settled'])
  })

  it('ends the call at the boundary where the member’s own spending cap would be passed', async () => {
    // Money for ten minutes, but a daily cap of three: the cap decides, at a period boundary, like an empty wallet.
    const { member, input } = await setUpCall(1_000)
    await setSpendingCaps(db, member.id, { dailyCents: 300, monthlyCents: null, timeZone: 'UTC' })
    await startCall(harness, input)
    const call = await settledCall(db, input.callId)
    expect(call.endReason).toBe('spending_cap')
    expect(call.billedMinutes).toBe(3)
    expect(Number(call.chargedCents)).toBe(300)
    expect(call.endedAt!.getTime() - call.startedAt.getTime()).toBe(3 * PERIOD)
    expect(await available(member.id)).toBe(700)
    const ending = (await eventsOf(db, input.callId)).find((e) => e.type === 'call.ending')
    expect(ending?.payload).toMatchObject({ reason: 'spending_cap' })
  })

  it('refuses a start whose first minute would pass the member’s spending cap, reserving nothing', async () => {
    const { member, input } = await setUpCall(1_000)
    await setSpendingCaps(db, member.id, { dailyCents: 99, monthlyCents: null, timeZone: 'UTC' })
    expect(await startCall(harness, input)).toMatchObject({ status: 'refused', reason: 'spending_cap' })
    expect(await available(member.id)).toBe(1_000)
    expect(await db.call.count({ where: { id: input.callId } })).toBe(0)
    expect(await db.transfer.count({ where: { callId: input.callId } })).toBe(0)
  })

  it('mails the low-balance warning once to a member who wants it, and not to one who turned it off', async () => {
    const wants = await setUpCall(350)
    const declines = await setUpCall(350)
    await db.user.update({ where: { id: declines.member.id }, data: { lowBalanceMail: false } })
    await Promise.all([startCall(harness, wants.input), startCall(harness, declines.input)])
    // Both calls warn (after the second hold) and then run out: the flag is raised once per call.
    await Promise.all([settledCall(db, wants.input.callId), settledCall(db, declines.input.callId)])
    const mails = await db.mailMessage.findMany({ where: { template: 'call_low_balance', toAddress: { in: [wants.member.email, declines.member.email] } } })
    expect(mails).toHaveLength(1)
    expect(mails[0]).toMatchObject({ toAddress: wants.member.email, dedupeKey: `call-low-balance:${wants.input.callId}` })
    expect(mails[0]!.textBody).toContain(`${harness.config.PUBLIC_URL.replace(/\/$/, '')}/calls/${wants.input.callId}`)
    expect(mails[0]!.textBody).toContain('covers about one minute more')
  })

  it('refuses a start the wallet cannot fund, reserving nothing', async () => {
    const { member, input } = await setUpCall(99)
    const outcome = await startCall(harness, input)
    expect(outcome).toMatchObject({ status: 'refused', reason: 'insufficient_funds' })
    expect(await available(member.id)).toBe(99)
    expect(await db.call.count({ where: { id: input.callId } })).toBe(0)
  })

  it('sets out to hold each period a little ahead of it, and charges it only once it has begun', async () => {
    const { member, input } = await setUpCall(1_000)
    const started = await startCall(harness, input)
    if (started.status !== 'active') throw new Error(`not started: ${JSON.stringify(started)}`)
    const handle = harness.client.workflow.getHandle(callWorkflowId(input.callId))
    const state = await waitFor(async () => {
      const now = await handle.query(callState)
      return now.nextHoldAtMs === null ? undefined : now
    }, 5_000, 'the next hold to be due')
    expect(state.nextHoldAtMs).toBe(started.startedAtMs + PERIOD - holdAheadMs(PERIOD))
    expect(holdAheadMs(PERIOD)).toBeGreaterThan(0)

    // Ended after period 2 was held but before it began: period 2 is released, not charged.
    await waitFor(async () => ((await db.call.findUniqueOrThrow({ where: { id: input.callId } })).heldPeriods === 2 ? true : undefined), 5_000, 'the second hold')
    const result = await endCallWorkflow(harness.client, input.callId, 'operator_hangup', started.startedAtMs + PERIOD - 1, 10_000)
    expect(result).toMatchObject({ status: 'settled', settlement: { billedMinutes: 1, chargedCents: 100 } })
    expect(await available(member.id)).toBe(900)
  })

  it('asks again on the boundary for a hold refused ahead of it, and cuts the call off on the boundary itself', async () => {
    // 4-s periods: the hold is made 400 ms ahead, more than the dev server's timer is late, so the second ask runs.
    const periodMs = 4 * PERIOD
    const { member, input } = await setUpCall(100)
    const longer = { ...input, settings: { ...input.settings, periodMs } }
    expect(await startCall(harness, longer)).toMatchObject({ status: 'active', fundedMinutes: 1 })
    const call = await settledCall(db, input.callId, 15_000)
    expect(call.endReason).toBe('funds_exhausted')
    expect(call.endedAt!.getTime() - call.startedAt.getTime()).toBe(periodMs)
    expect(Number(call.chargedCents)).toBe(100)
    expect(await available(member.id)).toBe(0)
  })

  it('warns when the balance runs low, and a top-up clears the warning and lets the call go on', async () => {
    const { member, input } = await setUpCall(350)
    await startCall(harness, input)
    // After the second hold (at 1 s) 150 cents are left: fewer than two more periods.
    await waitFor(async () => ((await eventsOf(db, input.callId)).some((e) => e.type === 'call.low_balance') ? true : undefined), 5_000, 'the low-balance warning')
    await fundMember(db, member.id, 1_000)
    const events = await eventsOf(db, input.callId)
    expect(events.map((e) => e.type)).toEqual(['call.started', 'call.connected', 'call.low_balance', 'call.low_balance_cleared'])
    // Without the top-up the call would have ended at 3 s; it is still running at 3.5 s.
    await sleep(2.5 * PERIOD)
    expect((await db.call.findUniqueOrThrow({ where: { id: input.callId } })).status).toBe('active')
    const result = await end(input.callId)
    expect(result.status).toBe('settled')
    const call = await settledCall(db, input.callId)
    expect(call.endReason).toBe('operator_hangup')
    expect(call.billedMinutes).toBeGreaterThanOrEqual(4)
    expect(await available(member.id)).toBe(1_350 - Number(call.chargedCents))
  })

  it('charges nothing for a call that ends within the grace time', async () => {
    // A grace time a busy machine cannot overrun between the start's answer and the end (300 ms was overrun at a load
    // average of 25): the same rule on a longer clock, with a worker of its own.
    const config = testConfig({ BILLING_PERIOD_MS: '10000', GRACE_MS: '8000' })
    const graceful = await startCallHarness(db, config)
    try {
      const member = await createMember(db, { fundedCents: 1_000 })
      const operator = await createOperator(db, { ratePerMinuteCents: 100 })
      const input = await callInput(db, config, { memberId: member.id, operatorId: operator.id, ratePerMinuteCents: 100 })
      await startCall(graceful, input)
      const result = await endCallWorkflow(graceful.client, input.callId, 'operator_hangup', Date.now(), 10_000)
      expect(result).toMatchObject({ status: 'settled', settlement: { billedMinutes: 0, chargedCents: 0, operatorEarningsCents: 0 } })
      const call = await settledCall(db, input.callId)
      expect(call.endedAt!.getTime() - call.startedAt.getTime()).toBeLessThanOrEqual(8_000)
      expect(await available(member.id)).toBe(1_000)
      const transfers = await db.transfer.findMany({ where: { callId: input.callId } })
      expect(transfers.map((t) => t.status)).toEqual(['voided'])
    } finally {
      await graceful.stop()
    }
  })

  it('takes duplicate and out-of-order requests calmly: start twice, end twice, end racing itself', async () => {
    const { member, input } = await setUpCall(5_000)
    const [first, second] = await Promise.all([startCall(harness, input), startCall(harness, input)])
    expect(second).toEqual(first)
    expect(await startCall(harness, input)).toEqual(first)
    expect(await db.transfer.count({ where: { callId: input.callId } })).toBe(1)

    await sleep(1.5 * PERIOD)
    const ends = await Promise.all(Array.from({ length: 5 }, () => end(input.callId)))
    // Each racing end either gets the settlement or finds the workflow closed (then the database has it).
    const call = await settledCall(db, input.callId)
    expect(ends.some((e) => e.status === 'settled')).toBe(true)
    for (const e of ends) {
      expect(['settled', 'closed']).toContain(e.status)
      if (e.status === 'settled') expect(e.settlement).toMatchObject({ billedMinutes: call.billedMinutes, chargedCents: Number(call.chargedCents) })
    }
    expect(call.billedMinutes).toBe(await expectedPeriods(input.callId))
    expect(call.billedMinutes).toBeGreaterThanOrEqual(2)
    // An end after the workflow closed finds it closed; the settlement stands in the database.
    expect(await end(input.callId)).toEqual({ status: 'closed' })
    expect((await eventsOf(db, input.callId)).filter((e) => e.type === 'call.settled')).toHaveLength(1)
    expect(await available(member.id)).toBe(5_000 - call.billedMinutes! * 100)
  })

  it('answers an end that arrives before the call has opened with a settlement of nothing', async () => {
    const config = testConfig()
    const idle = await startCallHarness(db, config, { worker: false })
    const member = await createMember(db, { fundedCents: 1_000 })
    const operator = await createOperator(db, { ratePerMinuteCents: 100 })
    const input = await callInput(db, config, { memberId: member.id, operatorId: operator.id, ratePerMinuteCents: 100 })
    // No worker polls this queue yet: the start and the end both wait in the workflow's first task.
    const startPromise = startCall(idle, input, { connect: false })
    await sleep(300)
    const handle = idle.client.workflow.getHandle(callWorkflowId(input.callId))
    const endPromise = handle.executeUpdate(endCall, { args: [{ reason: 'member_hangup', requestedAtMs: Date.now() }] })
    await sleep(300)
    const worker = await startCallHarness(db, config)
    try {
      // Accepted, then ended before both parties were connected: nothing was ever held.
      expect(await startPromise).toMatchObject({ status: 'connecting' })
      expect(await endPromise).toMatchObject({ billedMinutes: 0, chargedCents: 0, endReason: 'member_hangup' })
      expect(await db.transfer.count({ where: { callId: input.callId } })).toBe(0)
      expect(await available(member.id)).toBe(1_000)
    } finally {
      await worker.stop()
    }
  })

  it('ends on lost heartbeats within the timeout plus a few seconds, billing up to the last one', async () => {
    const config = testConfig({ HEARTBEAT_TIMEOUT_MS: '2000', HEARTBEAT_SCAN_MS: '200' })
    const quiet = await startCallHarness(db, config)
    try {
      const member = await createMember(db, { fundedCents: 10_000 })
      const operator = await createOperator(db, { ratePerMinuteCents: 100 })
      const input = await callInput(db, config, { memberId: member.id, operatorId: operator.id, ratePerMinuteCents: 100 })
      await startCall(quiet, input)
      // Heartbeats for 1.5 s (what the plugin API's heartbeat endpoint does), then silence.
      for (let i = 0; i < 3; i++) {
        await sleep(500)
        await db.$executeRaw`UPDATE calls SET last_heartbeat_at = now() WHERE id = ${input.callId}::uuid`
      }
      const lastHeartbeat = (await db.call.findUniqueOrThrow({ where: { id: input.callId } })).lastHeartbeatAt
      const call = await settledCall(db, input.callId, 10_000)
      expect(call.endReason).toBe('heartbeat_lost')
      expect(call.endedAt!.getTime()).toBe(lastHeartbeat.getTime())
      // Three heartbeats half a period apart: billed up to the last one, which fell in the second period or later.
      expect(call.billedMinutes).toBe(Math.ceil((lastHeartbeat.getTime() - call.startedAt.getTime()) / PERIOD))
      expect(call.billedMinutes).toBeGreaterThanOrEqual(2)
      expect(call.settledAt!.getTime() - lastHeartbeat.getTime()).toBeLessThan(2_000 + 3_000)
      expect((await eventsOf(db, input.callId)).map((e) => e.type)).toContain('call.ending')
    } finally {
      await quiet.stop()
    }
  })

  it('runs a prepaid block: holds it all, ends itself when used, charges exactly the block', async () => {
    const { member, operator } = await setUpCall(1_000)
    const input = await callInput(db, harness.config, { memberId: member.id, operatorId: operator.id, ratePerMinuteCents: 100 }, { mode: 'prepaid', prepaidMinutes: 2 })
    expect(await startCall(harness, input)).toMatchObject({ status: 'active', fundedMinutes: 2 })
    expect(await available(member.id)).toBe(800)
    const call = await settledCall(db, input.callId)
    expect(call).toMatchObject({ endReason: 'prepaid_exhausted', billedMinutes: 2 })
    expect(await available(member.id)).toBe(800)
  })

  it('releases the unused part of a prepaid block when the call ends early', async () => {
    const { member, operator } = await setUpCall(1_000)
    const input = await callInput(db, harness.config, { memberId: member.id, operatorId: operator.id, ratePerMinuteCents: 100 }, { mode: 'prepaid', prepaidMinutes: 5 })
    await startCall(harness, input)
    await sleep(1.4 * PERIOD)
    const result = await end(input.callId)
    const billed = await expectedPeriods(input.callId)
    expect(billed).toBeGreaterThanOrEqual(2)
    expect(result).toMatchObject({ settlement: { billedMinutes: billed, chargedCents: billed * 100 } })
    expect(await available(member.id)).toBe(1_000 - billed * 100)
  })

  it('continues as new on long calls without losing or repeating a period', async () => {
    const { member, operator } = await setUpCall(10_000)
    const input = await callInput(db, harness.config, { memberId: member.id, operatorId: operator.id, ratePerMinuteCents: 100 }, { periodsPerRun: 2 })
    await startCall(harness, input)
    await sleep(5.5 * PERIOD)
    const result = await end(input.callId)
    const billed = await expectedPeriods(input.callId)
    expect(billed).toBeGreaterThanOrEqual(6)
    expect(result).toMatchObject({ status: 'settled', settlement: { billedMinutes: billed, chargedCents: billed * 100 } })
    const runs = []
    for await (const run of harness.client.workflow.list({ query: `WorkflowId = '${callWorkflowId(input.callId)}'` })) runs.push(run)
    expect(runs.length).toBeGreaterThanOrEqual(2)
    expect(await available(member.id)).toBe(10_000 - billed * 100)
  })

  it('can be found by member, operator and status, as admins search for it in the Temporal UI', async () => {
    const { member, operator, input } = await setUpCall(1_000)
    await startCall(harness, input)
    await end(input.callId)
    const query = `MemberId = '${member.id}' AND OperatorId = '${operator.id}' AND CallStatus = 'settled'`
    // Visibility is eventually consistent: the upsert at settlement shows up shortly after.
    const found = await waitFor(
      async () => {
        const ids: string[] = []
        for await (const run of harness.client.workflow.list({ query })) ids.push(run.workflowId)
        return ids.length > 0 ? ids : undefined
      },
      10_000,
      'the settled call in visibility',
    )
    expect(found).toEqual([callWorkflowId(input.callId)])
  })

  it('ends a call the platform forces to end', async () => {
    const { input } = await setUpCall(5_000)
    await startCall(harness, input)
    await sleep(0.5 * PERIOD)
    await forceEndCallWorkflow(harness.client, input.callId, 'operator_disabled')
    const call = await settledCall(db, input.callId)
    expect(call.endReason).toBe('operator_disabled')
    expect(call.billedMinutes).toBe(await expectedPeriods(input.callId))
    expect(call.billedMinutes).toBeGreaterThanOrEqual(1)
  })
})

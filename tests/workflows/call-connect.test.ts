import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { accountIds } from '../../activities/ledger/accounts.js'
import { accountBalance } from '../../activities/ledger/balances.js'
import { checkLedger } from '../../activities/ledger/check.js'
import { createTransfer } from '../../activities/ledger/transfers.js'
import { createScheduledCallActivities } from '../../activities/scheduled-calls.js'
import type { Db } from '../../prisma/client.js'
import { connectCallWorkflow, endCallWorkflow } from '../../temporal/calls.js'
import { callInput, eventsOf, settledCall, sleep, startCall, startCallHarness, testConfig, type CallHarness } from '../support/call-harness.js'
import { connectTestDb, createMember, createOperator } from '../support/db.js'

// Calls connect first (docs/decisions/060): accepted, they hold nothing until both parties are connected, and they
// start at the moment the platform saw that. 1-s periods, 300-ms grace, on the real dev server and database.
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

async function accepted(fundedCents: number, options: { connectTimeoutMs?: number; mode?: 'prepaid'; prepaidMinutes?: number } = {}) {
  const member = await createMember(db, { fundedCents })
  const operator = await createOperator(db, { ratePerMinuteCents: 100 })
  const input = await callInput(db, harness.config, { memberId: member.id, operatorId: operator.id, ratePerMinuteCents: 100 }, options)
  if (options.connectTimeoutMs) input.connectTimeoutMs = options.connectTimeoutMs
  const outcome = await startCall(harness, input, { connect: false })
  return { member, operator, input, outcome }
}

describe('an accepted call', () => {
  it('holds nothing while the parties connect, and ends unbilled when they never do', async () => {
    const { member, input, outcome } = await accepted(1_000, { connectTimeoutMs: 1_500 })
    expect(outcome).toMatchObject({ status: 'connecting', channel: 'outside', ratePerMinuteCents: 100, fundedMinutes: 10 })
    const row = await db.call.findUniqueOrThrow({ where: { id: input.callId } })
    expect(row).toMatchObject({ status: 'connecting', heldPeriods: 0 })
    expect(await available(member.id)).toBe(1_000)
    expect(await db.transfer.count({ where: { callId: input.callId } })).toBe(0)
    // The request is answered: the member's page goes to the call, and no other call may answer it.
    expect(await db.callRequest.findUniqueOrThrow({ where: { id: input.consent.requestId! } })).toMatchObject({ status: 'accepted', callId: input.callId })

    const settled = await settledCall(db, input.callId, 10_000)
    expect(settled).toMatchObject({ endReason: 'not_connected', billedMinutes: 0, chargedCents: 0n })
    expect(await available(member.id)).toBe(1_000)
    expect(await db.transfer.count({ where: { callId: input.callId } })).toBe(0)
    const types = (await eventsOf(db, input.callId)).map((e) => e.type)
    expect(types).toEqual(['call.started', 'call.ending', 'call.settled'])
    // A connection reported too late changes nothing.
    expect(await connectCallWorkflow(harness.client, input.callId, Date.now(), { wait: true })).toBeNull()
  })

  it('starts at the moment both were connected, not before the acceptance nor after now, and bills from there', async () => {
    const { input, outcome } = await accepted(10_000)
    if (outcome.status !== 'connecting') throw new Error('not accepted')
    await sleep(400)
    // Connected 200 ms after the acceptance, reported now: the call started then.
    const connectedAtMs = outcome.acceptedAtMs + 200
    const started = await connectCallWorkflow(harness.client, input.callId, connectedAtMs, { wait: true })
    expect(started).toMatchObject({ status: 'active', startedAtMs: connectedAtMs })
    // A second report (the other party's webhook, a replay) changes nothing.
    expect(await connectCallWorkflow(harness.client, input.callId, Date.now(), { wait: true })).toMatchObject({ startedAtMs: connectedAtMs })
    await sleep(1.5 * PERIOD)
    const settlement = await endCallWorkflow(harness.client, input.callId, 'member_hangup', Date.now(), 10_000)
    expect(settlement.status).toBe('settled')
    const call = await settledCall(db, input.callId)
    expect(call.startedAt.getTime()).toBe(connectedAtMs)
    const elapsed = call.endedAt!.getTime() - connectedAtMs
    expect(call.billedMinutes).toBe(Math.ceil(elapsed / PERIOD))
    expect(call.chargedCents).toBe(BigInt(call.billedMinutes! * 100))

    // Reported as before the acceptance, or in the future: clamped to what the platform can have seen.
    const early = await accepted(10_000)
    if (early.outcome.status !== 'connecting') throw new Error('not accepted')
    const clamped = await connectCallWorkflow(harness.client, early.input.callId, early.outcome.acceptedAtMs - 60_000, { wait: true })
    expect(clamped).toMatchObject({ status: 'active', startedAtMs: early.outcome.acceptedAtMs })
    await endCallWorkflow(harness.client, early.input.callId, 'member_hangup', Date.now(), 10_000)
    const late = await accepted(10_000)
    const beforeMs = Date.now()
    const future = await connectCallWorkflow(harness.client, late.input.callId, Date.now() + 3_600_000, { wait: true })
    expect(future?.status).toBe('active')
    if (future?.status === 'active') expect(future.startedAtMs).toBeLessThanOrEqual(Date.now())
    if (future?.status === 'active') expect(future.startedAtMs).toBeGreaterThanOrEqual(beforeMs - 1_000)
    await endCallWorkflow(harness.client, late.input.callId, 'member_hangup', Date.now(), 10_000)
  })

  it('ends unbilled when the first minute cannot be held at the start (the money was spent meanwhile)', async () => {
    const { member, input } = await accepted(150)
    // The member spends it elsewhere between the acceptance and the connection.
    await createTransfer(db, {
      id: `test:spent:${input.callId}`,
      debitAccountId: accountIds.memberWallet(member.id),
      creditAccountId: accountIds.adjustments,
      amountCents: 100,
      pending: false,
      code: 'wallet_adjustment',
    })
    const refused = await connectCallWorkflow(harness.client, input.callId, Date.now(), { wait: true })
    expect(refused).toMatchObject({ status: 'refused', reason: 'insufficient_funds' })
    const call = await settledCall(db, input.callId)
    expect(call).toMatchObject({ endReason: 'funds_exhausted', billedMinutes: 0, chargedCents: 0n })
    expect(await db.transfer.count({ where: { callId: input.callId } })).toBe(0)
    expect(await available(member.id)).toBe(50)
  })

  it('keeps a booking reserved while connecting, and turns it into the block at the start', async () => {
    const member = await createMember(db, { fundedCents: 1_000 })
    const operator = await createOperator(db, { ratePerMinuteCents: 100 })
    const bookingId = crypto.randomUUID()
    await db.scheduledCall.create({
      data: {
        id: bookingId,
        memberId: member.id,
        operatorId: operator.id,
        startsAt: new Date(),
        minutes: 3,
        memberTimeZone: 'UTC',
        ratePerMinuteCents: 100,
        commissionBps: 2_000,
        companyShareBps: 0,
        status: 'accepted',
        workflowId: `scheduled-call-${bookingId}`,
      },
    })
    await createScheduledCallActivities({ db, publicUrl: harness.config.PUBLIC_URL }).reserveScheduledFunds({ scheduledCallId: bookingId })
    expect(await available(member.id)).toBe(700)
    const input = await callInput(db, harness.config, { memberId: member.id, operatorId: operator.id, ratePerMinuteCents: 100 }, {
      mode: 'prepaid',
      prepaidMinutes: 3,
      channel: 'video',
      consent: { requestId: null, scheduledCallId: bookingId, answeredAtMs: Date.now() },
    })
    // A video call: its room is opened on the run's LiveKit server.
    expect(await startCall(harness, input, { connect: false })).toMatchObject({ status: 'connecting', channel: 'video' })
    expect(await db.scheduledCall.findUniqueOrThrow({ where: { id: bookingId } })).toMatchObject({ status: 'reserved' })
    expect(await available(member.id)).toBe(700)
    expect(await connectCallWorkflow(harness.client, input.callId, Date.now(), { wait: true })).toMatchObject({ status: 'active' })
    expect(await db.scheduledCall.findUniqueOrThrow({ where: { id: bookingId } })).toMatchObject({ status: 'started', callId: input.callId })
    expect(await available(member.id)).toBe(700)
    await endCallWorkflow(harness.client, input.callId, 'member_hangup', Date.now(), 10_000)
    const call = await settledCall(db, input.callId)
    expect(call.chargedCents).toBe(BigInt(call.billedMinutes! * 100))
  })
})

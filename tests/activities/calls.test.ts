import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCallActivities } from '../../activities/calls.js'
import { checkLedger } from '../../activities/ledger/check.js'
import type { Db } from '../../prisma/client.js'
import { transferIds } from '../../workflows/billing.js'
import { callInput, testConfig } from '../support/call-harness.js'
import { connectTestDb, createMember, createOperator, fundMember } from '../support/db.js'

// The call activities on their own, as a workflow replaying after a lost task would call them.
let db: Db
beforeAll(() => {
  db = connectTestDb()
})
afterAll(async () => {
  await db?.$disconnect()
})

describe('the call activities', () => {
  it('answer a hold for a call that is already settled with "already settled", not a failure', async () => {
    const activities = createCallActivities(db)
    const config = testConfig()
    const member = await createMember(db, { fundedCents: 1_000 })
    const operator = await createOperator(db, { ratePerMinuteCents: 100 })
    const input = await callInput(db, config, { memberId: member.id, operatorId: operator.id, ratePerMinuteCents: 100 })
    const startedAtMs = Date.now() - 1_500
    expect(await activities.openCall({ ...input, startedAtMs })).toMatchObject({ status: 'active' })
    const settlement = await activities.settleCall({ callId: input.callId, endReason: 'operator_hangup', endedAtMs: startedAtMs + 1_500 })
    expect(settlement).toMatchObject({ billedMinutes: 2, chargedCents: 200 })

    // A workflow task that settled but was lost replays into its next hold.
    expect(await activities.holdNextPeriod({ callId: input.callId, period: 3 })).toEqual({ held: false, reason: 'already_settled' })
    // Settling again returns the first settlement, whatever end is asked for.
    expect(await activities.settleCall({ callId: input.callId, endReason: 'other', endedAtMs: Date.now() })).toEqual(settlement)
    expect((await checkLedger(db)).violations).toEqual([])
  })

  it('replays each activity with the first result', async () => {
    const activities = createCallActivities(db)
    const config = testConfig()
    const member = await createMember(db, { fundedCents: 1_000 })
    const operator = await createOperator(db, { ratePerMinuteCents: 100 })
    const input = await callInput(db, config, { memberId: member.id, operatorId: operator.id, ratePerMinuteCents: 100 })
    const startedAtMs = Date.now()
    const opened = await activities.openCall({ ...input, startedAtMs })
    expect(await activities.openCall({ ...input, startedAtMs })).toEqual(opened)
    const hold = await activities.holdNextPeriod({ callId: input.callId, period: 2 })
    expect(await activities.holdNextPeriod({ callId: input.callId, period: 2 })).toEqual(hold)
    expect(await db.transfer.count({ where: { callId: input.callId } })).toBe(2)
    await activities.settleCall({ callId: input.callId, endReason: 'member_hangup', endedAtMs: startedAtMs + 1_200 })
    expect((await checkLedger(db)).violations).toEqual([])
  })

  it('ask again on the boundary for a hold refused ahead of it, and hold then if the member topped up meanwhile', async () => {
    const activities = createCallActivities(db)
    const config = testConfig()
    const member = await createMember(db, { fundedCents: 100 })
    const operator = await createOperator(db, { ratePerMinuteCents: 100 })
    const input = await callInput(db, config, { memberId: member.id, operatorId: operator.id, ratePerMinuteCents: 100 })
    await activities.openCall({ ...input, startedAtMs: Date.now() })
    // Ahead of period 2 the wallet is empty.
    expect(await activities.holdNextPeriod({ callId: input.callId, period: 2 })).toEqual({ held: false, reason: 'insufficient_funds' })

    const boundaryMs = Date.now() + 1_000
    const again = activities.holdNextPeriod({ callId: input.callId, period: 2, notBeforeMs: boundaryMs })
    await fundMember(db, member.id, 500)
    expect(await again).toMatchObject({ held: true, heldPeriods: 2 })
    // Made on the boundary, not before it: the top-up had until then.
    const hold = await db.transfer.findUniqueOrThrow({ where: { id: transferIds.periodHold(input.callId, 2) } })
    expect(hold.createdAt.getTime()).toBeGreaterThanOrEqual(boundaryMs - 5)
    await activities.settleCall({ callId: input.callId, endReason: 'member_hangup', endedAtMs: Date.now() })
    expect((await checkLedger(db)).violations).toEqual([])
  })
})

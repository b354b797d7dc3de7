import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCallActivities } from '../../activities/calls.js'
import { accountIds } from '../../activities/ledger/accounts.js'
import { checkLedger } from '../../activities/ledger/check.js'
import { createScheduledCallActivities } from '../../activities/scheduled-calls.js'
import type { Db } from '../../prisma/client.js'
import type { CallConsent, CallInput } from '../../workflows/definitions.js'
import { callInput, memberAsks, testConfig } from '../support/call-harness.js'
import { connectTestDb, createMember, createOperator } from '../support/db.js'

// A call exists only as the answer to the member's own request, at its terms (docs/decisions/046). These tests ask the
// database's own opening (open_call) directly, as a workflow would: whatever the web checked before, this is the
// decision, taken under the request's lock.
let db: Db
beforeAll(() => {
  db = connectTestDb()
})
afterAll(async () => {
  await db?.$disconnect()
})

const config = testConfig()

async function parties(options: { fundedCents?: number; rate?: number } = {}) {
  const member = await createMember(db, { fundedCents: options.fundedCents ?? 10_000 })
  const operator = await createOperator(db, { ratePerMinuteCents: options.rate ?? 100 })
  return { member, operator, ids: { memberId: member.id, operatorId: operator.id, ratePerMinuteCents: options.rate ?? 100 } }
}

async function open(input: CallInput) {
  return createCallActivities(db).openCall({ ...input, startedAtMs: Date.now() })
}

/** Nothing of a refused opening is left: no call, no hold, the member's money untouched, the request still open. */
async function expectNothingReserved(input: CallInput, memberId: string) {
  expect(await db.call.findUnique({ where: { id: input.callId } })).toBeNull()
  expect(await db.transfer.count({ where: { callId: input.callId } })).toBe(0)
  const wallet = await db.account.findUniqueOrThrow({ where: { id: accountIds.memberWallet(memberId) } })
  expect(wallet.debitsPending).toBe(0n)
}

describe("a call answers the member's consent", () => {
  it('refuses a call nobody asked for, and reserves nothing', async () => {
    const { member, ids } = await parties()
    const none: CallConsent = { requestId: null, scheduledCallId: null, answeredAtMs: Date.now() }
    const input = await callInput(db, config, ids, { consent: none })
    expect(await open(input)).toMatchObject({ status: 'refused', reason: 'call_request_required' })
    await expectNothingReserved(input, member.id)
    // The same for a prepaid block: the attack held five minutes of a member who had asked for nothing.
    const block = await callInput(db, config, ids, { mode: 'prepaid', prepaidMinutes: 5, consent: none })
    expect(await open(block)).toMatchObject({ status: 'refused', reason: 'call_request_required' })
    await expectNothingReserved(block, member.id)
  })

  it("refuses another member's or another operator's request as not found", async () => {
    const { ids } = await parties()
    const other = await parties()
    const theirs = await memberAsks(db, other.ids)
    expect(await open(await callInput(db, config, ids, { consent: theirs }))).toMatchObject({ reason: 'call_request_not_found' })
    // The other member's request to this operator is not this member's either.
    const toMe = await memberAsks(db, { ...ids, memberId: other.member.id })
    expect(await open(await callInput(db, config, ids, { consent: toMe }))).toMatchObject({ reason: 'call_request_not_found' })
    const unknown: CallConsent = { requestId: randomUUID(), scheduledCallId: null, answeredAtMs: Date.now() }
    expect(await open(await callInput(db, config, ids, { consent: unknown }))).toMatchObject({ reason: 'call_request_not_found' })
  })

  it("runs only at the member's terms: the price, the mode and the minutes they asked for", async () => {
    const { member, ids } = await parties({ rate: 10 })
    // Asked at $0.10/min; the operator raised the price to $14.00/min before answering.
    const asked = await memberAsks(db, ids)
    const dearer = await callInput(db, config, { ...ids, ratePerMinuteCents: 1_400 }, { consent: asked })
    expect(await open(dearer)).toMatchObject({ status: 'refused', reason: 'call_terms_mismatch' })
    await expectNothingReserved(dearer, member.id)
    // A per-minute request answered as a 1,440-minute block.
    const block = await callInput(db, config, ids, { mode: 'prepaid', prepaidMinutes: 1_440, consent: asked })
    expect(await open(block)).toMatchObject({ status: 'refused', reason: 'call_terms_mismatch' })
    // A 5-minute block answered as 30 minutes.
    const five = await memberAsks(db, { ...ids, mode: 'prepaid', prepaidMinutes: 5 })
    const thirty = await callInput(db, config, ids, { mode: 'prepaid', prepaidMinutes: 30, consent: five })
    expect(await open(thirty)).toMatchObject({ status: 'refused', reason: 'call_terms_mismatch' })
    await expectNothingReserved(thirty, member.id)
    // At the terms asked, the call opens.
    const agreed = await callInput(db, config, ids, { consent: asked })
    expect(await open(agreed)).toMatchObject({ status: 'active', ratePerMinuteCents: 10 })
  })

  it('marks the request answered in the opening itself, so it answers one call only', async () => {
    const { member, operator, ids } = await parties()
    const asked = await memberAsks(db, ids)
    const first = await callInput(db, config, ids, { consent: asked })
    expect(await open(first)).toMatchObject({ status: 'active' })
    const request = await db.callRequest.findUniqueOrThrow({ where: { id: asked.requestId! } })
    expect(request).toMatchObject({ status: 'accepted', callId: first.callId })
    const started = await db.outboxEvent.findFirstOrThrow({ where: { callId: first.callId, type: 'call.started' } })
    expect(started).toMatchObject({ memberId: member.id, operatorId: null })
    expect(started.payload).toMatchObject({ callId: first.callId, requestId: asked.requestId, operatorId: operator.id })
    // The replayed opening answers as the first; a second call on the same request is refused.
    expect(await open(first)).toMatchObject({ status: 'active', callId: first.callId })
    await createCallActivities(db).settleCall({ callId: first.callId, endReason: 'operator_hangup', endedAtMs: Date.now() })
    const second = await callInput(db, config, ids, { consent: asked })
    expect(await open(second)).toMatchObject({ status: 'refused', reason: 'call_request_closed' })
    await expectNothingReserved(second, member.id)
    expect((await checkLedger(db)).violations).toEqual([])
  })

  it('refuses a request the member cancelled, the operator declined, or that had expired when answered', async () => {
    const { ids } = await parties()
    for (const status of ['cancelled', 'declined'] as const) {
      const asked = await memberAsks(db, ids)
      await db.callRequest.update({ where: { id: asked.requestId! }, data: { status } })
      expect(await open(await callInput(db, config, ids, { consent: asked }))).toMatchObject({ reason: 'call_request_closed' })
    }
    const asked = await memberAsks(db, ids)
    const request = await db.callRequest.findUniqueOrThrow({ where: { id: asked.requestId! } })
    const late: CallConsent = { ...asked, answeredAtMs: request.expiresAt.getTime() }
    expect(await open(await callInput(db, config, ids, { consent: late }))).toMatchObject({ reason: 'call_request_closed' })
  })

  it('leaves the request open when the opening is refused for money, so a top-up can still answer it', async () => {
    const { member, ids } = await parties({ fundedCents: 50 })
    const asked = await memberAsks(db, ids)
    const input = await callInput(db, config, ids, { consent: asked })
    expect(await open(input)).toMatchObject({ status: 'refused', reason: 'insufficient_funds' })
    await expectNothingReserved(input, member.id)
    expect(await db.callRequest.findUniqueOrThrow({ where: { id: asked.requestId! } })).toMatchObject({ status: 'pending', callId: null })
  })

  it('refuses to open a call for an operator whose e-mail address is not confirmed', async () => {
    const { member, operator, ids } = await parties()
    await db.user.update({ where: { id: operator.id }, data: { emailVerifiedAt: null } })
    const input = await callInput(db, config, ids)
    expect(await open(input)).toMatchObject({ status: 'refused', reason: 'operator_unavailable' })
    await expectNothingReserved(input, member.id)
  })

  it('refuses a scheduled call that is not reserved, or at other terms than booked', async () => {
    const { ids } = await parties()
    const bookingId = randomUUID()
    await db.scheduledCall.create({
      data: {
        id: bookingId,
        memberId: ids.memberId,
        operatorId: ids.operatorId,
        startsAt: new Date(Date.now() + 3_600_000),
        minutes: 10,
        memberTimeZone: 'UTC',
        ratePerMinuteCents: 100,
        commissionBps: 2_000,
        companyShareBps: 0,
        status: 'accepted',
        workflowId: `scheduled-call-${bookingId}`,
      },
    })
    const booked: CallConsent = { requestId: null, scheduledCallId: bookingId, answeredAtMs: Date.now() }
    const early = await callInput(db, config, ids, { mode: 'prepaid', prepaidMinutes: 10, consent: booked })
    expect(await open(early)).toMatchObject({ reason: 'scheduled_call_not_reserved' })
    // At its time the booking's money is reserved, as its workflow does it.
    const schedule = createScheduledCallActivities({ db, publicUrl: 'http://127.0.0.1' })
    expect(await schedule.reserveScheduledFunds({ scheduledCallId: bookingId })).toMatchObject({ status: 'reserved' })
    const longer = await callInput(db, config, ids, { mode: 'prepaid', prepaidMinutes: 60, consent: booked })
    expect(await open(longer)).toMatchObject({ reason: 'call_terms_mismatch' })
    const perMinute = await callInput(db, config, ids, { consent: booked })
    expect(await open(perMinute)).toMatchObject({ reason: 'call_terms_mismatch' })
    const stranger = await parties()
    const theirs = await callInput(db, config, stranger.ids, { mode: 'prepaid', prepaidMinutes: 10, consent: booked })
    expect(await open(theirs)).toMatchObject({ reason: 'scheduled_call_not_found' })
    // At the booked terms the reservation becomes the call's block, in the opening itself.
    const booked10 = await callInput(db, config, ids, { mode: 'prepaid', prepaidMinutes: 10, consent: booked })
    expect(await open(booked10)).toMatchObject({ status: 'active', ratePerMinuteCents: 100 })
    expect(await db.scheduledCall.findUniqueOrThrow({ where: { id: bookingId } })).toMatchObject({ status: 'started', callId: booked10.callId })
    const wallet = await db.account.findUniqueOrThrow({ where: { id: accountIds.memberWallet(ids.memberId) } })
    expect(wallet.debitsPending).toBe(1_000n)
    expect((await checkLedger(db)).violations).toEqual([])
  })
})

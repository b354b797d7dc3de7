import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { accountIds } from '../../activities/ledger/accounts.js'
import { accountBalance } from '../../activities/ledger/balances.js'
import { checkLedger } from '../../activities/ledger/check.js'
import type { Db } from '../../prisma/client.js'
import { scheduledTransferIds } from '../../workflows/scheduled-call-definitions.js'
import type { PlatformServices } from '../../web-remix/app/plugin-api/services.server.js'
import { cancelBooking, decideBooking, proposeScheduledCall, reportNoShow } from '../../web-remix/app/storefront/scheduling.server.js'
import { callInput, settledCall, sleep, startCall, startCallHarness, testConfig, waitFor, type CallHarness } from '../support/call-harness.js'
import { connectTestDb, createMember, createOperator } from '../support/db.js'

// The no-show rule on a short clock: reminders 1.5 s ahead, the member may be reported absent from 1.5 s after the
// agreed time, and a reservation no call used is released at 4 s. The rules are production's; only the clock is short.
const NO_SHOW_AFTER = 1_500
const CLOSE_AFTER = 4_000

let db: Db
let harness: CallHarness
let services: PlatformServices

beforeAll(async () => {
  db = connectTestDb()
  const config = testConfig({
    SCHEDULE_MIN_NOTICE_MS: '0',
    SCHEDULE_REMINDER_LEADS_MS: '1500',
    SCHEDULE_MEMBER_NO_SHOW_AFTER_MS: String(NO_SHOW_AFTER),
    SCHEDULE_CLOSE_AFTER_MS: String(CLOSE_AFTER),
  })
  harness = await startCallHarness(db, config)
  // What the web hands its helpers; no event streams are needed here.
  services = { config, db, temporal: async () => harness.client, outbox: undefined as never, eventStreams: undefined as never, close: async () => {} }
})
afterEach(async () => {
  expect((await checkLedger(db)).violations).toEqual([])
})
afterAll(async () => {
  await harness?.stop()
  await db?.$disconnect()
})

const available = async (memberId: string) => (await accountBalance(db, accountIds.memberWallet(memberId)))!.availableCents

async function alwaysAvailable(operatorId: string) {
  await db.operatorAvailability.createMany({
    data: [1, 2, 3, 4, 5, 6, 7].map((weekday) => ({ id: crypto.randomUUID(), operatorId, weekday, startMinute: 0, endMinute: 1440 })),
  })
}

async function book(options: { fundedCents: number; minutes?: number; rate?: number; inMs?: number; operatorId?: string }) {
  const member = await createMember(db, { fundedCents: options.fundedCents })
  const operatorId = options.operatorId ?? (await createOperator(db, { ratePerMinuteCents: options.rate ?? 100 })).id
  if (!options.operatorId) await alwaysAvailable(operatorId)
  const startsAtMs = Date.now() + (options.inMs ?? 2_500)
  const proposal = await proposeScheduledCall(
    services,
    { memberId: member.id, operatorId, startsAtMs, minutes: options.minutes ?? 3, memberTimeZone: 'Europe/Paris', note: null },
    Date.now(),
  )
  if (!proposal.ok) throw new Error(proposal.message)
  return { member, operatorId, startsAtMs, id: proposal.scheduledCallId }
}

const booking = (id: string) => db.scheduledCall.findUniqueOrThrow({ where: { id } })
const statusBecomes = (id: string, status: string, timeoutMs = 15_000) =>
  waitFor(async () => ((await booking(id)).status === status ? true : undefined), timeoutMs, `booking ${id} to be ${status}`)
const mailsOf = async (id: string) =>
  (await db.mailMessage.findMany({ where: { dedupeKey: { startsWith: `scheduled:${id}:` } }, orderBy: { id: 'asc' } })).map((m) =>
    m.dedupeKey!.slice(`scheduled:${id}:`.length),
  )
const reservation = (id: string) => db.transfer.findUnique({ where: { id: scheduledTransferIds.reservation(id) } })

describe('a scheduled call', () => {
  it('reminds both sides, reserves at the agreed time, and the prepaid call takes the reservation over', async () => {
    const { member, operatorId, id, startsAtMs } = await book({ fundedCents: 1_000, inMs: 10_000 })
    expect(await decideBooking(services, operatorId, id, 'accept')).toEqual({ ok: true, value: { status: 'accepted' } })
    expect(await available(member.id)).toBe(1_000)

    await statusBecomes(id, 'reserved')
    // Reserved at the agreed time, not before.
    expect((await booking(id)).reservedAt!.getTime()).toBeGreaterThanOrEqual(startsAtMs)
    expect(await available(member.id)).toBe(700)
    expect(await reservation(id)).toMatchObject({ status: 'pending', amount: 300n })
    expect(await mailsOf(id)).toEqual(['accepted:member', 'reminder_1500:member', 'reminder_1500:operator', 'reserved:member', 'reserved:operator'])
    const event = await db.outboxEvent.findFirst({ where: { operatorId, type: 'scheduled_call.reserved' } })
    expect(event?.payload).toMatchObject({ scheduledCallId: id, memberId: member.id, prepaidMinutes: 3, reservedCents: 300 })

    // The operator starts the call as a prepaid block: the reservation is released in the same transaction that
    // holds the block, so the member's available balance never moves.
    const input = await callInput(db, harness.config, { memberId: member.id, operatorId, ratePerMinuteCents: 100 }, { mode: 'prepaid', prepaidMinutes: 3 })
    expect(await startCall(harness, input)).toMatchObject({ status: 'active', fundedMinutes: 3 })
    expect(await booking(id)).toMatchObject({ status: 'started', callId: input.callId })
    expect(await reservation(id)).toMatchObject({ status: 'voided' })
    expect(await available(member.id)).toBe(700)

    // The close passes and changes nothing; the block ends itself and is charged once.
    const call = await settledCall(db, input.callId)
    expect(call).toMatchObject({ endReason: 'prepaid_exhausted', billedMinutes: 3 })
    await sleep(Math.max(0, startsAtMs + CLOSE_AFTER + 500 - Date.now()))
    expect((await booking(id)).status).toBe('started')
    expect(await available(member.id)).toBe(700)
  })

  it('is cancelled at the agreed time when the wallet cannot cover it, and both sides are told', async () => {
    const { member, operatorId, id } = await book({ fundedCents: 250, minutes: 3 })
    await decideBooking(services, operatorId, id, 'accept')
    await statusBecomes(id, 'cancelled')
    expect((await booking(id)).statusReason).toBe('insufficient_funds')
    expect(await reservation(id)).toBeNull()
    expect(await available(member.id)).toBe(250)
    expect(await mailsOf(id)).toEqual(expect.arrayContaining(['cancelled_funds:member', 'cancelled_funds:operator']))
  })

  it('releases everything when the operator starts no call: the member pays nothing', async () => {
    const { member, id, operatorId } = await book({ fundedCents: 1_000 })
    await decideBooking(services, operatorId, id, 'accept')
    await statusBecomes(id, 'reserved')
    expect(await available(member.id)).toBe(700)
    await statusBecomes(id, 'operator_no_show')
    expect(await reservation(id)).toMatchObject({ status: 'voided' })
    expect(await available(member.id)).toBe(1_000)
    expect(await mailsOf(id)).toEqual(expect.arrayContaining(['operator_no_show:member', 'operator_no_show:operator']))
  })

  it('charges a member who does not answer one minute, only once the rule allows the report', async () => {
    const { member, id, operatorId, startsAtMs } = await book({ fundedCents: 1_000, rate: 150 })
    await decideBooking(services, operatorId, id, 'accept')
    await statusBecomes(id, 'reserved')
    // Too early: the member has NO_SHOW_AFTER to answer.
    const early = await reportNoShow(services, operatorId, id)
    expect(early.ok).toBe(false)
    expect(await reportNoShow(services, (await createOperator(db)).id, id)).toEqual({ ok: false, message: 'There is no such booking.' })

    await sleep(Math.max(0, startsAtMs + NO_SHOW_AFTER + 100 - Date.now()))
    expect(await reportNoShow(services, operatorId, id)).toEqual({ ok: true, value: { status: 'member_no_show', noShowFeeCents: 150 } })
    expect(await available(member.id)).toBe(850)
    expect(await reservation(id)).toMatchObject({ status: 'posted', postedAmount: 150n })
    // 20 % commission to the platform, the rest to the operator (no company).
    expect(await db.transfer.findUnique({ where: { id: scheduledTransferIds.commission(id) } })).toMatchObject({ amount: 30n, status: 'posted' })
    expect((await accountBalance(db, accountIds.operatorEarnings(operatorId)))!.postedCents).toBe(120)
    expect(await booking(id)).toMatchObject({ status: 'member_no_show', noShowFeeCents: 150n })
    // Reporting again changes nothing.
    expect((await reportNoShow(services, operatorId, id)).ok).toBe(false)
    expect(await available(member.id)).toBe(850)
  })

  it('is declined, expires without an answer, or is cancelled by its member before the time', async () => {
    const declined = await book({ fundedCents: 1_000, inMs: 5_000 })
    expect(await decideBooking(services, declined.operatorId, declined.id, 'decline')).toEqual({ ok: true, value: { status: 'declined' } })
    expect(await mailsOf(declined.id)).toEqual(['declined:member'])
    // Answered once: a second answer is refused.
    expect((await decideBooking(services, declined.operatorId, declined.id, 'accept')).ok).toBe(false)

    const cancelled = await book({ fundedCents: 1_000, inMs: 5_000 })
    expect(await cancelBooking(services, (await createMember(db)).id, cancelled.id)).toEqual({ ok: false, message: 'There is no such booking.' })
    expect(await cancelBooking(services, cancelled.member.id, cancelled.id)).toEqual({ ok: true, value: { status: 'cancelled', noShowFeeCents: null } })
    expect(await mailsOf(cancelled.id)).toEqual(['cancelled:operator'])

    const unanswered = await book({ fundedCents: 1_000, inMs: 1_500 })
    await statusBecomes(unanswered.id, 'expired')
    expect(await mailsOf(unanswered.id)).toEqual(['expired:member', 'expired:operator'])
    for (const b of [declined, cancelled, unanswered]) expect(await available(b.member.id)).toBe(1_000)
  })

  it('refuses to accept a booking that overlaps one the operator accepted', async () => {
    const first = await book({ fundedCents: 1_000, inMs: 8_000, minutes: 3 })
    // Two minutes later, for three minutes: overlaps the first (which runs three minutes).
    const second = await book({ fundedCents: 1_000, inMs: 8_000 + 120_000, minutes: 3, operatorId: first.operatorId })
    expect(await decideBooking(services, first.operatorId, first.id, 'accept')).toMatchObject({ ok: true, value: { status: 'accepted' } })
    expect(await decideBooking(services, first.operatorId, second.id, 'accept')).toEqual({
      ok: true,
      value: { status: 'proposed', refusal: 'overlaps_another_booking' },
    })
    expect((await booking(second.id)).status).toBe('proposed')
    expect(await decideBooking(services, first.operatorId, second.id, 'decline')).toMatchObject({ ok: true, value: { status: 'declined' } })
    expect(await cancelBooking(services, first.member.id, first.id)).toMatchObject({ ok: true, value: { status: 'cancelled' } })
  })

  it('checks a proposal against the operator’s hours in their own zone', async () => {
    const member = await createMember(db)
    const operator = await createOperator(db)
    // Tokyo, Mondays 09:00–10:00 (00:00–01:00 UTC).
    await db.operator.update({ where: { userId: operator.id }, data: { timeZone: 'Asia/Tokyo' } })
    await db.operatorAvailability.create({ data: { id: crypto.randomUUID(), operatorId: operator.id, weekday: 1, startMinute: 540, endMinute: 600 } })
    // Next week's Monday, 09:00 in Tokyo (00:00 UTC).
    const today = new Date()
    const monday = Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate() + 7 + ((8 - today.getUTCDay()) % 7))
    const propose = (startsAtMs: number, minutes: number) =>
      proposeScheduledCall(services, { memberId: member.id, operatorId: operator.id, startsAtMs, minutes, memberTimeZone: 'America/New_York', note: null }, Date.now())
    expect(await propose(monday + 30 * 60_000, 31)).toMatchObject({ ok: false, message: expect.stringMatching(/not available/) })
    expect(await propose(monday - 60_000, 5)).toMatchObject({ ok: false })
    expect(await propose(monday, 0)).toMatchObject({ ok: false, message: expect.stringMatching(/between 1 and 240/) })
    const ok = await propose(monday + 30 * 60_000, 30)
    expect(ok.ok).toBe(true)
    if (ok.ok) expect(await cancelBooking(services, member.id, ok.scheduledCallId)).toMatchObject({ ok: true })
  })
})

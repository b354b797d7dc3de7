import { ApplicationFailure, Context } from '@temporalio/activity'
import type { Db } from '../prisma/client.js'
import { billablePeriods, fundedPeriods, isLowBalance, periodStartOffsetMs, settleAmounts, transferIds } from '../workflows/billing.js'
import {
  CONSENT_REFUSALS,
  PLATFORM_END_REASONS,
  isPlatformChannel,
  type CallActivities,
  type CallChannel,
  type CallInput,
  type EndReason,
  type HoldResult,
  type Settlement,
  type StartOutcome,
  type StartRefusal,
} from '../workflows/definitions.js'
import { accountIds, openAccount } from './ledger/accounts.js'
import { accountBalance } from './ledger/balances.js'
import { createTransfer, postPendingTransfer, postPendingTransfers, voidPendingTransfers } from './ledger/transfers.js'
import { toCents, type Tx } from './ledger/tx.js'
import { enqueueMail } from './mail/outbox.js'
import { lowBalanceMail } from './mail/templates.js'
import { emitEvent } from './outbox.js'
import type { CallRooms } from './media/call-rooms.js'
import { linkReservationToCall, releaseReservationForCall } from './scheduled-calls.js'

/** The call's side effects. Each runs in one database transaction and is idempotent (see CallActivities). */

interface CallRow {
  id: string
  member_id: string
  operator_id: string
  company_id: string | null
  mode: 'per_minute' | 'prepaid'
  prepaid_minutes: number | null
  rate_per_minute_cents: number
  period_ms: number
  grace_ms: number
  low_balance_periods: number
  heartbeat_timeout_ms: number
  commission_bps: number
  company_share_bps: number
  request_hash: string
  status: 'connecting' | 'active' | 'ending' | 'settled'
  channel: CallChannel
  accepted_at: Date | null
  started_at: Date
  last_heartbeat_at: Date
  ended_at: Date | null
  end_reason: string | null
  funded_minutes_at_start: number
  held_periods: number
  low_balance: boolean
  billed_minutes: number | null
  charged_cents: bigint | null
  commission_cents: bigint | null
  company_share_cents: bigint | null
  operator_earnings_cents: bigint | null
  heartbeat_stale: boolean
}

async function lockCall(tx: Tx, callId: string): Promise<CallRow | null> {
  const rows = await tx.$queryRaw<CallRow[]>`
    SELECT *, (now() - last_heartbeat_at) > make_interval(secs => heartbeat_timeout_ms / 1000.0) AS heartbeat_stale
    FROM calls WHERE id = ${callId}::uuid FOR UPDATE`
  return rows[0] ?? null
}

function callNotFound(callId: string): never {
  throw ApplicationFailure.create({ type: 'CallNotFoundError', message: `no call ${callId}`, nonRetryable: true })
}

function activeOutcome(row: CallRow): StartOutcome {
  return {
    status: 'active',
    callId: row.id,
    requestHash: row.request_hash,
    startedAtMs: row.started_at.getTime(),
    ratePerMinuteCents: row.rate_per_minute_cents,
    fundedMinutes: row.funded_minutes_at_start,
  }
}

function settlementOf(row: CallRow): Settlement {
  return {
    callId: row.id,
    status: 'settled',
    billedMinutes: row.billed_minutes ?? 0,
    chargedCents: toCents(row.charged_cents),
    commissionCents: toCents(row.commission_cents),
    companyShareCents: toCents(row.company_share_cents),
    operatorEarningsCents: toCents(row.operator_earnings_cents),
    endReason: row.end_reason as EndReason,
    startedAtMs: row.started_at.getTime(),
    endedAtMs: row.ended_at!.getTime(),
  }
}

/**
 * Raises or clears the call's low-balance flag after its wallet changed, telling both sides when it flips. With
 * `publicUrl` (where the mail's link points), a raised warning also reaches a member who wants it by e-mail.
 */
export async function updateLowBalance(
  tx: Tx,
  row: Pick<CallRow, 'id' | 'member_id' | 'operator_id' | 'mode' | 'low_balance' | 'rate_per_minute_cents' | 'low_balance_periods'>,
  availableCents: number,
  publicUrl?: string,
): Promise<boolean> {
  if (row.mode !== 'per_minute') return false
  const low = isLowBalance(availableCents, row.rate_per_minute_cents, row.low_balance_periods)
  if (low === row.low_balance) return low
  await tx.$executeRaw`UPDATE calls SET low_balance = ${low} WHERE id = ${row.id}::uuid`
  const minutesLeft = fundedPeriods(availableCents, row.rate_per_minute_cents)
  await emitEvent(tx, {
    type: low ? 'call.low_balance' : 'call.low_balance_cleared',
    memberId: row.member_id,
    operatorId: row.operator_id,
    callId: row.id,
    payload: {
      callId: row.id,
      availableCents,
      minutesLeft,
      ratePerMinuteCents: row.rate_per_minute_cents,
    },
  })
  if (low && publicUrl) await mailLowBalance(tx, row, minutesLeft, publicUrl)
  return low
}

/** The warning by e-mail, in the flip's own transaction, once per call (a warning raised again after a top-up is not mailed again). */
async function mailLowBalance(tx: Tx, row: Pick<CallRow, 'id' | 'member_id' | 'operator_id'>, minutesLeft: number, publicUrl: string): Promise<void> {
  const [who] = await tx.$queryRaw<{ email: string; member_name: string; operator_name: string; wanted: boolean }[]>`
    SELECT m.email, m.display_name AS member_name, o.display_name AS operator_name, m.low_balance_mail AS wanted
    FROM users m, users o WHERE m.id = ${row.member_id}::uuid AND o.id = ${row.operator_id}::uuid`
  if (!who?.wanted) return
  const callUrl = new URL(`/calls/${row.id}`, publicUrl).toString()
  await enqueueMail(tx, { to: who.email, dedupeKey: `call-low-balance:${row.id}`, ...lowBalanceMail(who.member_name, who.operator_name, minutesLeft, callUrl) })
}

/** What hold_call_period answers (prisma/migrations/20261123150000_ledger_functions). */
type PeriodHold =
  | {
      outcome: 'held'
      heldPeriods: number
      availableAfterCents: number
      lowBalance: boolean
      mode: CallRow['mode']
      ratePerMinuteCents: number
      lowBalancePeriods: number
      memberId: string
      operatorId: string
    }
  | { outcome: 'already_settled' | 'insufficient_funds' | 'call_not_found' | 'missing_account' | 'conflict' }
  /** The member's own daily or monthly cap would be passed (call_hold): nothing is reserved. */
  | { outcome: 'spending_cap'; cap: 'daily' | 'monthly'; limitCents: number; usedCents: number }
  | { outcome: 'heartbeat_lost'; lastHeartbeatAtMs: number }
  | { outcome: 'out_of_order'; status: string; heldPeriods: number }

/**
 * Holds period k of a per-minute call, in one statement: every period hold goes through here (the first at opening,
 * each later one, settlement's catch-up), and through the database's call_hold, where the money rules of a hold
 * live. A replay of a hold already made answers as the first time; nothing is reserved unless the answer is 'held'.
 */
async function holdPeriod(tx: Tx, callId: string, period: number, options: { checkHeartbeat: boolean }): Promise<PeriodHold> {
  const [row] = await tx.$queryRaw<{ answer: PeriodHold }[]>`
    SELECT hold_call_period(${callId}::uuid, ${period}::int, ${transferIds.periodHold(callId, period)}, ${options.checkHeartbeat}) AS answer`
  return row!.answer
}

/**
 * Applies the low-balance rule after a hold committed on its own: under the call's lock, with the wallet as it is
 * now (a top-up may have landed since), so the flag and its events never contradict the balance.
 */
async function refreshLowBalance(db: Db, callId: string, publicUrl: string | undefined): Promise<boolean> {
  return db.$transaction(async (tx) => {
    const call = await lockCall(tx, callId)
    if (!call) callNotFound(callId)
    const available = (await accountBalance(tx, accountIds.memberWallet(call.member_id)))!.availableCents
    return updateLowBalance(tx, call, available, publicUrl)
  })
}

/** Sleeps, ending early (rejecting) if the worker cancels the activity; a plain timer outside an activity (tests). */
function sleepUnlessCancelled(ms: number): Promise<void> {
  let context: Context | undefined
  try {
    context = Context.current()
  } catch {
    context = undefined
  }
  return context ? context.sleep(ms) : new Promise((resolve) => setTimeout(resolve, ms))
}

function unexpectedHold(callId: string, period: number, answer: PeriodHold): never {
  throw ApplicationFailure.create({
    type: 'CallStateError',
    message: `cannot hold period ${period} of call ${callId}: ${JSON.stringify(answer)}`,
    nonRetryable: true,
  })
}

/** How often the one-statement settlement is tried on a call that keeps moving, before taking its lock instead. */
const SETTLE_ATTEMPTS = 3

/**
 * A call judged lost stops taking sightings before it settles: moved from active to ending (heartbeats then get 410,
 * the media monitor passes it by), so the last heartbeat it is billed to is the last one it will ever have.
 */
async function freezeLostCall(db: Db, callId: string): Promise<CallRow | null> {
  await db.$executeRaw`UPDATE calls SET status = 'ending' WHERE id = ${callId}::uuid AND status = 'active'`
  return readCall(db, callId)
}

/** The call as it is, without a lock: what the one-statement settlement computes from. */
async function readCall(db: Db, callId: string): Promise<CallRow | null> {
  const rows = await db.$queryRaw<CallRow[]>`
    SELECT *, (now() - last_heartbeat_at) > make_interval(secs => heartbeat_timeout_ms / 1000.0) AS heartbeat_stale
    FROM calls WHERE id = ${callId}::uuid`
  return rows[0] ?? null
}

function elapsedAt(call: CallRow, endedAtMs: number): number {
  return Math.max(0, endedAtMs - call.started_at.getTime())
}

/** Whether periods started that no worker held (a crash, a deploy): settlement's catch-up holds them first. */
function needsCatchUp(call: CallRow, endedAtMs: number): boolean {
  if (call.mode === 'prepaid') return false
  const settings = { periodMs: call.period_ms, graceMs: call.grace_ms }
  return call.held_periods < billablePeriods(elapsedAt(call, endedAtMs), settings, Number.MAX_SAFE_INTEGER)
}

function amountsOf(call: CallRow, heldPeriods: number, elapsedMs: number): ReturnType<typeof settleAmounts> {
  return settleAmounts({
    elapsedMs,
    heldPeriods,
    ratePerMinuteCents: call.rate_per_minute_cents,
    settings: {
      periodMs: call.period_ms,
      graceMs: call.grace_ms,
      commissionBps: call.commission_bps,
      companyShareBps: call.company_id ? call.company_share_bps : 0,
    },
  })
}

/**
 * Settles a call that needs no catch-up in one statement (settle_call, migration 20261123180000): the amounts are
 * computed here from the row as read, and applied only if the row still says what they were computed from. Answers
 * the call's row afterwards: settled (by this statement or an earlier one), or as it is now if it moved on.
 */
async function applySettlement(db: Db, call: CallRow, endReason: EndReason, endedAtMs: number): Promise<CallRow> {
  const callId = call.id
  const prepaid = call.mode === 'prepaid'
  const held = prepaid ? call.prepaid_minutes! : call.held_periods
  const amounts = amountsOf(call, held, elapsedAt(call, endedAtMs))
  const periods = prepaid ? [] : Array.from({ length: held }, (_, i) => transferIds.periodHold(callId, i + 1))
  const endedAt = new Date(endedAtMs)
  // The event reports the row as the statement leaves it, read the way every settlement is read back.
  const settlement = settlementOf({
    ...call,
    status: 'settled',
    ended_at: endedAt,
    end_reason: endReason,
    billed_minutes: amounts.billedPeriods,
    charged_cents: BigInt(amounts.chargedCents),
    commission_cents: BigInt(amounts.commissionCents),
    company_share_cents: BigInt(amounts.companyShareCents),
    operator_earnings_cents: BigInt(amounts.operatorEarningsCents),
  })
  const ending = PLATFORM_END_REASONS.includes(endReason) ? JSON.stringify({ callId, reason: endReason, endedAtMs }) : null
  const [answer] = await db.$queryRaw<Array<CallRow & { outcome: string }>>`
    SELECT settled.answer ->> 'outcome' AS outcome, c.*, false AS heartbeat_stale
    FROM settle_call(${callId}::uuid, ${call.mode}::"CallMode", ${call.prepaid_minutes}::int, ${call.held_periods}::int,
      ${endedAt}::timestamptz, ${endReason}, ${amounts.billedPeriods}::int, ${amounts.chargedCents}::bigint,
      ${amounts.commissionCents}::bigint, ${amounts.companyShareCents}::bigint, ${amounts.operatorEarningsCents}::bigint,
      ${periods.slice(0, amounts.billedPeriods)}::text[], ${periods.slice(amounts.billedPeriods)}::text[],
      ${prepaid ? transferIds.prepaidHold(callId) : null}, ${ending}::jsonb, ${JSON.stringify(settlement)}::jsonb,
      ${accountIds.operatorEarnings(call.operator_id)}, ${accountIds.platformRevenue}, ${transferIds.commission(callId)},
      ${call.company_id ? accountIds.companyEarnings(call.company_id) : null}, ${transferIds.companyShare(callId)}
    ) AS settled(answer), jsonb_populate_record(NULL::calls, settled.answer -> 'call') AS c`
  if (answer!.outcome === 'call_not_found') callNotFound(callId)
  return answer!
}

const START_REFUSALS: readonly string[] = [
  'member_not_found',
  'operator_unavailable',
  'operator_busy',
  'insufficient_funds',
  'spending_cap',
  ...CONSENT_REFUSALS,
] satisfies readonly StartRefusal[]

function isStartRefusal(outcome: string): outcome is StartRefusal {
  return START_REFUSALS.includes(outcome)
}

class Refusal extends Error {
  constructor(readonly reason: StartRefusal) {
    super(reason)
  }
}

function isUniqueViolation(error: unknown, constraint: string): boolean {
  const text = String((error as { message?: unknown })?.message ?? '') + JSON.stringify((error as { meta?: unknown })?.meta ?? {})
  return text.includes(constraint) || ((error as { code?: string })?.code === 'P2002' && text.includes('operator_id'))
}

export interface CallActivityOptions {
  /** Where links in mails point (config PUBLIC_URL). Without it the low-balance warning is not mailed. */
  publicUrl?: string
  /** The media server's rooms, for calls the platform carries. Without it such a call cannot be accepted. */
  rooms?: CallRooms
}

function connectingOutcome(row: CallRow, availableCents: number): StartOutcome {
  const funded = fundedPeriods(availableCents, row.rate_per_minute_cents)
  return {
    status: 'connecting',
    callId: row.id,
    requestHash: row.request_hash,
    acceptedAtMs: (row.accepted_at ?? row.started_at).getTime(),
    ratePerMinuteCents: row.rate_per_minute_cents,
    fundedMinutes: row.mode === 'prepaid' ? Math.min(row.prepaid_minutes ?? 0, funded) : funded,
    channel: row.channel,
  }
}

export function createCallActivities(db: Db, options: CallActivityOptions = {}): CallActivities {
  const { publicUrl, rooms } = options

  async function acceptCall(input: CallInput & { acceptedAtMs: number }): Promise<StartOutcome> {
    const { callId } = input
    const channel = input.channel ?? 'outside'
    const refused = (reason: StartRefusal): StartOutcome => ({ status: 'refused', callId, requestHash: input.requestHash, reason })
    if (isPlatformChannel(channel) && !rooms) throw ApplicationFailure.create({ type: 'MediaUnavailableError', message: 'no media server is configured' })
    const rate = input.ratePerMinuteCents
    const { settings, consent } = input
    const required = input.mode === 'prepaid' ? rate * input.prepaidMinutes! : rate
    // One statement checks the consent and the money and records the call as connecting (see accept_call).
    const [accepted] = await db.$queryRaw<{ answer: { outcome: string; availableCents?: number } }[]>`
      SELECT accept_call(${callId}::uuid, ${input.memberId}::uuid, ${input.operatorId}::uuid, ${input.companyId}::uuid,
        ${input.mode}::"CallMode", ${input.prepaidMinutes}::int, ${rate}::int, ${channel}::"CallChannel", ${settings.periodMs}::int,
        ${settings.graceMs}::int, ${settings.lowBalancePeriods}::int, ${settings.heartbeatTimeoutMs}::int, ${settings.commissionBps}::int,
        ${settings.companyShareBps}::int, ${input.requestHash}, ${`call-${callId}`}, ${new Date(input.acceptedAtMs)}::timestamptz,
        ${required}::bigint, ${accountIds.operatorEarnings(input.operatorId)}, ${consent.requestId}::uuid,
        ${consent.scheduledCallId}::uuid) AS answer`
    const { outcome } = accepted!.answer
    if (isStartRefusal(outcome)) return refused(outcome)
    if (outcome !== 'accepted' && outcome !== 'exists') {
      throw ApplicationFailure.create({ type: 'CallStateError', message: `cannot accept call ${callId}: ${outcome}`, nonRetryable: true })
    }
    // The room after the row: a retried acceptance opens it again (idempotent), and a call is never without its row.
    if (isPlatformChannel(channel)) await rooms!.open(callId)
    const row = (await readCall(db, callId))!
    const available = (await accountBalance(db, accountIds.memberWallet(row.member_id)))?.availableCents ?? 0
    return connectingOutcome(row, available)
  }

  async function startConnectedCall({ callId, startedAtMs }: { callId: string; startedAtMs: number }): Promise<StartOutcome> {
    try {
      return await db.$transaction(async (tx) => {
        const call = await lockCall(tx, callId)
        if (!call) callNotFound(callId)
        if (call.status !== 'connecting') {
          if (call.started_at.getTime() === startedAtMs) return activeOutcome(call)
          throw ApplicationFailure.create({ type: 'CallStateError', message: `call ${callId} is ${call.status}, not connecting`, nonRetryable: true })
        }
        const prepaid = call.mode === 'prepaid'
        const rate = call.rate_per_minute_cents
        const held = prepaid ? call.prepaid_minutes! : 1
        // A booking's reservation becomes the call's block in this same transaction (docs/decisions/014).
        const reservation = await releaseReservationForCall(tx, { memberId: call.member_id, operatorId: call.operator_id })
        const [started] = await tx.$queryRaw<{ answer: { outcome: string; availableAfterCents?: number } }[]>`
          SELECT start_connected_call(${callId}::uuid, ${new Date(startedAtMs)}::timestamptz,
            ${prepaid ? transferIds.prepaidHold(callId) : transferIds.periodHold(callId, 1)}, ${rate * held}::bigint) AS answer`
        const { outcome, availableAfterCents } = started!.answer
        if (outcome === 'exists') return activeOutcome((await lockCall(tx, callId))!)
        if (isStartRefusal(outcome)) throw new Refusal(outcome)
        if (outcome !== 'opened' || availableAfterCents === undefined) {
          throw ApplicationFailure.create({ type: 'CallStateError', message: `cannot start call ${callId}: ${outcome}`, nonRetryable: true })
        }
        if (reservation) await linkReservationToCall(tx, reservation, callId)
        const available = Number(availableAfterCents)
        const fundedMinutes = prepaid ? held : held + fundedPeriods(available, rate)
        const [row] = await tx.$queryRaw<CallRow[]>`
          UPDATE calls SET funded_minutes_at_start = ${fundedMinutes} WHERE id = ${callId}::uuid
          RETURNING *, false AS heartbeat_stale`
        await updateLowBalance(tx, row!, available, publicUrl)
        return activeOutcome(row!)
      })
    } catch (error) {
      if (error instanceof Refusal) {
        const row = await readCall(db, callId)
        return { status: 'refused', callId, requestHash: row?.request_hash ?? '', reason: error.reason }
      }
      throw error
    }
  }

  async function closeCallRoom({ callId }: { callId: string }): Promise<void> {
    await rooms?.close(callId)
  }

  /**
   * Closes the room of a call the platform carries (one on an outside app has none) whose refused period has begun:
   * the call ends on that boundary. It moves to ending first, so the participant_left webhooks the closing causes are
   * not taken for a party hanging up. Never fails the caller: the workflow closes the room again before it settles.
   */
  async function closeRoomIfPeriodBegun(callId: string, period: number, reason: EndReason, onBoundary: boolean): Promise<void> {
    if (!rooms) return
    const [call] = await db.$queryRaw<{ started_at: Date; period_ms: number; channel: CallChannel; status: string }[]>`
      SELECT started_at, period_ms, channel, status::text FROM calls WHERE id = ${callId}::uuid`
    if (!call || call.status !== 'active' || !isPlatformChannel(call.channel)) return
    const boundary = new Date(call.started_at.getTime() + periodStartOffsetMs(period, call.period_ms))
    // Asked on the boundary (the timer may wake a millisecond early), or asked late: either way the period has begun.
    if (!onBoundary && Date.now() < boundary.getTime()) return
    // Why and when it ends, as an end request would say it: both parties' views tell the reason from now on, and a
    // hang-up pressed meanwhile asks the workflow for this same end.
    const ending = await db.$executeRaw`
      UPDATE calls SET status = 'ending', end_requested_at = ${boundary}, end_request_reason = ${reason}
      WHERE id = ${callId}::uuid AND status = 'active'`
    if (ending === 1) await rooms.close(callId).catch(() => undefined)
  }

  /** A call that never connected: settled with nothing charged (close_unconnected_call), both sides told why. */
  async function closeUnconnected(call: CallRow, endReason: EndReason): Promise<Settlement | null> {
    const endedAtMs = call.started_at.getTime()
    const ending = PLATFORM_END_REASONS.includes(endReason) ? JSON.stringify({ callId: call.id, reason: endReason, endedAtMs }) : null
    const zero = { callId: call.id, status: 'settled', billedMinutes: 0, chargedCents: 0, commissionCents: 0, companyShareCents: 0, operatorEarningsCents: 0, endReason }
    const [answer] = await db.$queryRaw<Array<CallRow & { outcome: string }>>`
      SELECT closed.answer ->> 'outcome' AS outcome, c.*, false AS heartbeat_stale
      FROM close_unconnected_call(${call.id}::uuid, ${endReason}, ${ending}::jsonb, ${JSON.stringify(zero)}::jsonb) AS closed(answer),
        jsonb_populate_record(NULL::calls, closed.answer -> 'call') AS c`
    if (!answer || answer.outcome === 'call_not_found') callNotFound(call.id)
    // It started meanwhile: settled the ordinary way.
    if (answer.outcome === 'started') return null
    return settlementOf(answer)
  }
  async function openCall(input: CallInput & { startedAtMs: number }): Promise<StartOutcome> {
    const { callId } = input
    const refused = (reason: StartRefusal): StartOutcome => ({ status: 'refused', callId, requestHash: input.requestHash, reason })
    try {
      return await db.$transaction(async (tx) => {
        const rate = input.ratePerMinuteCents
        const prepaid = input.mode === 'prepaid'
        const held = prepaid ? input.prepaidMinutes! : 1
        const { settings } = input
        // A scheduled call's reservation between these two is released first, so this call's hold can use it
        // (docs/decisions/014); a refused opening rolls the release back with everything else.
        const reservation = await releaseReservationForCall(tx, { memberId: input.memberId, operatorId: input.operatorId })
        // Runs started before consent was recorded in the input have none: open_call refuses them (call_request_required).
        const consent = input.consent ?? { requestId: null, scheduledCallId: null, answeredAtMs: input.startedAtMs }
        // One statement checks the member's consent, opens the call and holds its first period (or block), or says
        // why not (see open_call, prisma/migrations/20261203010000_call_answers_the_member).
        const [opened] = await tx.$queryRaw<{ answer: { outcome: string; availableAfterCents?: number } }[]>`
          SELECT open_call(${callId}::uuid, ${input.memberId}::uuid, ${input.operatorId}::uuid, ${input.companyId}::uuid,
            ${input.mode}::"CallMode", ${input.prepaidMinutes}::int, ${rate}::int, ${settings.periodMs}::int, ${settings.graceMs}::int,
            ${settings.lowBalancePeriods}::int, ${settings.heartbeatTimeoutMs}::int, ${settings.commissionBps}::int,
            ${settings.companyShareBps}::int, ${input.requestHash}, ${`call-${callId}`}, ${new Date(input.startedAtMs)}::timestamptz,
            ${prepaid ? transferIds.prepaidHold(callId) : transferIds.periodHold(callId, 1)}, ${rate * held}::bigint,
            ${accountIds.operatorEarnings(input.operatorId)}, ${consent.requestId}::uuid, ${consent.scheduledCallId}::uuid,
            ${new Date(consent.answeredAtMs)}::timestamptz) AS answer`
        const { outcome, availableAfterCents } = opened!.answer
        if (outcome === 'exists') {
          // A replayed start: answer as the first one did.
          return activeOutcome((await lockCall(tx, callId))!)
        }
        if (isStartRefusal(outcome)) throw new Refusal(outcome)
        if (outcome !== 'opened' || availableAfterCents === undefined) {
          throw ApplicationFailure.create({ type: 'CallStateError', message: `cannot open call ${callId}: ${outcome}`, nonRetryable: true })
        }
        if (reservation) await linkReservationToCall(tx, reservation, callId)
        const available = Number(availableAfterCents)
        const fundedMinutes = prepaid ? held : held + fundedPeriods(available, rate)
        const [row] = await tx.$queryRaw<CallRow[]>`
          UPDATE calls SET funded_minutes_at_start = ${fundedMinutes} WHERE id = ${callId}::uuid
          RETURNING *, false AS heartbeat_stale`
        await updateLowBalance(tx, row!, available, publicUrl)
        return activeOutcome(row!)
      })
    } catch (error) {
      if (error instanceof Refusal) return refused(error.reason)
      if (isUniqueViolation(error, 'calls_one_open_call_per_operator')) return refused('operator_busy')
      throw error
    }
  }

  async function holdNextPeriod({ callId, period, notBeforeMs }: { callId: string; period: number; notBeforeMs?: number }): Promise<HoldResult> {
    // Waiting here, not on a workflow timer: the hold is then made on the boundary itself, not a timer's lateness
    // after it. Only a hold refused ahead of its period asks again this way (workflows/call.ts), and only until then.
    const waitMs = notBeforeMs === undefined ? 0 : notBeforeMs - Date.now()
    if (waitMs > 0) await sleepUnlessCancelled(waitMs)
    // One statement, committed on its own: the hot path of every call, once per period (see holdPeriod).
    const answer = await holdPeriod(db, callId, period, { checkHeartbeat: true })
    switch (answer.outcome) {
      case 'held': {
        const { availableAfterCents } = answer
        let lowBalance = answer.lowBalance
        const low = answer.mode === 'per_minute' && isLowBalance(availableAfterCents, answer.ratePerMinuteCents, answer.lowBalancePeriods)
        // Rarely: the warning flips (once or twice a call). Then a transaction of its own applies it.
        if (answer.mode === 'per_minute' && low !== lowBalance) lowBalance = await refreshLowBalance(db, callId, publicUrl)
        return { held: true, heldPeriods: answer.heldPeriods, availableAfterCents, lowBalance }
      }
      case 'already_settled':
        return { held: false, reason: 'already_settled' }
      case 'insufficient_funds':
      case 'spending_cap':
        // Refused once the period has begun (on the boundary itself, or late): the call ends on that boundary. Its
        // room closes now, before the answer travels back through the workflow, so the media stops on the boundary,
        // not a few round trips after it (the workflow closes it again on its way to the settlement: a no-op). A
        // hold refused ahead of its period is asked again on the boundary, when the member may have topped up.
        await closeRoomIfPeriodBegun(callId, period, answer.outcome === 'spending_cap' ? 'spending_cap' : 'funds_exhausted', notBeforeMs !== undefined)
        return { held: false, reason: answer.outcome }
      case 'heartbeat_lost':
        return { held: false, reason: 'heartbeat_lost', lastHeartbeatAtMs: Number(answer.lastHeartbeatAtMs) }
      case 'call_not_found':
        return callNotFound(callId)
      default:
        return unexpectedHold(callId, period, answer)
    }
  }

  async function settleCall({ callId, endReason, endedAtMs }: { callId: string; endReason: EndReason; endedAtMs: number }): Promise<Settlement> {
    // The common case in two autocommit statements: a read without a lock, the arithmetic in TypeScript, then one
    // statement that applies it if the row still says what it was computed from (docs/decisions/030).
    let call = endReason === 'heartbeat_lost' ? await freezeLostCall(db, callId) : await readCall(db, callId)
    // A lost call is billed to its last sighting as it stands once nothing can move it any more: a scan that saw both
    // parties after the monitor judged the call quiet (a slow scan on a loaded machine) counts, as the later moment
    // the platform knew them connected. Never past now: a sighting is a moment already passed.
    if (endReason === 'heartbeat_lost' && call?.status === 'ending') endedAtMs = Math.max(endedAtMs, call.last_heartbeat_at.getTime())
    for (let attempt = 1; ; attempt++) {
      if (!call) callNotFound(callId)
      if (call.status === 'settled') return settlementOf(call)
      if (call.status === 'connecting') {
        const closed = await closeUnconnected(call, endReason)
        if (closed) return closed
        call = await readCall(db, callId)
        continue
      }
      // Rarely: periods no worker held need catching up, or the call kept moving under every attempt.
      if (attempt > SETTLE_ATTEMPTS || needsCatchUp(call, endedAtMs)) return settleInTransaction(callId, endReason, endedAtMs)
      call = await applySettlement(db, call, endReason, endedAtMs)
    }
  }

  /** The settlement as one interactive transaction under the call's lock, catching up periods no worker held. */
  async function settleInTransaction(callId: string, endReason: EndReason, endedAtMs: number): Promise<Settlement> {
    return db.$transaction(async (tx) => {
      const call = await lockCall(tx, callId)
      if (!call) callNotFound(callId)
      if (call.status === 'settled') return settlementOf(call)

      const elapsedMs = elapsedAt(call, endedAtMs)
      const prepaid = call.mode === 'prepaid'
      let held = prepaid ? call.prepaid_minutes! : call.held_periods
      if (!prepaid) {
        // Periods that started while no worker ran (a crash, a deploy) were never held: hold them now, as far as
        // the wallet covers them, under the same deterministic ids, so the operator's time is paid all the same.
        const started = billablePeriods(elapsedMs, { periodMs: call.period_ms, graceMs: call.grace_ms }, Number.MAX_SAFE_INTEGER)
        while (held < started) {
          const caughtUp = await holdPeriod(tx, callId, held + 1, { checkHeartbeat: false })
          // Time the wallet or the member's cap cannot cover is not billed, as with a hold refused during the call.
          if (caughtUp.outcome === 'insufficient_funds' || caughtUp.outcome === 'spending_cap') break
          if (caughtUp.outcome !== 'held') unexpectedHold(callId, held + 1, caughtUp)
          held = caughtUp.heldPeriods
        }
      }
      const amounts = amountsOf(call, held, elapsedMs)

      if (prepaid) {
        await postPendingTransfer(tx, transferIds.prepaidHold(callId), amounts.chargedCents)
      } else {
        const ids = Array.from({ length: held }, (_, i) => transferIds.periodHold(callId, i + 1))
        await postPendingTransfers(tx, ids.slice(0, amounts.billedPeriods))
        await voidPendingTransfers(tx, ids.slice(amounts.billedPeriods))
      }
      const endedAt = new Date(endedAtMs)
      const [settled] = await tx.$queryRaw<CallRow[]>`
        UPDATE calls SET status = 'settled', ended_at = ${endedAt}, end_reason = ${endReason},
          billed_minutes = ${amounts.billedPeriods}, charged_cents = ${amounts.chargedCents},
          commission_cents = ${amounts.commissionCents}, company_share_cents = ${amounts.companyShareCents},
          operator_earnings_cents = ${amounts.operatorEarningsCents}, low_balance = false, settled_at = now()
        WHERE id = ${callId}::uuid
        RETURNING *, false AS heartbeat_stale`
      const settlement = settlementOf(settled!)
      const audience = { memberId: call.member_id, operatorId: call.operator_id, callId }
      if (PLATFORM_END_REASONS.includes(endReason)) {
        await emitEvent(tx, { type: 'call.ending', ...audience, payload: { callId, reason: endReason, endedAtMs } })
      }
      await emitEvent(tx, { type: 'call.settled', ...audience, payload: { ...settlement } })
      // Shared accounts last: their row locks are then held only for the moment before commit.
      // The posted holds credited the operator's earnings with the whole charge; the platform's commission and the
      // company's share move out of them, so the operator keeps exactly the remainder.
      const operatorAccount = accountIds.operatorEarnings(call.operator_id)
      if (amounts.commissionCents > 0) {
        await createTransfer(tx, {
          id: transferIds.commission(callId),
          debitAccountId: operatorAccount,
          creditAccountId: accountIds.platformRevenue,
          amountCents: amounts.commissionCents,
          pending: false,
          code: 'call_commission',
          callId,
        })
      }
      if (amounts.companyShareCents > 0 && call.company_id) {
        const companyAccount = accountIds.companyEarnings(call.company_id)
        await openAccount(tx, companyAccount, 'company_earnings', call.company_id)
        await createTransfer(tx, {
          id: transferIds.companyShare(callId),
          debitAccountId: operatorAccount,
          creditAccountId: companyAccount,
          amountCents: amounts.companyShareCents,
          pending: false,
          code: 'call_company_share',
          callId,
        })
      }
      return settlement
    })
  }

  return { openCall, acceptCall, startConnectedCall, closeCallRoom, holdNextPeriod, settleCall }
}

/** Calls whose plugin has been quiet longer than their heartbeat timeout, for the heartbeat monitor. */
export async function findQuietCalls(db: Db, limit = 500): Promise<Array<{ callId: string; workflowId: string; lastHeartbeatAtMs: number }>> {
  const rows = await db.$queryRaw<{ id: string; workflow_id: string; last_heartbeat_at: Date }[]>`
    SELECT id, workflow_id, last_heartbeat_at FROM calls
    WHERE status = 'active' AND last_heartbeat_at < now() - make_interval(secs => heartbeat_timeout_ms / 1000.0)
    ORDER BY last_heartbeat_at LIMIT ${limit}`
  return rows.map((r) => ({ callId: r.id, workflowId: r.workflow_id, lastHeartbeatAtMs: r.last_heartbeat_at.getTime() }))
}

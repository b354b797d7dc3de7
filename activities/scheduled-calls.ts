import type { Db } from '../prisma/client.js'
import { splitCharge } from '../workflows/billing.js'
import {
  memberNoShowFeeCents,
  reservationCents,
  scheduledTransferIds,
  type DecisionOutcome,
  type ScheduledCallActivities,
  type ScheduledCallState,
  type ScheduledCallStatus,
} from '../workflows/scheduled-call-definitions.js'
import { accountIds, openAccount } from './ledger/accounts.js'
import { createTransfer, InsufficientFundsError, postPendingTransfer, voidPendingTransfer } from './ledger/transfers.js'
import { toCents, type Tx } from './ledger/tx.js'
import { enqueueMail, type MailInput } from './mail/outbox.js'
import { emitEvent } from './outbox.js'

/**
 * The side effects of a scheduled call (docs/decisions/013-scheduled-calls.md). Each runs in one transaction that
 * locks the booking's row, changes its status only from the status it expects (so a replay changes nothing), moves
 * money only through the ledger under the booking's deterministic transfer ids, and writes the mails of the change in
 * the same transaction.
 */

/** How a booking's messages leave: the mail outbox by default; tests and other channels may pass their own. */
export type ScheduleMailer = (tx: Tx, mail: MailInput) => Promise<void>

export interface ScheduledCallDeps {
  db: Db
  /** Where links in mails point (config PUBLIC_URL). */
  publicUrl: string
  mailer?: ScheduleMailer
}

interface BookingRow {
  id: string
  member_id: string
  operator_id: string
  starts_at: Date
  minutes: number
  member_time_zone: string
  rate_per_minute_cents: number
  company_id: string | null
  commission_bps: number
  company_share_bps: number
  status: ScheduledCallStatus
  no_show_fee_cents: bigint | null
  member_email: string
  member_name: string
  operator_email: string
  operator_name: string
  operator_time_zone: string
}

async function lockBooking(tx: Tx, scheduledCallId: string): Promise<BookingRow> {
  const [row] = await tx.$queryRaw<BookingRow[]>`
    SELECT s.id, s.member_id, s.operator_id, s.starts_at, s.minutes, s.member_time_zone, s.rate_per_minute_cents,
           s.company_id, s.commission_bps, s.company_share_bps, s.status, s.no_show_fee_cents,
           m.email AS member_email, m.display_name AS member_name, u.email AS operator_email,
           u.display_name AS operator_name, o.time_zone AS operator_time_zone
    FROM scheduled_calls s
    JOIN users m ON m.id = s.member_id
    JOIN users u ON u.id = s.operator_id
    JOIN operators o ON o.user_id = s.operator_id
    WHERE s.id = ${scheduledCallId}::uuid
    FOR UPDATE OF s`
  if (!row) throw new Error(`no scheduled call ${scheduledCallId}`)
  return row
}

const stateOf = (row: Pick<BookingRow, 'status' | 'no_show_fee_cents'>): ScheduledCallState => ({
  status: row.status,
  noShowFeeCents: row.no_show_fee_cents === null ? null : toCents(row.no_show_fee_cents),
})

async function setStatus(tx: Tx, id: string, status: ScheduledCallStatus, reason: string | null = null): Promise<void> {
  await tx.$executeRaw`
    UPDATE scheduled_calls SET status = ${status}::"ScheduledCallStatus", status_reason = coalesce(${reason}, status_reason),
      decided_at = CASE WHEN ${status} IN ('accepted', 'declined') THEN now() ELSE decided_at END,
      reserved_at = CASE WHEN ${status} = 'reserved' THEN now() ELSE reserved_at END,
      resolved_at = CASE WHEN ${status} IN ('declined', 'cancelled', 'expired', 'started', 'member_no_show', 'operator_no_show')
                         THEN now() ELSE resolved_at END
    WHERE id = ${id}::uuid`
}

// ---------------------------------------------------------------------------------------------------------------
// Messages: each side reads times in their own zone.

function formatWhen(ms: number, zone: string): string {
  const text = new Intl.DateTimeFormat('en-GB', { timeZone: zone, dateStyle: 'full', timeStyle: 'short' }).format(new Date(ms))
  return `${text} (${zone})`
}

function formatMoney(cents: number): string {
  return `$${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`
}

type Audience = 'member' | 'operator'

function message(
  row: BookingRow,
  publicUrl: string,
  to: Audience,
  event: string,
  subject: string,
  lines: (when: string) => string[],
): MailInput {
  const member = to === 'member'
  const when = formatWhen(row.starts_at.getTime(), member ? row.member_time_zone : row.operator_time_zone)
  const link = member ? `${publicUrl}/schedule` : `${publicUrl}/operator/schedule`
  const greeting = `Hello ${member ? row.member_name : row.operator_name},`
  return {
    to: member ? row.member_email : row.operator_email,
    template: `scheduled_call_${event}`,
    subject,
    text: [greeting, '', ...lines(when), '', `Your scheduled calls: ${link}`].join('\n'),
    dedupeKey: `scheduled:${row.id}:${event}:${to}`,
  }
}

const NO_SHOW_RULE =
  'If the member does not answer, the operator may report it from 10 minutes after the agreed time: the member then pays the first minute and the rest is released. If no call has started 15 minutes after the agreed time, everything is released and the member pays nothing.'

// ---------------------------------------------------------------------------------------------------------------

/**
 * Called by the call's opening transaction (activities/calls.ts, openCall) before it holds anything: a reservation
 * between this member and this operator is released in the same transaction, so the call's own hold (its prepaid
 * block) takes its place without the money ever being free for anything else. Returns the booking's id, if any.
 */
/**
 * A call opening between this member and operator while a reservation of theirs is held: the reservation is voided
 * first, in the opening's own transaction, so the call's hold can use that money (docs/decisions/014). Returns the
 * booking to link to the call once the call's row exists (linkReservationToCall); a refused opening rolls both back.
 */
export async function releaseReservationForCall(tx: Tx, call: { memberId: string; operatorId: string }): Promise<string | null> {
  const [booking] = await tx.$queryRaw<{ id: string }[]>`
    SELECT id FROM scheduled_calls
    WHERE member_id = ${call.memberId}::uuid AND operator_id = ${call.operatorId}::uuid AND status = 'reserved'
    FOR UPDATE`
  if (!booking) return null
  await voidPendingTransfer(tx, scheduledTransferIds.reservation(booking.id))
  return booking.id
}

export async function linkReservationToCall(tx: Tx, bookingId: string, callId: string): Promise<void> {
  await tx.$executeRaw`
    UPDATE scheduled_calls SET status = 'started', call_id = ${callId}::uuid, resolved_at = now(), status_reason = 'call_started'
    WHERE id = ${bookingId}::uuid`
}

export function createScheduledCallActivities(deps: ScheduledCallDeps): ScheduledCallActivities {
  const { db, publicUrl } = deps
  const mail = deps.mailer ?? enqueueMail
  const send = async (tx: Tx, row: BookingRow, to: Audience, event: string, subject: string, lines: (when: string) => string[]) =>
    mail(tx, message(row, publicUrl, to, event, subject, lines))

  async function recordScheduleDecision({ scheduledCallId, decision }: { scheduledCallId: string; decision: 'accept' | 'decline' }): Promise<DecisionOutcome> {
    return db.$transaction(async (tx) => {
      const row = await lockBooking(tx, scheduledCallId)
      if (row.status !== 'proposed') return { status: row.status }
      if (decision === 'accept') {
        // One decision at a time per operator, so two overlapping proposals cannot both be accepted.
        await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${`schedule:${row.operator_id}`}))`
        const [overlap] = await tx.$queryRaw<{ id: string }[]>`
          SELECT id FROM scheduled_calls
          WHERE operator_id = ${row.operator_id}::uuid AND id <> ${row.id}::uuid AND status IN ('accepted', 'reserved')
            AND tstzrange(starts_at, starts_at + make_interval(mins => minutes))
             && tstzrange(${row.starts_at}::timestamptz, ${row.starts_at}::timestamptz + make_interval(mins => ${row.minutes}::int))
          LIMIT 1`
        if (overlap) return { status: 'proposed', refusal: 'overlaps_another_booking' }
        await setStatus(tx, row.id, 'accepted')
        await send(tx, row, 'member', 'accepted', `${row.operator_name} accepted your call`, (when) => [
          `${row.operator_name} accepted your ${row.minutes}-minute call on ${when}.`,
          `At that time we reserve ${formatMoney(reservationCents({ minutes: row.minutes, ratePerMinuteCents: row.rate_per_minute_cents }))} in your wallet; please make sure it is there.`,
          NO_SHOW_RULE,
        ])
        return { status: 'accepted' }
      }
      await setStatus(tx, row.id, 'declined', 'operator_declined')
      await send(tx, row, 'member', 'declined', `${row.operator_name} cannot take your call`, (when) => [
        `${row.operator_name} declined the call you proposed for ${when}. Nothing was reserved.`,
      ])
      return { status: 'declined' }
    })
  }

  async function closeUnreservedBooking({ scheduledCallId, outcome, reason }: { scheduledCallId: string; outcome: 'cancelled' | 'expired'; reason: string }) {
    return db.$transaction(async (tx) => {
      const row = await lockBooking(tx, scheduledCallId)
      if (row.status !== 'proposed' && row.status !== 'accepted') return stateOf(row)
      await setStatus(tx, row.id, outcome, reason)
      if (outcome === 'cancelled') {
        await send(tx, row, 'operator', 'cancelled', `${row.member_name} cancelled a call`, (when) => [
          `${row.member_name} cancelled the call planned for ${when}.`,
        ])
      } else {
        for (const to of ['member', 'operator'] as const) {
          await send(tx, row, to, 'expired', 'A proposed call was not confirmed', (when) => [
            `The call proposed for ${when} was not accepted before its time, so it will not take place. Nothing was reserved.`,
          ])
        }
      }
      return { status: outcome, noShowFeeCents: null }
    })
  }

  async function sendScheduleReminder({ scheduledCallId, leadMs }: { scheduledCallId: string; leadMs: number }) {
    await db.$transaction(async (tx) => {
      const row = await lockBooking(tx, scheduledCallId)
      if (row.status !== 'accepted') return
      const cost = formatMoney(reservationCents({ minutes: row.minutes, ratePerMinuteCents: row.rate_per_minute_cents }))
      await send(tx, row, 'member', `reminder_${leadMs}`, `Reminder: your call with ${row.operator_name}`, (when) => [
        `Your ${row.minutes}-minute call with ${row.operator_name} is on ${when}.`,
        `${cost} will be reserved in your wallet at that time; if it is not there, the call is cancelled.`,
      ])
      await send(tx, row, 'operator', `reminder_${leadMs}`, `Reminder: your call with ${row.member_name}`, (when) => [
        `Your ${row.minutes}-minute call with ${row.member_name} is on ${when}. Start it from the plugin at that time.`,
        NO_SHOW_RULE,
      ])
    })
  }

  async function reserveScheduledFunds({ scheduledCallId }: { scheduledCallId: string }): Promise<ScheduledCallState> {
    try {
      return await db.$transaction(async (tx) => {
        const row = await lockBooking(tx, scheduledCallId)
        if (row.status !== 'accepted') return stateOf(row)
        // A call between the two that opened early is this booking's call: nothing to reserve.
        const [running] = await tx.$queryRaw<{ id: string }[]>`
          SELECT c.id FROM calls c
          WHERE c.member_id = ${row.member_id}::uuid AND c.operator_id = ${row.operator_id}::uuid AND c.status <> 'settled'
            AND NOT EXISTS (SELECT 1 FROM scheduled_calls s WHERE s.call_id = c.id)
          LIMIT 1`
        if (running) {
          await tx.$executeRaw`UPDATE scheduled_calls SET call_id = ${running.id}::uuid WHERE id = ${row.id}::uuid`
          await setStatus(tx, row.id, 'started', 'call_started_early')
          return { status: 'started', noShowFeeCents: null }
        }
        const amount = reservationCents({ minutes: row.minutes, ratePerMinuteCents: row.rate_per_minute_cents })
        const earnings = accountIds.operatorEarnings(row.operator_id)
        await openAccount(tx, earnings, 'operator_earnings', row.operator_id)
        await createTransfer(tx, {
          id: scheduledTransferIds.reservation(row.id),
          debitAccountId: accountIds.memberWallet(row.member_id),
          creditAccountId: earnings,
          amountCents: amount,
          pending: true,
          code: 'scheduled_reservation',
          memo: `scheduled call ${row.id}`,
        })
        await setStatus(tx, row.id, 'reserved')
        await emitEvent(tx, {
          type: 'scheduled_call.reserved',
          memberId: null,
          operatorId: row.operator_id,
          callId: null,
          payload: {
            scheduledCallId: row.id,
            memberId: row.member_id,
            memberDisplayName: row.member_name,
            prepaidMinutes: row.minutes,
            ratePerMinuteCents: row.rate_per_minute_cents,
            reservedCents: amount,
            startsAtMs: row.starts_at.getTime(),
          },
        })
        await send(tx, row, 'member', 'reserved', `Your call with ${row.operator_name} is now`, (when) => [
          `We reserved ${formatMoney(amount)} for your ${row.minutes}-minute call with ${row.operator_name} (${when}). They will call you now.`,
          NO_SHOW_RULE,
        ])
        await send(tx, row, 'operator', 'reserved', `Call ${row.member_name} now`, (when) => [
          `${formatMoney(amount)} is reserved for your ${row.minutes}-minute call with ${row.member_name} (${when}).`,
          `Start it from the plugin as a prepaid call of ${row.minutes} minutes: it uses this reservation.`,
          NO_SHOW_RULE,
        ])
        return { status: 'reserved', noShowFeeCents: null }
      })
    } catch (error) {
      if (!(error instanceof InsufficientFundsError)) throw error
      // The attempt rolled back whole; the cancellation and its mails are a transaction of their own.
      return db.$transaction(async (tx) => {
        const row = await lockBooking(tx, scheduledCallId)
        if (row.status !== 'accepted') return stateOf(row)
        await setStatus(tx, row.id, 'cancelled', 'insufficient_funds')
        const amount = formatMoney(reservationCents({ minutes: row.minutes, ratePerMinuteCents: row.rate_per_minute_cents }))
        await send(tx, row, 'member', 'cancelled_funds', 'Your scheduled call was cancelled', (when) => [
          `Your wallet could not cover the ${amount} of your call with ${row.operator_name} (${when}), so the call was cancelled. Nothing was charged.`,
        ])
        await send(tx, row, 'operator', 'cancelled_funds', 'A scheduled call was cancelled', (when) => [
          `${row.member_name}'s wallet could not cover the call planned for ${when}, so it was cancelled. You do not need to call.`,
        ])
        return { status: 'cancelled', noShowFeeCents: null }
      })
    }
  }

  async function chargeMemberNoShow({ scheduledCallId }: { scheduledCallId: string }): Promise<ScheduledCallState> {
    return db.$transaction(async (tx) => {
      const row = await lockBooking(tx, scheduledCallId)
      if (row.status !== 'reserved') return stateOf(row)
      const fee = memberNoShowFeeCents({ ratePerMinuteCents: row.rate_per_minute_cents })
      const split = splitCharge(fee, row.commission_bps, row.company_id ? row.company_share_bps : 0)
      // The fee is posted from the reservation (the rest is released), then split as any call minute is.
      await postPendingTransfer(tx, scheduledTransferIds.reservation(row.id), fee)
      const operatorAccount = accountIds.operatorEarnings(row.operator_id)
      if (split.commissionCents > 0) {
        await createTransfer(tx, {
          id: scheduledTransferIds.commission(row.id),
          debitAccountId: operatorAccount,
          creditAccountId: accountIds.platformRevenue,
          amountCents: split.commissionCents,
          pending: false,
          code: 'scheduled_no_show_commission',
        })
      }
      if (split.companyShareCents > 0 && row.company_id) {
        const companyAccount = accountIds.companyEarnings(row.company_id)
        await openAccount(tx, companyAccount, 'company_earnings', row.company_id)
        await createTransfer(tx, {
          id: scheduledTransferIds.companyShare(row.id),
          debitAccountId: operatorAccount,
          creditAccountId: companyAccount,
          amountCents: split.companyShareCents,
          pending: false,
          code: 'scheduled_no_show_company_share',
        })
      }
      await tx.$executeRaw`UPDATE scheduled_calls SET no_show_fee_cents = ${fee} WHERE id = ${row.id}::uuid`
      await setStatus(tx, row.id, 'member_no_show', 'member_did_not_answer')
      const reserved = reservationCents({ minutes: row.minutes, ratePerMinuteCents: row.rate_per_minute_cents })
      await send(tx, row, 'member', 'member_no_show', 'You missed your scheduled call', (when) => [
        `${row.operator_name} reported that you did not answer the call planned for ${when}.`,
        `As the no-show rule says, you pay the first minute (${formatMoney(fee)}); the other ${formatMoney(reserved - fee)} are back in your wallet.`,
      ])
      await send(tx, row, 'operator', 'member_no_show', `${row.member_name} did not answer`, (when) => [
        `You reported that ${row.member_name} did not answer the call planned for ${when}. They pay the first minute (${formatMoney(fee)}), shared as for any call.`,
      ])
      return { status: 'member_no_show', noShowFeeCents: fee }
    })
  }

  async function closeReservedBooking({ scheduledCallId }: { scheduledCallId: string }): Promise<ScheduledCallState> {
    return db.$transaction(async (tx) => {
      const row = await lockBooking(tx, scheduledCallId)
      if (row.status !== 'reserved') return stateOf(row)
      await voidPendingTransfer(tx, scheduledTransferIds.reservation(row.id))
      await setStatus(tx, row.id, 'operator_no_show', 'no_call_started')
      await send(tx, row, 'member', 'operator_no_show', 'Your scheduled call did not take place', (when) => [
        `${row.operator_name} did not start the call planned for ${when}. The whole reservation is back in your wallet: you pay nothing.`,
      ])
      await send(tx, row, 'operator', 'operator_no_show', 'You missed a scheduled call', (when) => [
        `No call with ${row.member_name} started for the booking of ${when}, so the reservation was released and nothing is paid.`,
      ])
      return { status: 'operator_no_show', noShowFeeCents: null }
    })
  }

  return { recordScheduleDecision, closeUnreservedBooking, sendScheduleReminder, reserveScheduledFunds, chargeMemberNoShow, closeReservedBooking }
}

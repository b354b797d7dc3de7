import { defineQuery, defineUpdate } from '@temporalio/workflow'

/**
 * A scheduled call (docs/decisions/013-scheduled-calls.md): names, data shapes and the pure rules shared by its
 * workflow (scheduled-call.ts), its activities (activities/scheduled-calls.ts), the web and the tests.
 *
 * THE NO-SHOW RULE, stated once (the pages and docs quote it):
 * - Funds for the whole booking (minutes × the price agreed at the proposal) are reserved at the agreed time T. If
 *   the member's wallet cannot cover them then, the booking is cancelled and both sides are told.
 * - From T the operator starts the call through the plugin; the call uses the reservation as its prepaid block.
 * - Member no-show: if the member does not answer, the operator can report it from T + 10 min until T + 15 min.
 *   The member then pays one minute at the agreed price (split with the platform like any call minute) and the rest
 *   of the reservation is released.
 * - Operator no-show: if no call has started and nothing was reported by T + 15 min, the whole reservation is
 *   released and the member pays nothing.
 * (10 and 15 minutes are the production settings SCHEDULE_MEMBER_NO_SHOW_AFTER_MS and SCHEDULE_CLOSE_AFTER_MS.)
 */

export const SCHEDULED_CALL_WORKFLOW_TYPE = 'scheduledCallWorkflow'
export const scheduledCallWorkflowId = (scheduledCallId: string) => `scheduled-call-${scheduledCallId}`

export const MAX_SCHEDULED_MINUTES = 240

export type ScheduledCallStatus =
  | 'proposed'
  | 'accepted'
  | 'declined'
  | 'cancelled'
  | 'expired'
  | 'reserved'
  | 'started'
  | 'member_no_show'
  | 'operator_no_show'

/** Statuses after which nothing more happens to a booking. */
export const FINAL_STATUSES: readonly ScheduledCallStatus[] = ['declined', 'cancelled', 'expired', 'started', 'member_no_show', 'operator_no_show']

export interface ScheduleTimings {
  /** Reminders go out this long before the agreed time (each only if that moment is still ahead at acceptance). */
  reminderLeadsMs: number[]
  /** From this long after the agreed time the operator may report that the member did not answer. */
  memberNoShowAfterMs: number
  /** This long after the agreed time a reservation that no call used is released (the operator did not show). */
  closeAfterMs: number
}

export interface ScheduledCallInput {
  scheduledCallId: string
  memberId: string
  operatorId: string
  startsAtMs: number
  minutes: number
  /** Frozen at the proposal, like every call's rate at its start. */
  ratePerMinuteCents: number
  companyId: string | null
  commissionBps: number
  companyShareBps: number
  timings: ScheduleTimings
}

export interface ScheduledCallState {
  status: ScheduledCallStatus
  noShowFeeCents: number | null
}

export type DecisionRefusal = 'overlaps_another_booking'

export interface DecisionOutcome {
  status: ScheduledCallStatus
  refusal?: DecisionRefusal
}

/** The operator accepts or declines a proposal. Refused (by the validator) once decided or past the agreed time. */
export const decideScheduledCall = defineUpdate<DecisionOutcome, [{ decision: 'accept' | 'decline'; operatorId: string }]>('decideScheduledCall')
/** The member withdraws a proposal, or cancels an accepted booking, before the agreed time. */
export const cancelScheduledCall = defineUpdate<ScheduledCallState, [{ memberId: string }]>('cancelScheduledCall')
/** The operator reports that the member did not answer (allowed between T + memberNoShowAfter and T + closeAfter). */
export const reportMemberNoShow = defineUpdate<ScheduledCallState, [{ operatorId: string }]>('reportMemberNoShow')
export const scheduledCallState = defineQuery<ScheduledCallState>('scheduledCallState')

/** The reservation and the no-show charge, under deterministic ids (their idempotency keys). */
export const scheduledTransferIds = {
  reservation: (scheduledCallId: string) => `scheduled:${scheduledCallId}:reservation`,
  commission: (scheduledCallId: string) => `scheduled:${scheduledCallId}:commission`,
  companyShare: (scheduledCallId: string) => `scheduled:${scheduledCallId}:company-share`,
} as const

/** What is reserved at the agreed time: the whole booking at the agreed price. */
export function reservationCents(input: Pick<ScheduledCallInput, 'minutes' | 'ratePerMinuteCents'>): number {
  const cents = input.minutes * input.ratePerMinuteCents
  if (!Number.isSafeInteger(cents) || cents <= 0) throw new RangeError(`cannot reserve ${input.minutes} × ${input.ratePerMinuteCents}`)
  return cents
}

/** What a member who does not answer pays: the first minute at the agreed price. */
export function memberNoShowFeeCents(input: Pick<ScheduledCallInput, 'ratePerMinuteCents'>): number {
  return input.ratePerMinuteCents
}

/** When each step of a booking happens, from its agreed time. */
export function bookingTimeline(startsAtMs: number, timings: ScheduleTimings) {
  return {
    reserveAtMs: startsAtMs,
    memberNoShowFromMs: startsAtMs + timings.memberNoShowAfterMs,
    closeAtMs: startsAtMs + timings.closeAfterMs,
    remindersAtMs: [...new Set(timings.reminderLeadsMs)].filter((lead) => lead > 0).sort((a, b) => b - a).map((leadMs) => ({ leadMs, atMs: startsAtMs - leadMs })),
  }
}

/** The side effects of a booking, implemented in activities/scheduled-calls.ts; each is idempotent. */
export interface ScheduledCallActivities {
  /** proposed → accepted or declined; an accept that overlaps another booking of the operator is refused. */
  recordScheduleDecision(input: { scheduledCallId: string; decision: 'accept' | 'decline' }): Promise<DecisionOutcome>
  /** proposed or accepted → cancelled (by the member), or → expired (no answer before the agreed time). */
  closeUnreservedBooking(input: { scheduledCallId: string; outcome: 'cancelled' | 'expired'; reason: string }): Promise<ScheduledCallState>
  sendScheduleReminder(input: { scheduledCallId: string; leadMs: number }): Promise<void>
  /** At the agreed time: accepted → reserved (or cancelled when funds are short, or started if a call already runs). */
  reserveScheduledFunds(input: { scheduledCallId: string }): Promise<ScheduledCallState>
  /** reserved → member_no_show: the fee is posted and split, the rest released. */
  chargeMemberNoShow(input: { scheduledCallId: string }): Promise<ScheduledCallState>
  /** At the close: reserved → operator_no_show (all released); a booking a call used stays started. */
  closeReservedBooking(input: { scheduledCallId: string }): Promise<ScheduledCallState>
}

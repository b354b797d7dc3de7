import { allHandlersFinished, condition, proxyActivities, setHandler } from '@temporalio/workflow'
import {
  bookingTimeline,
  cancelScheduledCall,
  decideScheduledCall,
  FINAL_STATUSES,
  reportMemberNoShow,
  scheduledCallState,
  type ScheduledCallActivities,
  type ScheduledCallInput,
  type ScheduledCallState,
  type ScheduledCallStatus,
} from './scheduled-call-definitions.js'

/**
 * One scheduled call, from the member's proposal to its end (docs/decisions/013-scheduled-calls.md): it waits for the
 * operator's answer until the agreed time, reminds both sides, reserves the funds at the agreed time, and applies the
 * no-show rule stated in scheduled-call-definitions.ts. Every wait is a workflow timer; every change of the booking's
 * row and every movement of money is an idempotent activity, so a crash or a replay changes nothing twice.
 * The call itself is an ordinary prepaid call: opening it with this member consumes the reservation in the same
 * transaction (activities/scheduled-calls.ts, releaseReservationForCall and linkReservationToCall), and at the close the activity sees that.
 */

const booking = proxyActivities<ScheduledCallActivities>({
  startToCloseTimeout: '30 seconds',
  // Money and mail must get through: retry transient failures (a database restart) with backoff, for long.
  retry: { initialInterval: '500 ms', backoffCoefficient: 2, maximumInterval: '30 seconds' },
})

const untilMs = (atMs: number) => Math.max(0, atMs - Date.now())

export async function scheduledCallWorkflow(input: ScheduledCallInput): Promise<ScheduledCallState> {
  const { scheduledCallId, startsAtMs } = input
  const timeline = bookingTimeline(startsAtMs, input.timings)
  let status: ScheduledCallStatus = 'proposed'
  let noShowFeeCents: number | null = null
  let decision: 'accept' | 'decline' | undefined
  let lastRefusal: 'overlaps_another_booking' | undefined
  let decisionsSeen = 0
  let cancelRequested = false
  let memberNoShowReported = false
  const state = (): ScheduledCallState => ({ status, noShowFeeCents })

  setHandler(scheduledCallState, state)
  setHandler(
    decideScheduledCall,
    async ({ decision: answer }) => {
      const seen = decisionsSeen
      decision = answer
      // Resolved once the workflow has recorded this answer (or a refusal of it).
      await condition(() => decisionsSeen > seen || FINAL_STATUSES.includes(status))
      return { status, ...(status === 'proposed' && lastRefusal ? { refusal: lastRefusal } : {}) }
    },
    {
      validator: ({ decision: answer, operatorId }) => {
        if (operatorId !== input.operatorId) throw new Error('not this booking’s operator')
        if (answer !== 'accept' && answer !== 'decline') throw new Error('decide accept or decline')
        if (status !== 'proposed' || decision !== undefined) throw new Error(`the booking is ${status}, not awaiting an answer`)
        if (Date.now() >= startsAtMs) throw new Error('the agreed time has passed')
      },
    },
  )
  setHandler(
    cancelScheduledCall,
    async () => {
      cancelRequested = true
      // Answered once the cancellation is recorded, or once it came too late (the funds were reserved meanwhile).
      await condition(() => status !== 'proposed' && status !== 'accepted')
      return state()
    },
    {
      validator: ({ memberId }) => {
        if (memberId !== input.memberId) throw new Error('not this booking’s member')
        if (status !== 'proposed' && status !== 'accepted') throw new Error(`the booking is ${status}`)
        if (Date.now() >= startsAtMs) throw new Error('the agreed time has passed')
      },
    },
  )
  setHandler(
    reportMemberNoShow,
    async () => {
      memberNoShowReported = true
      await condition(() => status !== 'reserved')
      return state()
    },
    {
      validator: ({ operatorId }) => {
        if (operatorId !== input.operatorId) throw new Error('not this booking’s operator')
        if (status !== 'reserved') throw new Error(`the booking is ${status}`)
        if (Date.now() < timeline.memberNoShowFromMs) throw new Error('too early: the member has until then to answer')
        if (Date.now() >= timeline.closeAtMs) throw new Error('too late: the booking has closed')
      },
    },
  )

  const finish = async () => {
    await condition(allHandlersFinished)
    return state()
  }
  const closeUnreserved = async (outcome: 'cancelled' | 'expired', reason: string) => {
    ;({ status, noShowFeeCents } = await booking.closeUnreservedBooking({ scheduledCallId, outcome, reason }))
    return finish()
  }

  // 1. The operator's answer, until the agreed time.
  while (status === 'proposed') {
    const answered = await condition(() => decision !== undefined || cancelRequested, untilMs(startsAtMs))
    if (cancelRequested) return closeUnreserved('cancelled', 'member_cancelled')
    if (!answered) return closeUnreserved('expired', 'no_answer_before_the_agreed_time')
    const outcome = await booking.recordScheduleDecision({ scheduledCallId, decision: decision! })
    status = outcome.status
    lastRefusal = outcome.refusal
    decision = undefined
    decisionsSeen += 1
  }
  if (status !== 'accepted') return finish()

  // 2. Reminders, then the agreed time.
  for (const reminder of timeline.remindersAtMs) {
    if (reminder.atMs <= Date.now()) continue
    if (await condition(() => cancelRequested, untilMs(reminder.atMs))) break
    await booking.sendScheduleReminder({ scheduledCallId, leadMs: reminder.leadMs })
  }
  if (!cancelRequested) await condition(() => cancelRequested, untilMs(timeline.reserveAtMs))
  if (cancelRequested) return closeUnreserved('cancelled', 'member_cancelled')

  // 3. The reservation.
  ;({ status, noShowFeeCents } = await booking.reserveScheduledFunds({ scheduledCallId }))
  if (status !== 'reserved') return finish()

  // 4. The no-show rule: a report of the member's absence, or the close.
  await condition(() => memberNoShowReported, untilMs(timeline.closeAtMs))
  ;({ status, noShowFeeCents } = memberNoShowReported
    ? await booking.chargeMemberNoShow({ scheduledCallId })
    : await booking.closeReservedBooking({ scheduledCallId }))
  return finish()
}

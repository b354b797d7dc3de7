import { randomUUID } from 'node:crypto'
import { WorkflowNotFoundError, WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client'
import { coversInterval, isValidTimeZone, MINUTE_MS } from '../../../workflows/availability.js'
import {
  cancelScheduledCall,
  decideScheduledCall,
  MAX_SCHEDULED_MINUTES,
  reportMemberNoShow,
  SCHEDULED_CALL_WORKFLOW_TYPE,
  scheduledCallWorkflowId,
  type DecisionOutcome,
  type ScheduledCallInput,
  type ScheduledCallState,
  type ScheduledCallStatus,
} from '../../../workflows/scheduled-call-definitions.js'
import { readPlatformSettings } from '../../../activities/settings.js'
import type { PlatformServices } from '../plugin-api/services.server.js'
import { isUuid } from '../ids.server.js'
import { operatorWindows } from './profile.server.js'

/**
 * Scheduled calls from the web's side (docs/decisions/013-scheduled-calls.md): a member's proposal is checked here
 * (the operator's availability across time zones, notice, length), recorded as a row, and handed to its workflow,
 * which owns every later change; answers, cancellations and no-show reports are updates of that workflow.
 */

/** How far ahead a call can be booked. */
export const MAX_BOOKING_AHEAD_MS = 90 * 24 * 60 * MINUTE_MS

export interface Proposal {
  memberId: string
  operatorId: string
  startsAtMs: number
  minutes: number
  memberTimeZone: string
  note: string | null
}

export type ProposalResult = { ok: true; scheduledCallId: string } | { ok: false; message: string }

export async function proposeScheduledCall(services: PlatformServices, proposal: Proposal, nowMs: number): Promise<ProposalResult> {
  const { db, config } = services
  if (!isUuid(proposal.operatorId)) return { ok: false, message: 'There is no such operator.' }
  if (!Number.isInteger(proposal.minutes) || proposal.minutes < 1 || proposal.minutes > MAX_SCHEDULED_MINUTES) {
    return { ok: false, message: `Choose between 1 and ${MAX_SCHEDULED_MINUTES} minutes.` }
  }
  if (!isValidTimeZone(proposal.memberTimeZone)) return { ok: false, message: 'Choose a time zone.' }
  if (proposal.startsAtMs < nowMs + config.SCHEDULE_MIN_NOTICE_MS) {
    return { ok: false, message: `Choose a time at least ${Math.ceil(config.SCHEDULE_MIN_NOTICE_MS / MINUTE_MS)} minutes from now.` }
  }
  if (proposal.startsAtMs > nowMs + MAX_BOOKING_AHEAD_MS) return { ok: false, message: 'Choose a time within the next 90 days.' }

  const [operator] = await db.$queryRaw<{ rate_per_minute_cents: number; company_id: string | null; share_bps: number | null; time_zone: string }[]>`
    SELECT o.rate_per_minute_cents, o.company_id, c.share_bps, o.time_zone
    FROM operators o JOIN users u ON u.id = o.user_id LEFT JOIN companies c ON c.id = o.company_id
    WHERE o.user_id = ${proposal.operatorId}::uuid AND u.status = 'active'`
  if (!operator) return { ok: false, message: 'There is no such operator.' }
  const windows = await operatorWindows(db, proposal.operatorId)
  if (!coversInterval(windows, isValidTimeZone(operator.time_zone) ? operator.time_zone : 'UTC', proposal.startsAtMs, proposal.minutes * MINUTE_MS)) {
    return { ok: false, message: 'The operator is not available for the whole of that time. Pick a time inside the hours shown.' }
  }

  // The split is frozen at booking with the platform settings in force, as a call starting now would be.
  const settings = await readPlatformSettings(db, config)
  const scheduledCallId = randomUUID()
  const workflowId = scheduledCallWorkflowId(scheduledCallId)
  const input: ScheduledCallInput = {
    scheduledCallId,
    memberId: proposal.memberId,
    operatorId: proposal.operatorId,
    startsAtMs: proposal.startsAtMs,
    minutes: proposal.minutes,
    ratePerMinuteCents: operator.rate_per_minute_cents,
    companyId: operator.company_id,
    commissionBps: settings.commissionBps,
    companyShareBps: operator.company_id ? (operator.share_bps ?? settings.defaultCompanyShareBps) : 0,
    timings: {
      reminderLeadsMs: [...config.SCHEDULE_REMINDER_LEADS_MS],
      memberNoShowAfterMs: config.SCHEDULE_MEMBER_NO_SHOW_AFTER_MS,
      closeAfterMs: config.SCHEDULE_CLOSE_AFTER_MS,
    },
  }
  await db.scheduledCall.create({
    data: {
      id: scheduledCallId,
      memberId: input.memberId,
      operatorId: input.operatorId,
      startsAt: new Date(input.startsAtMs),
      minutes: input.minutes,
      memberTimeZone: proposal.memberTimeZone,
      ratePerMinuteCents: input.ratePerMinuteCents,
      companyId: input.companyId,
      commissionBps: input.commissionBps,
      companyShareBps: input.companyShareBps,
      note: proposal.note?.trim().slice(0, 500) || null,
      workflowId,
    },
  })
  try {
    const client = await services.temporal()
    await client.workflow.start(SCHEDULED_CALL_WORKFLOW_TYPE, { workflowId, taskQueue: config.TEMPORAL_TASK_QUEUE, args: [input] })
  } catch (error) {
    // No workflow, no booking: the row says why, and the member may simply try again.
    await db.scheduledCall.update({ where: { id: scheduledCallId }, data: { status: 'cancelled', statusReason: 'service_unavailable', resolvedAt: new Date() } })
    console.warn(`schedule: could not start the workflow of ${scheduledCallId}: ${(error as Error).message}`)
    return { ok: false, message: 'Scheduling is unavailable right now. Please try again in a minute.' }
  }
  return { ok: true, scheduledCallId }
}

export type UpdateResult<T> = { ok: true; value: T } | { ok: false; message: string }

/** Runs one of a booking's updates; a refusal by its validator (wrong person, wrong moment) becomes a message. */
async function updateBooking<T>(services: PlatformServices, scheduledCallId: string, run: (handle: WorkflowHandle) => Promise<T>): Promise<UpdateResult<T>> {
  if (!isUuid(scheduledCallId)) return { ok: false, message: 'There is no such booking.' }
  try {
    const client = await services.temporal()
    return { ok: true, value: await run(client.workflow.getHandle(scheduledCallWorkflowId(scheduledCallId))) }
  } catch (error) {
    if (error instanceof WorkflowUpdateFailedError) {
      const cause = (error.cause as Error | undefined)?.message ?? error.message
      return { ok: false, message: `That cannot be done now: ${cause}.` }
    }
    if (error instanceof WorkflowNotFoundError || /not found|completed|closed/i.test(String((error as Error)?.message))) {
      return { ok: false, message: 'This booking is already closed.' }
    }
    throw error
  }
}

/** The operator's answer. Only their own bookings: someone else's answers like one that does not exist. */
export async function decideBooking(services: PlatformServices, operatorId: string, scheduledCallId: string, decision: 'accept' | 'decline'): Promise<UpdateResult<DecisionOutcome>> {
  if (!(await owns(services, scheduledCallId, { operatorId }))) return { ok: false, message: 'There is no such booking.' }
  return updateBooking(services, scheduledCallId, (handle) => handle.executeUpdate(decideScheduledCall, { args: [{ decision, operatorId }] }))
}

export async function cancelBooking(services: PlatformServices, memberId: string, scheduledCallId: string): Promise<UpdateResult<ScheduledCallState>> {
  if (!(await owns(services, scheduledCallId, { memberId }))) return { ok: false, message: 'There is no such booking.' }
  return updateBooking(services, scheduledCallId, (handle) => handle.executeUpdate(cancelScheduledCall, { args: [{ memberId }] }))
}

export async function reportNoShow(services: PlatformServices, operatorId: string, scheduledCallId: string): Promise<UpdateResult<ScheduledCallState>> {
  if (!(await owns(services, scheduledCallId, { operatorId }))) return { ok: false, message: 'There is no such booking.' }
  return updateBooking(services, scheduledCallId, (handle) => handle.executeUpdate(reportMemberNoShow, { args: [{ operatorId }] }))
}

async function owns(services: PlatformServices, scheduledCallId: string, who: { memberId?: string; operatorId?: string }): Promise<boolean> {
  if (!isUuid(scheduledCallId)) return false
  const count = await services.db.scheduledCall.count({ where: { id: scheduledCallId, ...who } })
  return count === 1
}

export interface BookingView {
  id: string
  startsAtMs: number
  minutes: number
  ratePerMinuteCents: number
  status: ScheduledCallStatus
  statusReason: string | null
  note: string | null
  noShowFeeCents: number | null
  otherPartyName: string
  otherPartyId: string
}

/** A member's or an operator's bookings: the coming ones first, then the last 20 past ones. */
export async function listBookings(services: PlatformServices, who: { memberId: string } | { operatorId: string }): Promise<BookingView[]> {
  const asMember = 'memberId' in who
  const rows = await services.db.scheduledCall.findMany({
    where: asMember ? { memberId: who.memberId } : { operatorId: who.operatorId },
    orderBy: { startsAt: 'desc' },
    take: 50,
    include: { member: { select: { displayName: true } }, operator: { select: { user: { select: { displayName: true } } } } },
  })
  return rows.map((row) => ({
    id: row.id,
    startsAtMs: row.startsAt.getTime(),
    minutes: row.minutes,
    ratePerMinuteCents: row.ratePerMinuteCents,
    status: row.status,
    statusReason: row.statusReason,
    note: row.note,
    noShowFeeCents: row.noShowFeeCents === null ? null : Number(row.noShowFeeCents),
    otherPartyName: asMember ? row.operator.user.displayName : row.member.displayName,
    otherPartyId: asMember ? row.operatorId : row.memberId,
  }))
}

import { emitEvent } from '../../../activities/outbox.js'
import type { Db } from '../../../prisma/client.js'
import type { CallChannel, CallConsent, CallMode, ConsentRefusal } from '../../../workflows/definitions.js'
import { apiError } from './errors.server.js'

/**
 * The operator's side of a member's call request (web-remix/app/calls/requests.server.ts makes them) or booking:
 * starting the call answers it, at its terms (docs/decisions/046), declining tells the member. The member's pages
 * learn of both through their event stream (call.started is written by the call's opening itself).
 */

const notFound = () => apiError(404, 'call_request_not_found', 'no such call request')
const closed = () => apiError(409, 'call_request_closed', 'this call request was cancelled, declined or has expired')

/** Why a start cannot answer the consent it names, as the API says it; the call's opening decides the same way. */
export const consentRefusals: Record<ConsentRefusal, () => Response> = {
  call_request_required: () =>
    apiError(403, 'call_request_required', "a call starts only as the answer to the member's own call request (requestId) or scheduled call (scheduledCallId)"),
  call_request_not_found: notFound,
  call_request_closed: closed,
  scheduled_call_not_found: () => apiError(404, 'scheduled_call_not_found', 'no such scheduled call'),
  scheduled_call_not_reserved: () => apiError(409, 'scheduled_call_not_reserved', "this scheduled call's money is not reserved (it is not due yet, or it is over)"),
  call_terms_mismatch: () =>
    apiError(409, 'call_terms_mismatch', 'the call must run at the terms the member agreed to: the mode, prepaid minutes and price of their request'),
}

/** The terms of the call a start answers: the member's, from their request or booking. */
export interface AgreedTerms {
  memberId: string
  mode: CallMode
  prepaidMinutes: number | null
  ratePerMinuteCents: number
  channel: CallChannel
  consent: CallConsent
}

/**
 * Before a start: the request (or booking) it names must be this operator's and still open, and its terms are the
 * call's. Throws the API's answer otherwise. The call's opening checks all of it again under the row's lock.
 */
export async function agreedTerms(
  db: Db,
  operatorId: string,
  named: { requestId?: string | null; scheduledCallId?: string | null },
  now = new Date(),
): Promise<AgreedTerms> {
  if (named.requestId) {
    const row = await db.callRequest.findUnique({
      where: { id: named.requestId },
      select: { operatorId: true, memberId: true, status: true, expiresAt: true, mode: true, prepaidMinutes: true, ratePerMinuteCents: true, channel: true },
    })
    if (!row || row.operatorId !== operatorId) throw consentRefusals.call_request_not_found()
    if (row.status !== 'pending' || row.expiresAt <= now) throw consentRefusals.call_request_closed()
    return {
      memberId: row.memberId,
      mode: row.mode,
      prepaidMinutes: row.prepaidMinutes,
      ratePerMinuteCents: row.ratePerMinuteCents,
      channel: row.channel,
      consent: { requestId: named.requestId, scheduledCallId: null, answeredAtMs: now.getTime() },
    }
  }
  if (named.scheduledCallId) {
    const row = await db.scheduledCall.findUnique({
      where: { id: named.scheduledCallId },
      select: { operatorId: true, memberId: true, status: true, minutes: true, ratePerMinuteCents: true },
    })
    if (!row || row.operatorId !== operatorId) throw consentRefusals.scheduled_call_not_found()
    if (row.status !== 'reserved') throw consentRefusals.scheduled_call_not_reserved()
    return {
      memberId: row.memberId,
      mode: 'prepaid',
      prepaidMinutes: row.minutes,
      ratePerMinuteCents: row.ratePerMinuteCents,
      // A booked call is a video call in the platform's room (the member may turn the camera off).
      channel: 'video',
      consent: { requestId: null, scheduledCallId: named.scheduledCallId, answeredAtMs: now.getTime() },
    }
  }
  throw consentRefusals.call_request_required()
}

export async function declineCallRequest(db: Db, operatorId: string, requestId: string): Promise<void> {
  await db.$transaction(async (tx) => {
    const row = await tx.callRequest.findUnique({ where: { id: requestId }, select: { operatorId: true, memberId: true, status: true, expiresAt: true } })
    if (!row || row.operatorId !== operatorId) throw notFound()
    if (row.status === 'declined') return
    if (row.status !== 'pending' || row.expiresAt <= new Date()) throw closed()
    await tx.callRequest.update({ where: { id: requestId }, data: { status: 'declined', answeredAt: new Date() } })
    await emitEvent(tx, {
      type: 'call.request_declined',
      memberId: row.memberId,
      operatorId: null,
      callId: null,
      payload: { requestId, operatorId },
    })
  })
}

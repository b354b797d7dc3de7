import { emitEvent } from '../../../activities/outbox.js'
import type { Db } from '../../../prisma/client.js'
import { apiError } from './errors.server.js'

/**
 * The operator's side of a member's call request (web-remix/app/calls/requests.server.ts makes them): starting the
 * call answers it, declining tells the member. The member's pages learn of both through their event stream.
 */

const notFound = () => apiError(404, 'call_request_not_found', 'no such call request')
const closed = () => apiError(409, 'call_request_closed', 'this call request was cancelled, declined or has expired')

/** Before a start that names a request: it must be this operator's, for this member, and still open. */
export async function requireOpenCallRequest(db: Db, operatorId: string, memberId: string, requestId: string): Promise<void> {
  const row = await db.callRequest.findUnique({ where: { id: requestId }, select: { operatorId: true, memberId: true, status: true, expiresAt: true } })
  if (!row || row.operatorId !== operatorId || row.memberId !== memberId) throw notFound()
  if (row.status !== 'pending' || row.expiresAt <= new Date()) throw closed()
}

/**
 * After a call started: marks the request it answers (the one named, else the member's latest open request to this
 * operator) accepted, and tells the member's pages that the call is on, in one transaction.
 */
export async function recordCallAnswered(
  db: Db,
  call: { operatorId: string; memberId: string; callId: string; requestId: string | null },
): Promise<void> {
  await db.$transaction(async (tx) => {
    const now = new Date()
    const request = call.requestId
      ? await tx.callRequest.findFirst({ where: { id: call.requestId, status: 'pending' }, select: { id: true } })
      : await tx.callRequest.findFirst({
          where: { operatorId: call.operatorId, memberId: call.memberId, status: 'pending', expiresAt: { gt: now } },
          orderBy: { createdAt: 'desc' },
          select: { id: true },
        })
    if (request) {
      await tx.callRequest.update({ where: { id: request.id }, data: { status: 'accepted', callId: call.callId, answeredAt: now } })
    }
    await emitEvent(tx, {
      type: 'call.started',
      memberId: call.memberId,
      operatorId: null,
      callId: call.callId,
      payload: { callId: call.callId, requestId: request?.id ?? null, operatorId: call.operatorId },
    })
  })
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

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
 * operator) accepted, and tells the member's pages that the call is on (call.started), in one statement: it runs on
 * every call start, where an open transaction waiting for its next round trip holds a pooled connection.
 */
export async function recordCallAnswered(
  db: Db,
  call: { operatorId: string; memberId: string; callId: string; requestId: string | null },
): Promise<void> {
  await db.$queryRaw`
    WITH answered AS (
      SELECT id FROM call_requests
      WHERE status = 'pending' AND CASE WHEN ${call.requestId}::uuid IS NULL
        THEN operator_id = ${call.operatorId}::uuid AND member_id = ${call.memberId}::uuid AND expires_at > now()
        ELSE id = ${call.requestId}::uuid END
      ORDER BY created_at DESC LIMIT 1
      FOR UPDATE
    ), accepted AS (
      UPDATE call_requests r SET status = 'accepted', call_id = ${call.callId}::uuid, answered_at = now()
      FROM answered WHERE r.id = answered.id
      RETURNING r.id
    )
    SELECT emit_outbox_event('call.started', ${call.memberId}::uuid, NULL, ${call.callId}::uuid,
      jsonb_build_object('callId', ${call.callId}::text, 'requestId', (SELECT id FROM accepted), 'operatorId', ${call.operatorId}::text)) AS id`
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

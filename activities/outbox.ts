import type { Tx } from './ledger/tx.js'

/**
 * What members and plugins must see (low balance, forced end, settled) goes to the outbox table in the same
 * transaction as the change it reports, and a NOTIFY wakes the web servers that stream it over SSE.
 * NOTIFY is transactional: listeners hear of an event only once it is committed.
 */

export const OUTBOX_CHANNEL = 'outbox_events'

export type OutboxEventType =
  | 'call.low_balance'
  | 'call.low_balance_cleared'
  | 'call.ending'
  | 'call.settled'
  // A member asked for a call (to the operator's plugin); the operator declined it (to the member);
  // the operator started it (to the member, whose waiting page then shows the live call).
  | 'call.requested'
  | 'call.request_declined'
  | 'call.started'
  | 'scheduled_call.reserved'

export interface OutboxEventInput {
  type: OutboxEventType
  memberId: string | null
  operatorId: string | null
  callId: string | null
  payload: Record<string, unknown>
}

/** The NOTIFY payload: small, so listeners fetch the event itself from the table. */
export interface OutboxNotification {
  id: string
  memberId: string | null
  operatorId: string | null
}

export async function emitEvent(tx: Tx, event: OutboxEventInput): Promise<bigint> {
  const rows = await tx.$queryRaw<{ id: bigint }[]>`
    INSERT INTO outbox_events (type, member_id, operator_id, call_id, payload)
    VALUES (${event.type}, ${event.memberId}::uuid, ${event.operatorId}::uuid, ${event.callId}::uuid, ${JSON.stringify(event.payload)}::jsonb)
    RETURNING id`
  const id = rows[0]!.id
  const notification: OutboxNotification = { id: id.toString(), memberId: event.memberId, operatorId: event.operatorId }
  await tx.$executeRaw`SELECT pg_notify(${OUTBOX_CHANNEL}, ${JSON.stringify(notification)})`
  return id
}

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
  // Both parties are connected: the accepted call starts now (to both).
  | 'call.connected'
  // A chat message in the call (to both; written by send_call_message, docs/decisions/065-call-chat.md).
  | 'call.message'
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

/**
 * Writes the event and its NOTIFY (an OutboxNotification on OUTBOX_CHANNEL) in one statement, through the database's
 * emit_outbox_event (migration 20261123170000_outbox_event_function), so a transaction spends one round trip on it.
 */
export async function emitEvent(tx: Tx, event: OutboxEventInput): Promise<bigint> {
  const rows = await tx.$queryRaw<{ id: bigint }[]>`
    SELECT emit_outbox_event(${event.type}, ${event.memberId}::uuid, ${event.operatorId}::uuid, ${event.callId}::uuid,
      ${JSON.stringify(event.payload)}::jsonb) AS id`
  return rows[0]!.id
}

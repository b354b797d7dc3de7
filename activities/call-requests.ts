import { randomUUID } from 'node:crypto'
import type { CallChannel, CallMode } from '../workflows/definitions.js'
import type { Tx } from './ledger/tx.js'

/**
 * A member's request for a call: the consent a call answers (docs/decisions/046). It names the terms the member agreed
 * to (mode, prepaid minutes, the operator's price when they asked), and reaches the operator's plugin as a
 * `call.requested` event. Nothing is reserved by a request: the call's workflow reserves money when the call opens,
 * and only at these terms. The website (web-remix/app/calls/requests.server.ts) decides whether a member may ask;
 * this module records the asking, one request or many in one statement.
 */

/** How long an operator has to answer. */
export const CALL_REQUEST_TTL_MS = 2 * 60_000

export interface NewCallRequest {
  memberId: string
  operatorId: string
  mode: CallMode
  prepaidMinutes: number | null
  /** The operator's price the member was shown and agreed to. */
  ratePerMinuteCents: number
  /** In the platform's room (audio, or video), or on the operator's outside app. */
  channel: CallChannel
}

export interface RecordedCallRequest {
  id: string
  expiresAt: Date
}

/**
 * Records the requests and their `call.requested` events in one statement. The event carries what the plugin's card
 * shows: the member's name and calling handle, read in the same statement.
 */
export async function recordCallRequests(tx: Tx, requests: readonly NewCallRequest[], now = new Date()): Promise<RecordedCallRequest[]> {
  if (requests.length === 0) return []
  const ids = requests.map(() => randomUUID())
  const expiresAt = new Date(now.getTime() + CALL_REQUEST_TTL_MS)
  await tx.$queryRaw`
    WITH asked AS (
      SELECT * FROM unnest(${ids}::uuid[], ${requests.map((r) => r.memberId)}::uuid[], ${requests.map((r) => r.operatorId)}::uuid[],
        ${requests.map((r) => r.mode)}::"CallMode"[], ${requests.map((r) => r.prepaidMinutes)}::int[],
        ${requests.map((r) => r.ratePerMinuteCents)}::int[], ${requests.map((r) => r.channel)}::"CallChannel"[])
        AS a(id, member_id, operator_id, mode, prepaid_minutes, rate_per_minute_cents, channel)
    ), recorded AS (
      INSERT INTO call_requests (id, member_id, operator_id, mode, prepaid_minutes, rate_per_minute_cents, channel, created_at, expires_at)
      SELECT id, member_id, operator_id, mode, prepaid_minutes, rate_per_minute_cents, channel, ${now}::timestamptz, ${expiresAt}::timestamptz
      FROM asked
      RETURNING *
    )
    SELECT emit_outbox_event('call.requested', NULL, r.operator_id, NULL, jsonb_build_object(
        'requestId', r.id::text, 'memberId', r.member_id::text, 'memberDisplayName', m.display_name,
        'memberHandle', m.calling_handle, 'mode', r.mode::text, 'prepaidMinutes', r.prepaid_minutes,
        'ratePerMinuteCents', r.rate_per_minute_cents, 'channel', r.channel::text, 'requestedAt', ${now.toISOString()}::text,
        'expiresAt', ${expiresAt.toISOString()}::text))
    FROM recorded r JOIN users m ON m.id = r.member_id`
  return ids.map((id) => ({ id, expiresAt }))
}

/** The open request a call may answer, with its terms, if this member has one to this operator now. */
export interface OpenCallRequest {
  requestId: string
  mode: CallMode
  prepaidMinutes: number | null
  ratePerMinuteCents: number
  channel: CallChannel
  requestedAt: string
  expiresAt: string
}

/** The member's latest open request to this operator (for the plugin's caller card), or null. */
export async function latestOpenRequest(tx: Tx, memberId: string, operatorId: string, now = new Date()): Promise<OpenCallRequest | null> {
  const row = await tx.callRequest.findFirst({
    where: { memberId, operatorId, status: 'pending', expiresAt: { gt: now } },
    orderBy: { createdAt: 'desc' },
    select: { id: true, mode: true, prepaidMinutes: true, ratePerMinuteCents: true, channel: true, createdAt: true, expiresAt: true },
  })
  if (!row) return null
  return {
    requestId: row.id,
    mode: row.mode,
    prepaidMinutes: row.prepaidMinutes,
    ratePerMinuteCents: row.ratePerMinuteCents,
    channel: row.channel,
    requestedAt: row.createdAt.toISOString(),
    expiresAt: row.expiresAt.toISOString(),
  }
}

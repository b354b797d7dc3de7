import { z } from 'zod'
import type { CallParty } from '../plugin-api/calls.server.js'
import type { PlatformServices } from '../plugin-api/services.server.js'

/**
 * Text chat in a call (docs/decisions/065-call-chat.md): the messages of a call, written by its two parties through
 * send_call_message (one statement: who may write, until when, how often, and the call.message event to both sides),
 * and read back by them; the operator also reads what a member and they wrote in their earlier calls.
 */

export const MAX_MESSAGE_CHARS = 1000
/** Messages one party may send in one call in any minute. */
export const MESSAGES_PER_MINUTE = 20
/** The most earlier messages the operator is shown of a member. */
export const HISTORY_LIMIT = 100

/** A message's text as either side sends it: trimmed, not blank, at most MAX_MESSAGE_CHARS; no NUL (PostgreSQL has none). */
export const messageBody = z
  .string()
  .max(MAX_MESSAGE_CHARS * 4, `must be at most ${MAX_MESSAGE_CHARS} characters`)
  .refine((value) => !value.includes('\u0000'), 'must not contain NUL characters')
  .transform((value) => value.trim())
  .pipe(z.string().min(1, 'must not be blank').max(MAX_MESSAGE_CHARS, `must be at most ${MAX_MESSAGE_CHARS} characters`))

export interface CallMessage {
  id: string
  callId: string
  /** Who wrote it: the call's member or its operator. */
  from: 'member' | 'operator'
  body: string
  /** ISO 8601. */
  sentAt: string
}

export type SendOutcome =
  | { outcome: 'sent'; message: CallMessage }
  | { outcome: 'call_not_found' }
  | { outcome: 'call_ended' }
  | { outcome: 'rate_limited'; retryAfterSeconds: number }
  | { outcome: 'blank' }

/** Sends `body` in the call as `authorId` (the member or the operator of that call; anyone else finds no call). */
export async function sendCallMessage(services: PlatformServices, authorId: string, callId: string, body: string): Promise<SendOutcome> {
  const [row] = await services.db.$queryRaw<{ answer: SendOutcome }[]>`
    SELECT send_call_message(${callId}::uuid, ${authorId}::uuid, ${body}, ${MESSAGES_PER_MINUTE}::int) AS answer`
  return row!.answer
}

interface MessageRow {
  id: string
  call_id: string
  from: 'member' | 'operator'
  body: string
  created_at: Date
}

const view = (row: MessageRow): CallMessage => ({ id: row.id, callId: row.call_id, from: row.from, body: row.body, sentAt: row.created_at.toISOString() })

/** The messages of a call of this party's, oldest first; null when the call is not theirs (as if there were none). */
export async function listCallMessages(services: PlatformServices, party: CallParty, callId: string): Promise<CallMessage[] | null> {
  const own = 'operatorId' in party ? { id: callId, operatorId: party.operatorId } : { id: callId, memberId: party.memberId }
  const call = await services.db.call.findFirst({ where: own, select: { id: true } })
  if (!call) return null
  const rows = await services.db.$queryRaw<MessageRow[]>`
    SELECT m.id::text, m.call_id::text, CASE WHEN m.author_id = c.member_id THEN 'member' ELSE 'operator' END AS "from",
           m.body, m.created_at
    FROM call_messages m JOIN calls c ON c.id = m.call_id
    WHERE m.call_id = ${callId}::uuid
    ORDER BY m.created_at, m.id`
  return rows.map(view)
}

export interface MemberHistory {
  member: { id: string; displayName: string }
  /** The latest HISTORY_LIMIT messages of this member's calls with this operator, oldest first, each with its call's start. */
  messages: (CallMessage & { callStartedAt: string })[]
}

/**
 * What a member and this operator wrote each other in their calls, for the operator. Only a member the operator has
 * had a call with, or who asks them for one now (an open request, a booking), is found; anyone else is unknown (null),
 * exactly like an id nobody has, so strangers' conversations cannot be probed for.
 */
export async function memberMessagesForOperator(services: PlatformServices, operatorId: string, memberId: string, now = new Date()): Promise<MemberHistory | null> {
  const member = await services.db.user.findFirst({
    where: {
      id: memberId,
      role: 'member',
      OR: [
        { memberCalls: { some: { operatorId } } },
        { callRequests: { some: { operatorId, status: 'pending', expiresAt: { gt: now } } } },
        { scheduledCalls: { some: { operatorId, status: { in: ['proposed', 'accepted', 'reserved'] } } } },
      ],
    },
    select: { id: true, displayName: true },
  })
  if (!member) return null
  const rows = await services.db.$queryRaw<(MessageRow & { call_started_at: Date })[]>`
    SELECT * FROM (
      SELECT m.id::text, m.call_id::text, CASE WHEN m.author_id = c.member_id THEN 'member' ELSE 'operator' END AS "from",
             m.body, m.created_at, c.started_at AS call_started_at
      FROM calls c JOIN call_messages m ON m.call_id = c.id
      WHERE c.member_id = ${memberId}::uuid AND c.operator_id = ${operatorId}::uuid
      ORDER BY m.created_at DESC, m.id DESC
      LIMIT ${HISTORY_LIMIT}
    ) latest
    ORDER BY created_at, id`
  return { member, messages: rows.map((row) => ({ ...view(row), callStartedAt: row.call_started_at.toISOString() })) }
}

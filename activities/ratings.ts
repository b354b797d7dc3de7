import { randomUUID } from 'node:crypto'
import type { Db } from '../prisma/client.js'
import type { Tx } from './ledger/tx.js'
import { isUuid } from '../workflows/ids.js'

/**
 * Ratings, in two directions kept in two tables (docs/decisions/012-ratings.md):
 * - `ratings`: a member rates the operator they called. Shown on the profile, and part of the listing's rank.
 * - `member_ratings`: an operator rates the member who called them. Its average is what the plugin's member lookup
 *   shows other operators.
 * Either way: one rating per call, 1–5 stars, an optional comment of at most 1000 characters, and only after a call
 * that was settled with at least one billed minute, by that call's own member (or operator). The database repeats
 * the rules that a table can state (unique call, star range, comment length).
 */

export const MAX_COMMENT_LENGTH = 1000

export type RatingRefusal = 'call_not_found' | 'not_settled' | 'not_billed' | 'already_rated'

export class RatingRefused extends Error {
  override name = 'RatingRefused'
  constructor(readonly reason: RatingRefusal) {
    super(reason)
  }
}

export class RatingInputError extends Error {
  override name = 'RatingInputError'
}

export interface RatingInput {
  callId: string
  stars: number
  comment?: string | null
}

export interface RatingSummary {
  /** Average stars rounded to two decimals; null before the first rating. */
  average: number | null
  count: number
}

/** Checks stars and comment; a blank comment is no comment. */
export function normaliseRating(input: { stars: unknown; comment?: unknown }): { stars: number; comment: string | null } {
  const stars = typeof input.stars === 'string' ? Number(input.stars) : input.stars
  if (typeof stars !== 'number' || !Number.isInteger(stars) || stars < 1 || stars > 5) {
    throw new RatingInputError('choose from 1 to 5 stars')
  }
  const raw = input.comment ?? null
  if (raw !== null && typeof raw !== 'string') throw new RatingInputError('the comment must be text')
  const comment = raw?.trim() ? raw.trim() : null
  if (comment !== null && [...comment].length > MAX_COMMENT_LENGTH) {
    throw new RatingInputError(`the comment may have at most ${MAX_COMMENT_LENGTH} characters`)
  }
  return { stars, comment }
}

type Direction = 'member_rates_operator' | 'operator_rates_member'

async function rate(db: Db, direction: Direction, raterId: string, input: RatingInput): Promise<{ ratingId: string }> {
  const { stars, comment } = normaliseRating(input)
  if (!/^[0-9a-f-]{36}$/i.test(input.callId)) throw new RatingRefused('call_not_found')
  return db.$transaction(async (tx) => {
    const [call] = await tx.$queryRaw<{ member_id: string; operator_id: string; status: string; billed_minutes: number | null }[]>`
      SELECT member_id, operator_id, status, billed_minutes FROM calls WHERE id = ${input.callId}::uuid FOR SHARE`
    const rater = direction === 'member_rates_operator' ? call?.member_id : call?.operator_id
    // Someone else's call answers like a call that does not exist.
    if (!call || rater !== raterId) throw new RatingRefused('call_not_found')
    if (call.status !== 'settled') throw new RatingRefused('not_settled')
    if ((call.billed_minutes ?? 0) < 1) throw new RatingRefused('not_billed')
    const id = randomUUID()
    const inserted =
      direction === 'member_rates_operator'
        ? await tx.$executeRaw`
            INSERT INTO ratings (id, call_id, member_id, operator_id, stars, comment)
            VALUES (${id}::uuid, ${input.callId}::uuid, ${call.member_id}::uuid, ${call.operator_id}::uuid, ${stars}, ${comment})
            ON CONFLICT (call_id) DO NOTHING`
        : await tx.$executeRaw`
            INSERT INTO member_ratings (id, call_id, operator_id, member_id, stars, comment)
            VALUES (${id}::uuid, ${input.callId}::uuid, ${call.operator_id}::uuid, ${call.member_id}::uuid, ${stars}, ${comment})
            ON CONFLICT (call_id) DO NOTHING`
    if (inserted !== 1) throw new RatingRefused('already_rated')
    return { ratingId: id }
  })
}

/** A member rates the operator of one of their calls. */
export function rateOperatorForCall(db: Db, memberId: string, input: RatingInput): Promise<{ ratingId: string }> {
  return rate(db, 'member_rates_operator', memberId, input)
}

/** An operator rates the member of one of their calls (the operator's portal, issue 5, calls this). */
export function rateMemberForCall(db: Db, operatorId: string, input: RatingInput): Promise<{ ratingId: string }> {
  return rate(db, 'operator_rates_member', operatorId, input)
}

function summary(row: { average: number | null; count: bigint | number } | undefined): RatingSummary {
  return { average: row?.average === null || row?.average === undefined ? null : Number(row.average), count: Number(row?.count ?? 0) }
}

/** What members gave an operator: shown on the profile and the listing. */
export async function operatorRatingSummary(db: Tx, operatorId: string): Promise<RatingSummary> {
  const rows = await db.$queryRaw<{ average: number | null; count: bigint }[]>`
    SELECT round(avg(stars)::numeric, 2)::float8 AS average, count(*) AS count FROM ratings WHERE operator_id = ${operatorId}::uuid`
  return summary(rows[0])
}

/** What operators gave a member: "the rating other operators gave", in the plugin's member lookup. */
export async function memberRatingSummary(db: Tx, memberId: string): Promise<RatingSummary> {
  const rows = await db.$queryRaw<{ average: number | null; count: bigint }[]>`
    SELECT round(avg(stars)::numeric, 2)::float8 AS average, count(*) AS count FROM member_ratings WHERE member_id = ${memberId}::uuid`
  return summary(rows[0])
}

export interface Review {
  stars: number
  comment: string | null
  createdAt: Date
  /** The member's first name only: reviews are public. */
  memberFirstName: string
}

export async function recentReviews(db: Tx, operatorId: string, limit = 20): Promise<Review[]> {
  const rows = await db.$queryRaw<{ stars: number; comment: string | null; created_at: Date; first_name: string }[]>`
    SELECT r.stars, r.comment, r.created_at, split_part(u.display_name, ' ', 1) AS first_name
    FROM ratings r JOIN users u ON u.id = r.member_id
    WHERE r.operator_id = ${operatorId}::uuid
    ORDER BY r.created_at DESC, r.id
    LIMIT ${limit}`
  return rows.map((r) => ({ stars: r.stars, comment: r.comment, createdAt: r.created_at, memberFirstName: r.first_name }))
}

/** Whether a member may still rate this call (the call page shows the form only then). */
export async function canRateCall(db: Tx, memberId: string, callId: string): Promise<boolean> {
  if (!isUuid(callId)) return false
  const rows = await db.$queryRaw<{ ok: boolean }[]>`
    SELECT (c.member_id = ${memberId}::uuid AND c.status = 'settled' AND coalesce(c.billed_minutes, 0) >= 1
            AND NOT EXISTS (SELECT 1 FROM ratings r WHERE r.call_id = c.id)) AS ok
    FROM calls c WHERE c.id = ${callId}::uuid`
  return rows[0]?.ok === true
}

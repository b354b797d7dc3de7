import { Prisma, type Db } from '../../../prisma/client.js'
import { PAGE_SIZE, type ListingQuery } from './listing-query.js'
import type { ShownPresence } from './presence.js'
import { isUuid } from '../ids.server.js'

/** The public listing of operators: who can be called now first, then the best ranked. */

export type { ShownPresence }

/**
 * What the storefront shows of an operator's presence, judged by PostgreSQL's clock (the one that set the expiry):
 * a reported presence counts only until it expires (the plugin renews it); an online operator with a call that is
 * not settled is busy, whatever the plugin last said. `o` is the operators row.
 */
export const shownPresenceSql = Prisma.sql`
  CASE WHEN o.presence = 'offline' OR o.presence_expires_at IS NULL OR o.presence_expires_at <= now() THEN 'offline'
       WHEN o.presence = 'busy' OR EXISTS (SELECT 1 FROM calls oc WHERE oc.operator_id = o.user_id AND oc.status <> 'settled') THEN 'busy'
       ELSE 'online' END`

/**
 * The rank after presence (docs/decisions/010-storefront-profiles-and-listing.md): the average rating pulled towards
 * 3.5 by three imaginary ratings (so one 5-star review does not beat forty 4.8s), plus a bonus for calls in the last
 * 30 days that grows with their logarithm.
 */
const rankSql = Prisma.sql`
  (coalesce(r.total, 0) + 3 * 3.5) / (coalesce(r.count, 0) + 3) + 0.25 * ln(1 + coalesce(a.recent_calls, 0))`

export interface OperatorCard {
  id: string
  displayName: string
  headline: string
  ratePerMinuteCents: number
  presence: ShownPresence
  tags: string[]
  rating: { average: number | null; count: number }
  image: { url: string; altText: string } | null
}

export interface ListingPage {
  operators: OperatorCard[]
  total: number
  page: number
  pageCount: number
  /** The most used tags and the selected ones, for the filter. */
  allTags: string[]
}

/** `%`, `_` and `\` mean something in LIKE; a search for them means the characters. */
const likeEscape = (word: string) => word.replace(/[\\%_]/g, (c) => `\\${c}`)

export async function searchOperators(db: Db, query: ListingQuery): Promise<ListingPage> {
  const filters: Prisma.Sql[] = [Prisma.sql`TRUE`]
  for (const word of query.q.split(/\s+/).filter(Boolean).slice(0, 8)) {
    filters.push(Prisma.sql`(u.display_name || ' ' || o.headline || ' ' || o.bio_markdown || ' ' || array_to_string(o.tags, ' '))
      ILIKE ${`%${likeEscape(word)}%`}`)
  }
  if (query.tags.length > 0) filters.push(Prisma.sql`o.tags @> ${query.tags}::text[]`)
  if (query.minCents !== null) filters.push(Prisma.sql`o.rate_per_minute_cents >= ${query.minCents}`)
  if (query.maxCents !== null) filters.push(Prisma.sql`o.rate_per_minute_cents <= ${query.maxCents}`)
  const where = Prisma.join(filters, ' AND ')
  const offset = (query.page - 1) * PAGE_SIZE

  const rows = await db.$queryRaw<
    {
      id: string
      display_name: string
      headline: string
      rate_per_minute_cents: number
      tags: string[]
      shown_presence: ShownPresence
      rating_average: number | null
      rating_count: bigint | null
      image_url: string | null
      image_alt: string | null
      total: bigint
    }[]
  >`
    WITH listed AS (
      SELECT o.user_id AS id, u.display_name, o.headline, o.rate_per_minute_cents, o.tags,
             ${shownPresenceSql} AS shown_presence,
             round((r.total::numeric / nullif(r.count, 0)), 2)::float8 AS rating_average, r.count AS rating_count,
             ${rankSql} AS rank
      FROM operators o
      JOIN users u ON u.id = o.user_id AND u.status = 'active'
      LEFT JOIN LATERAL (SELECT count(*) AS count, sum(stars) AS total FROM ratings WHERE operator_id = o.user_id) r ON TRUE
      LEFT JOIN LATERAL (
        SELECT count(*) AS recent_calls FROM calls
        WHERE operator_id = o.user_id AND status = 'settled' AND billed_minutes > 0 AND started_at > now() - interval '30 days'
      ) a ON TRUE
      WHERE ${where}
    )
    SELECT l.*, i.url AS image_url, i.alt_text AS image_alt, count(*) OVER () AS total
    FROM listed l
    LEFT JOIN LATERAL (SELECT url, alt_text FROM operator_images WHERE operator_id = l.id ORDER BY position LIMIT 1) i ON TRUE
    WHERE ${query.availableNow ? Prisma.sql`l.shown_presence = 'online'` : Prisma.sql`TRUE`}
    ORDER BY CASE l.shown_presence WHEN 'online' THEN 0 WHEN 'busy' THEN 1 ELSE 2 END, l.rank DESC, l.display_name, l.id
    LIMIT ${PAGE_SIZE} OFFSET ${offset}`

  const [tagRows, totalRows] = await Promise.all([
    // The most used tags, for the filter; the selected ones are added below even when rarer.
    db.$queryRaw<{ tag: string }[]>`
      SELECT tag FROM (
        SELECT unnest(o.tags) AS tag FROM operators o JOIN users u ON u.id = o.user_id AND u.status = 'active'
      ) t GROUP BY tag ORDER BY count(*) DESC, tag LIMIT 40`,
    // An empty page past the end still needs the total, for its "page N of M".
    rows.length > 0 || query.page === 1
      ? Promise.resolve(null)
      : db.$queryRaw<{ total: bigint }[]>`
          SELECT count(*) AS total FROM (
            SELECT ${shownPresenceSql} AS shown_presence FROM operators o JOIN users u ON u.id = o.user_id AND u.status = 'active'
            WHERE ${where}) l
          WHERE ${query.availableNow ? Prisma.sql`l.shown_presence = 'online'` : Prisma.sql`TRUE`}`,
  ])
  const total = Number(rows[0]?.total ?? totalRows?.[0]?.total ?? 0)
  return {
    operators: rows.map((row) => ({
      id: row.id,
      displayName: row.display_name,
      headline: row.headline,
      ratePerMinuteCents: row.rate_per_minute_cents,
      presence: row.shown_presence,
      tags: row.tags,
      rating: { average: row.rating_average, count: Number(row.rating_count ?? 0) },
      image: row.image_url ? { url: row.image_url, altText: row.image_alt ?? '' } : null,
    })),
    total,
    page: query.page,
    pageCount: Math.max(1, Math.ceil(total / PAGE_SIZE)),
    allTags: [...new Set([...query.tags, ...tagRows.map((t) => t.tag)])].sort(),
  }
}

/** The presence the storefront shows for some operators (disabled ones are offline: they are never listed). */
export async function shownPresenceOf(db: Db, operatorIds: string[]): Promise<Map<string, ShownPresence>> {
  const ids = operatorIds.filter(isUuid)
  if (ids.length === 0) return new Map()
  const rows = await db.$queryRaw<{ id: string; shown_presence: ShownPresence }[]>`
    SELECT o.user_id AS id, CASE WHEN u.status = 'active' THEN ${shownPresenceSql} ELSE 'offline' END AS shown_presence
    FROM operators o JOIN users u ON u.id = o.user_id
    WHERE o.user_id = ANY(${ids}::uuid[])`
  return new Map(rows.map((r) => [r.id, r.shown_presence]))
}

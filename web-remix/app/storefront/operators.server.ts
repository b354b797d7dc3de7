import type { Db } from '../../../prisma/client.js'

/** The public list of operators, as the profiles page shows it. */

export type ShownPresence = 'online' | 'busy' | 'offline'

export interface OperatorCard {
  id: string
  displayName: string
  headline: string
  ratePerMinuteCents: number
  presence: ShownPresence
}

/**
 * Active operators, those who can be called first. A reported presence counts only until it expires (the plugin
 * renews it), judged by PostgreSQL's clock, the one that set the expiry.
 */
export async function listOperators(db: Db): Promise<OperatorCard[]> {
  const rows = await db.$queryRaw<
    { id: string; display_name: string; headline: string; rate_per_minute_cents: number; shown_presence: ShownPresence }[]
  >`
    SELECT u.id, u.display_name, o.headline, o.rate_per_minute_cents,
           CASE WHEN o.presence <> 'offline' AND o.presence_expires_at > now() THEN o.presence::text ELSE 'offline' END
             AS shown_presence
    FROM operators o JOIN users u ON u.id = o.user_id
    WHERE u.status = 'active'
    ORDER BY CASE WHEN o.presence <> 'offline' AND o.presence_expires_at > now()
                  THEN (CASE o.presence WHEN 'online' THEN 0 ELSE 1 END) ELSE 2 END,
             u.display_name, u.id
    LIMIT 200`
  return rows.map((row) => ({
    id: row.id,
    displayName: row.display_name,
    headline: row.headline,
    ratePerMinuteCents: row.rate_per_minute_cents,
    presence: row.shown_presence,
  }))
}

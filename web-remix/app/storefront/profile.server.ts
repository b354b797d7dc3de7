import { operatorRatingSummary, recentReviews, type RatingSummary, type Review } from '../../../activities/ratings.js'
import type { Db } from '../../../prisma/client.js'
import { availabilityForViewer, isValidTimeZone, type DayOfSlots, type WeeklyWindow } from '../../../workflows/availability.js'
import { renderBio } from './markdown.server.js'
import { shownPresenceSql, type ShownPresence } from './operators.server.js'
import { isUuid } from '../ids.server.js'

/** An operator's public profile: what /operators/:operatorId shows. Disabled operators have none. */

export interface Profile {
  id: string
  displayName: string
  headline: string
  ratePerMinuteCents: number
  presence: ShownPresence
  tags: string[]
  /** Sanitised HTML, safe to insert as it is (markdown.server.ts). */
  bioHtml: string
  images: Array<{ url: string; altText: string }>
  video: { url: string; captionsUrl: string | null } | null
  operatorTimeZone: string
  rating: RatingSummary
  reviews: Review[]
  /** The next week, in the viewer's zone. */
  availability: DayOfSlots[]
  /**
   * The outside app the operator also takes calls on (Discord, SIP…), or null. Only the app: the handle is shown to a
   * member on their own accepted call, never on the public profile.
   */
  callingProvider: string | null
}

export async function operatorWindows(db: Db, operatorId: string): Promise<WeeklyWindow[]> {
  return db.operatorAvailability.findMany({
    where: { operatorId },
    select: { weekday: true, startMinute: true, endMinute: true },
    orderBy: [{ weekday: 'asc' }, { startMinute: 'asc' }],
  })
}

export async function loadProfile(db: Db, operatorId: string, viewerZone: string, nowMs: number): Promise<Profile | null> {
  if (!isUuid(operatorId)) return null
  const [row] = await db.$queryRaw<
    {
      id: string
      display_name: string
      headline: string
      rate_per_minute_cents: number
      tags: string[]
      bio_markdown: string
      time_zone: string
      video_url: string | null
      video_captions_url: string | null
      shown_presence: ShownPresence
      calling_provider: string | null
    }[]
  >`
    SELECT o.user_id AS id, u.display_name, o.headline, o.rate_per_minute_cents, o.tags, o.bio_markdown, o.time_zone,
           o.video_url, o.video_captions_url, ${shownPresenceSql} AS shown_presence,
           CASE WHEN u.calling_handle IS NOT NULL THEN coalesce(u.calling_provider, 'other') END AS calling_provider
    FROM operators o JOIN users u ON u.id = o.user_id
    WHERE o.user_id = ${operatorId}::uuid AND u.status = 'active'`
  if (!row) return null
  const [images, windows, rating, reviews] = await Promise.all([
    db.operatorImage.findMany({ where: { operatorId: row.id }, select: { url: true, altText: true }, orderBy: { position: 'asc' } }),
    operatorWindows(db, row.id),
    operatorRatingSummary(db, row.id),
    recentReviews(db, row.id, 20),
  ])
  const operatorTimeZone = isValidTimeZone(row.time_zone) ? row.time_zone : 'UTC'
  return {
    id: row.id,
    displayName: row.display_name,
    headline: row.headline,
    ratePerMinuteCents: row.rate_per_minute_cents,
    presence: row.shown_presence,
    tags: row.tags,
    bioHtml: renderBio(row.bio_markdown),
    images,
    video: row.video_url ? { url: row.video_url, captionsUrl: row.video_captions_url } : null,
    operatorTimeZone,
    rating,
    reviews,
    availability: availabilityForViewer({ windows, operatorZone: operatorTimeZone, viewerZone, nowMs, days: 7 }),
    callingProvider: row.calling_provider,
  }
}

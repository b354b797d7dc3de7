// The demo storefront (prisma/seed.ts runs it after the demo users): formatted bios, time zones, pictures (SVGs in
// web-remix/public/media/operators/), weekly hours, and a few past calls with the ratings their members gave.
// Additive and idempotent: a profile someone edited is left alone, and a second run creates and charges nothing.
import { createHash } from 'node:crypto'
import { recordCallRequests } from '../activities/call-requests.js'
import { createCallActivities } from '../activities/calls.js'
import type { BillingSettings } from '../workflows/billing.js'
import type { Db } from './client.js'

interface DemoProfile {
  email: string
  timeZone: string
  bioMarkdown: string
  images: Array<{ file: string; altText: string }>
  video?: { file: string; captions: string }
  /** ISO weekdays with [start, end) local times as HH:MM. */
  hours: Array<{ weekdays: number[]; from: string; to: string }>
}

const PROFILES: readonly DemoProfile[] = [
  {
    email: 'luna@perminute.test',
    timeZone: 'Europe/Madrid',
    bioMarkdown: `## Cards on the table

I have read tarot for **fifteen years**, first in a small shop in Sevilla and now from my kitchen table.
A reading with me is a conversation: the cards start it, *you* decide where it goes.

- Relationships, family, big decisions
- Readings in English or Spanish
- No fortune-telling promises, just honest perspective

> "Luna helped me say out loud what I already knew." — a regular caller`,
    images: [
      { file: 'luna-portrait.svg', altText: 'Illustrated portrait of Luna in purple tones' },
      { file: 'luna-desk.svg', altText: 'Luna’s reading desk under a crescent moon' },
    ],
    video: { file: 'intro.webm', captions: 'intro-captions.vtt' },
    hours: [
      { weekdays: [1, 2, 3, 4], from: '18:00', to: '23:00' },
      { weekdays: [6], from: '11:00', to: '14:00' },
    ],
  },
  {
    email: 'orion@perminute.test',
    timeZone: 'America/New_York',
    bioMarkdown: `## Changing lanes?

Ten years as a hiring manager in tech and retail taught me what interviewers listen for.
Together we can work on:

1. Your story: why this move, why now
2. Mock interviews with **honest feedback**
3. Salary conversations

More about my approach on [my blog](https://example.com/orion-vale).`,
    images: [{ file: 'orion-portrait.svg', altText: 'Illustrated portrait of Orion in teal tones' }],
    hours: [{ weekdays: [1, 2, 3, 4, 5], from: '09:00', to: '17:00' }],
  },
  {
    email: 'sage@perminute.test',
    timeZone: 'Europe/London',
    bioMarkdown: `Sometimes you do not need advice, only someone who listens without judging.

I am a trained peer supporter. Call me to *think out loud*, to unwind after a long day, or to rehearse a
difficult conversation.

**Please note:** I am not a therapist, and in an emergency you should call your local emergency number.`,
    images: [
      { file: 'sage-portrait.svg', altText: 'Illustrated portrait of Sage in warm amber tones' },
      { file: 'sage-desk.svg', altText: 'A quiet desk with a green leaf' },
    ],
    hours: [
      { weekdays: [1, 2, 3, 4, 5, 6, 7], from: '07:00', to: '10:00' },
      { weekdays: [5, 6], from: '20:00', to: '24:00' },
    ],
  },
  {
    email: 'rex@perminute.test',
    timeZone: 'Asia/Tokyo',
    bioMarkdown: `## Live TypeScript reviews

Share your screen and we go through your code together: types that lie, \`any\` that spread, tests that
cannot fail. I have shipped TypeScript since 1.0.

\`\`\`ts
// we will talk about things like this
const total = items.reduce((sum, item) => sum + item.price, 0)
\`\`\`

Bring a pull request, leave with a plan.`,
    images: [
      { file: 'rex-portrait.svg', altText: 'Illustrated portrait of Rex in blue tones' },
      { file: 'rex-desk.svg', altText: 'A laptop showing angle brackets' },
    ],
    hours: [
      { weekdays: [2, 4], from: '19:00', to: '22:00' },
      { weekdays: [6, 7], from: '10:00', to: '16:00' },
    ],
  },
]

/** Past demo calls, each rated by its member. Fixed ids, so a second run finds them settled and changes nothing. */
const DEMO_CALLS: ReadonlyArray<{ id: string; member: string; operator: string; daysAgo: number; minutes: number; stars: number; comment: string | null }> = [
  { id: '00000000-0000-4000-8000-0000000ca001', member: 'ada@perminute.test', operator: 'luna@perminute.test', daysAgo: 12, minutes: 3, stars: 5, comment: 'Warm, funny and surprisingly practical.' },
  { id: '00000000-0000-4000-8000-0000000ca002', member: 'ben@perminute.test', operator: 'luna@perminute.test', daysAgo: 9, minutes: 2, stars: 4, comment: null },
  { id: '00000000-0000-4000-8000-0000000ca003', member: 'ada@perminute.test', operator: 'orion@perminute.test', daysAgo: 6, minutes: 3, stars: 5, comment: 'The mock interview was exactly what I needed.' },
  { id: '00000000-0000-4000-8000-0000000ca004', member: 'ben@perminute.test', operator: 'sage@perminute.test', daysAgo: 4, minutes: 2, stars: 5, comment: 'Felt heard. Thank you.' },
  { id: '00000000-0000-4000-8000-0000000ca005', member: 'ada@perminute.test', operator: 'rex@perminute.test', daysAgo: 2, minutes: 1, stars: 3, comment: 'Good tips, but we ran out of time.' },
]

const minutesOf = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5))
/** A deterministic uuid per (owner, kind, index), so re-seeding finds the same rows. */
function seedUuid(ownerId: string, kind: string, index: number): string {
  const hex = createHash('sha256').update(`seed:${ownerId}:${kind}:${index}`).digest('hex')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`
}

/** The demo calls are billed by production's default settings (config/env.ts), whatever the environment says. */
export const DEMO_CALL_SETTINGS: BillingSettings = {
  periodMs: 60_000,
  graceMs: 5_000,
  lowBalancePeriods: 2,
  heartbeatTimeoutMs: 45_000,
  commissionBps: 2_000,
  companyShareBps: 0,
}

export async function seedStorefront(db: Db, settings: BillingSettings = DEMO_CALL_SETTINGS): Promise<{ ratedCalls: number }> {
  const userIds = new Map((await db.user.findMany({ where: { email: { endsWith: '@perminute.test' } }, select: { id: true, email: true } })).map((u) => [u.email, u.id]))
  for (const profile of PROFILES) {
    const operatorId = userIds.get(profile.email)
    if (!operatorId) continue
    // Only a profile nobody wrote yet gets the demo text.
    await db.operator.updateMany({ where: { userId: operatorId, bioMarkdown: '' }, data: { bioMarkdown: profile.bioMarkdown, timeZone: profile.timeZone } })
    if (profile.video) {
      await db.operator.updateMany({
        where: { userId: operatorId, videoUrl: null },
        data: { videoUrl: `/media/operators/${profile.video.file}`, videoCaptionsUrl: `/media/operators/${profile.video.captions}` },
      })
    }
    for (const [position, image] of profile.images.entries()) {
      await db.$executeRaw`
        INSERT INTO operator_images (id, operator_id, url, alt_text, position)
        VALUES (${seedUuid(operatorId, 'image', position)}::uuid, ${operatorId}::uuid, ${`/media/operators/${image.file}`}, ${image.altText}, ${position})
        ON CONFLICT DO NOTHING`
    }
    if ((await db.operatorAvailability.count({ where: { operatorId } })) === 0) {
      const windows = profile.hours.flatMap((h) => h.weekdays.map((weekday) => ({ weekday, startMinute: minutesOf(h.from), endMinute: minutesOf(h.to) })))
      await db.operatorAvailability.createMany({ data: windows.map((w, i) => ({ id: seedUuid(operatorId, 'hours', i), operatorId, ...w })) })
    }
  }

  // Real calls through the call activities (a hold, then settlement), so the ledger and the history are true.
  const calls = createCallActivities(db)
  let ratedCalls = 0
  for (const demo of DEMO_CALLS) {
    const memberId = userIds.get(demo.member)
    const operatorId = userIds.get(demo.operator)
    if (!memberId || !operatorId) continue
    const operator = await db.operator.findUniqueOrThrow({ where: { userId: operatorId }, include: { company: true } })
    const existing = await db.call.findUnique({ where: { id: demo.id }, select: { status: true } })
    if (!existing) {
      const startedAtMs = Date.now() - demo.daysAgo * 24 * 3_600_000
      // Each demo call answers the member's request, made at the operator's price the moment before it began.
      const rate = operator.ratePerMinuteCents
      const [asked] = await recordCallRequests(db, [{ memberId, operatorId, mode: 'per_minute', prepaidMinutes: null, ratePerMinuteCents: rate, channel: 'outside' }], new Date(startedAtMs))
      const opened = await calls.openCall({
        callId: demo.id,
        memberId,
        operatorId,
        companyId: operator.companyId,
        mode: 'per_minute',
        prepaidMinutes: null,
        ratePerMinuteCents: rate,
        settings: { ...settings, companyShareBps: operator.company?.shareBps ?? 0 },
        requestHash: `seed:${demo.id}`,
        consent: { requestId: asked!.id, scheduledCallId: null, answeredAtMs: startedAtMs },
        startedAtMs,
      })
      if (opened.status !== 'active') continue
      // Ends a little into its last minute: billed exactly `minutes`.
      await calls.settleCall({ callId: demo.id, endReason: 'member_hangup', endedAtMs: startedAtMs + (demo.minutes - 1) * settings.periodMs + 30_000 })
    } else if (existing.status !== 'settled') {
      continue
    }
    ratedCalls += await db.$executeRaw`
      INSERT INTO ratings (id, call_id, member_id, operator_id, stars, comment, created_at)
      SELECT ${seedUuid(demo.id, 'rating', 0)}::uuid, c.id, c.member_id, c.operator_id, ${demo.stars}, ${demo.comment}, c.ended_at
      FROM calls c WHERE c.id = ${demo.id}::uuid AND c.status = 'settled' AND c.billed_minutes >= 1
      ON CONFLICT (call_id) DO NOTHING`
  }
  return { ratedCalls }
}

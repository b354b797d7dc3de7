import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  availabilityForViewer,
  availableIntervals,
  coversInterval,
  DAY_MS,
  HOUR_MS,
  isAvailableAt,
  isValidTimeZone,
  MINUTE_MS,
  offsetSegments,
  resolveWallTime,
  startOfLocalDay,
  wallTime,
  type WeeklyWindow,
} from '../../workflows/availability.js'

// Zones chosen for their clocks: northern and southern daylight saving, half- and quarter-hour offsets, a
// 30-minute DST (Lord Howe), "negative" DST (Dublin), a zone whose midnight is skipped (Santiago), none at all.
const ZONES = [
  'UTC',
  'Europe/Berlin',
  'Europe/London',
  'Europe/Dublin',
  'America/New_York',
  'America/Los_Angeles',
  'America/Santiago',
  'America/St_Johns',
  'Australia/Sydney',
  'Australia/Lord_Howe',
  'Asia/Kolkata',
  'Asia/Kathmandu',
  'Pacific/Chatham',
  'Pacific/Auckland',
  'Asia/Tokyo',
] as const

const FROM = Date.UTC(2025, 0, 1)
const TO = Date.UTC(2033, 0, 1)

/** Every offset transition of a zone between 2025 and 2033, so generated instants can crowd around them. */
const transitions = new Map<string, number[]>(
  ZONES.map((zone) => [zone, offsetSegments(zone, FROM, TO).slice(1).map((s) => s.startMs)]),
)

const zoneArb = fc.constantFrom(...ZONES)
const windowArb: fc.Arbitrary<WeeklyWindow> = fc
  .record({ weekday: fc.integer({ min: 1, max: 7 }), a: fc.integer({ min: 0, max: 1440 }), b: fc.integer({ min: 0, max: 1440 }) })
  .filter(({ a, b }) => a !== b)
  .map(({ weekday, a, b }) => ({ weekday, startMinute: Math.min(a, b), endMinute: Math.max(a, b) }))
const windowsArb = fc.array(windowArb, { minLength: 0, maxLength: 6 })

/** A whole-minute instant, half of the time within a day of one of the zone's clock changes. */
const instantNear = (zone: string) =>
  fc.oneof(
    fc.integer({ min: FROM / MINUTE_MS, max: TO / MINUTE_MS }).map((m) => m * MINUTE_MS),
    fc
      .record({ i: fc.nat(), offsetMinutes: fc.integer({ min: -24 * 60, max: 24 * 60 }) })
      .map(({ i, offsetMinutes }) => {
        const list = transitions.get(zone)!
        const base = list.length ? list[i % list.length]! : Date.UTC(2027, 5, 1)
        return Math.floor(base / MINUTE_MS) * MINUTE_MS + offsetMinutes * MINUTE_MS
      }),
  )

describe('weekly availability across time zones', () => {
  it('knows the zones it is given and refuses made-up ones', () => {
    expect(isValidTimeZone('Europe/Paris')).toBe(true)
    expect(isValidTimeZone('Mars/Olympus_Mons')).toBe(false)
    expect(isValidTimeZone('')).toBe(false)
  })

  it('finds exactly the instants whose wall clock falls in a window (property, DST edges included)', () => {
    fc.assert(
      fc.property(
        zoneArb.chain((zone) => fc.tuple(fc.constant(zone), windowsArb, instantNear(zone), fc.integer({ min: 1, max: 3 * 24 * 60 }))),
        ([zone, windows, from, spanMinutes]) => {
          const to = from + spanMinutes * MINUTE_MS
          const intervals = availableIntervals(windows, zone, from, to)
          // Sorted, disjoint, not touching, inside [from, to).
          for (let i = 0; i < intervals.length; i++) {
            const interval = intervals[i]!
            expect(interval.startMs).toBeLessThan(interval.endMs)
            expect(interval.startMs).toBeGreaterThanOrEqual(from)
            expect(interval.endMs).toBeLessThanOrEqual(to)
            if (i > 0) expect(interval.startMs).toBeGreaterThan(intervals[i - 1]!.endMs)
          }
          // Availability is constant within a whole minute (offsets and windows are whole minutes), so checking every
          // minute's first instant against the definition checks every instant.
          for (let t = from; t < to; t += MINUTE_MS * Math.max(1, Math.floor(spanMinutes / 400))) {
            const inside = intervals.some((i) => t >= i.startMs && t < i.endMs)
            expect(inside, `${new Date(t).toISOString()} in ${zone}`).toBe(isAvailableAt(windows, zone, t))
          }
          for (const interval of intervals) {
            expect(isAvailableAt(windows, zone, interval.startMs)).toBe(true)
            expect(isAvailableAt(windows, zone, interval.endMs - 1)).toBe(true)
            if (interval.startMs > from) expect(isAvailableAt(windows, zone, interval.startMs - 1)).toBe(false)
            if (interval.endMs < to) expect(isAvailableAt(windows, zone, interval.endMs)).toBe(false)
          }
        },
      ),
      { numRuns: 300 },
    )
  })

  it('accepts a call exactly when each of its minutes is available (property)', () => {
    fc.assert(
      fc.property(
        zoneArb.chain((zone) => fc.tuple(fc.constant(zone), windowsArb, instantNear(zone), fc.integer({ min: 1, max: 240 }))),
        ([zone, windows, start, minutes]) => {
          let everyMinute = true
          for (let k = 0; k < minutes && everyMinute; k++) everyMinute = isAvailableAt(windows, zone, start + k * MINUTE_MS)
          expect(coversInterval(windows, zone, start, minutes * MINUTE_MS)).toBe(everyMinute)
        },
      ),
      { numRuns: 300 },
    )
  })

  it('maps wall-clock times to instants and back, naming skipped and repeated ones (property)', () => {
    fc.assert(
      fc.property(
        zoneArb.chain((zone) => fc.tuple(fc.constant(zone), instantNear(zone))),
        ([zone, instant]) => {
          const wall = wallTime(instant, zone)
          const resolved = resolveWallTime(zone, wall)
          // The wall time of a real instant always resolves to it (once, or as one of two in a repeated hour).
          if (resolved.kind === 'exact') expect(resolved.instantMs).toBe(instant)
          else if (resolved.kind === 'ambiguous') expect([resolved.earlierMs, resolved.laterMs]).toContain(instant)
          else expect.unreachable(`${JSON.stringify(wall)} in ${zone} was called skipped`)
          if (resolved.kind === 'ambiguous') {
            for (const t of [resolved.earlierMs, resolved.laterMs]) expect(wallTime(t, zone)).toMatchObject({ hour: wall.hour, minute: wall.minute, day: wall.day })
          }
          // One hour later on the wall clock: if it resolves at all, it reads back the same.
          const later = { ...wall, hour: (wall.hour + 1) % 24 }
          const r = resolveWallTime(zone, later)
          if (r.kind === 'skipped') {
            // No instant within a day shows a skipped time.
            for (let t = instant - DAY_MS; t < instant + DAY_MS; t += MINUTE_MS) {
              const w = wallTime(t, zone)
              expect(w.day === later.day && w.hour === later.hour && w.minute === later.minute).toBe(false)
            }
          }
        },
      ),
      { numRuns: 150 },
    )
  })

  it('handles the days clocks change, by example', () => {
    const berlin = 'Europe/Berlin'
    // 29 March 2026: 02:00 CET becomes 03:00 CEST. 02:30 never happens; read on the old offset it is 03:30 CEST.
    expect(resolveWallTime(berlin, { year: 2026, month: 3, day: 29, hour: 2, minute: 30 })).toEqual({
      kind: 'skipped',
      laterMs: Date.UTC(2026, 2, 29, 1, 30),
    })
    // 25 October 2026: 02:30 happens twice, first on CEST (00:30 UTC), then on CET (01:30 UTC).
    expect(resolveWallTime(berlin, { year: 2026, month: 10, day: 25, hour: 2, minute: 30 })).toEqual({
      kind: 'ambiguous',
      earlierMs: Date.UTC(2026, 9, 25, 0, 30),
      laterMs: Date.UTC(2026, 9, 25, 1, 30),
    })
    // A Sunday window 01:00–04:00 lasts two real hours in spring and four in autumn.
    const sunday = [{ weekday: 7, startMinute: 60, endMinute: 240 }]
    const spring = availableIntervals(sunday, berlin, Date.UTC(2026, 2, 28), Date.UTC(2026, 2, 30))
    expect(spring).toEqual([{ startMs: Date.UTC(2026, 2, 29, 0), endMs: Date.UTC(2026, 2, 29, 2) }])
    const autumn = availableIntervals(sunday, berlin, Date.UTC(2026, 9, 24), Date.UTC(2026, 9, 26))
    expect(autumn).toEqual([{ startMs: Date.UTC(2026, 9, 24, 23), endMs: Date.UTC(2026, 9, 25, 3) }])
    // A three-hour call from 01:00 fits in autumn, not in spring.
    expect(coversInterval(sunday, berlin, Date.UTC(2026, 9, 24, 23), 3 * HOUR_MS)).toBe(true)
    expect(coversInterval(sunday, berlin, Date.UTC(2026, 2, 29, 0), 3 * HOUR_MS)).toBe(false)
    // Santiago skips midnight on 6 September 2026: that day starts at 01:00 local (04:00 UTC).
    expect(startOfLocalDay('America/Santiago', { year: 2026, month: 9, day: 6 })).toBe(Date.UTC(2026, 8, 6, 4))
  })

  it('joins windows across midnight, and across zones whose clocks change on different dates', () => {
    // New York switched to EDT on 8 March 2026, Paris stays on CET until 29 March: five hours apart, not six.
    const ny = 'America/New_York'
    const windows = [
      { weekday: 1, startMinute: 9 * 60, endMinute: 17 * 60 },
      { weekday: 2, startMinute: 22 * 60, endMinute: 24 * 60 },
      { weekday: 3, startMinute: 0, endMinute: 2 * 60 },
    ]
    // 15:00 in Paris on Monday 9 March 2026 is 10:00 in New York: inside; a call from 21:30 Paris for an hour is not.
    const paris = resolveWallTime('Europe/Paris', { year: 2026, month: 3, day: 9, hour: 15, minute: 0 })
    expect(paris.kind).toBe('exact')
    expect(coversInterval(windows, ny, (paris as { instantMs: number }).instantMs, 60 * MINUTE_MS)).toBe(true)
    expect(coversInterval(windows, ny, Date.UTC(2026, 2, 9, 20, 30), 60 * MINUTE_MS)).toBe(false)
    // Tuesday 23:00 → Wednesday 01:00 in New York crosses midnight through two windows: one span.
    expect(coversInterval(windows, ny, Date.UTC(2026, 2, 11, 3), 2 * HOUR_MS)).toBe(true)

    const week = availabilityForViewer({ windows, operatorZone: ny, viewerZone: 'Europe/Paris', nowMs: Date.UTC(2026, 2, 9, 12), days: 7 })
    expect(week.map((d) => d.date)).toEqual(['2026-03-09', '2026-03-10', '2026-03-11', '2026-03-12', '2026-03-13', '2026-03-14', '2026-03-15'])
    expect(week[0]!.slots.map((s) => `${s.start}–${s.end}`)).toEqual(['14:00–22:00'])
    expect(week[1]!.slots).toEqual([])
    expect(week[2]!.slots.map((s) => `${s.start}–${s.end}`)).toEqual(['03:00–07:00'])
    // The same operator, seen from Tokyo: Monday's window lands on Monday 22:00 → Tuesday 06:00, split at midnight.
    const tokyo = availabilityForViewer({ windows, operatorZone: ny, viewerZone: 'Asia/Tokyo', nowMs: Date.UTC(2026, 2, 9, 0), days: 3 })
    expect(tokyo.map((d) => [d.date, d.slots.map((s) => `${s.start}–${s.end}`)])).toEqual([
      ['2026-03-09', ['22:00–24:00']],
      ['2026-03-10', ['00:00–06:00']],
      ['2026-03-11', ['11:00–15:00']],
    ])
  })

  it('shows each slot inside its viewer day, and every slot is available (property)', () => {
    fc.assert(
      fc.property(zoneArb, zoneArb, windowsArb, instantNear('Europe/London'), (operatorZone, viewerZone, windows, nowMs) => {
        const days = availabilityForViewer({ windows, operatorZone, viewerZone, nowMs, days: 3 })
        expect(days).toHaveLength(3)
        for (const day of days) {
          for (const slot of day.slots) {
            const w = wallTime(slot.startMs, viewerZone)
            expect(`${w.year}-${String(w.month).padStart(2, '0')}-${String(w.day).padStart(2, '0')}`).toBe(day.date)
            expect(isAvailableAt(windows, operatorZone, slot.startMs)).toBe(true)
            expect(isAvailableAt(windows, operatorZone, slot.endMs - 1)).toBe(true)
          }
        }
      }),
      { numRuns: 100 },
    )
  })
})

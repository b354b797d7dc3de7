/**
 * Weekly availability across time zones: pure and deterministic (no clock is read here), so the web (profile and
 * scheduling pages), the activities (accepting a proposal checks it again) and the property tests share one truth.
 *
 * An operator keeps windows in their own IANA time zone: an ISO weekday (1 = Monday … 7 = Sunday) and the minutes
 * [startMinute, endMinute) after local midnight. What a window means, across daylight-saving changes:
 *
 *   an instant is available when the operator's wall clock, at that instant, shows a weekday and a time of day
 *   inside one of the windows.
 *
 * So wall-clock times that a spring-forward skips never happen (a 01:00–04:00 window lasts two real hours that
 * night), and an hour that a fall-back repeats is available both times if its wall-clock time is in a window.
 * The conversions rest on Intl.DateTimeFormat and the IANA data the runtime ships; nothing here knows a zone's
 * rules by itself. Offsets are found per segment of constant offset, so every result is exact to the second.
 */

export interface WeeklyWindow {
  /** ISO weekday in the operator's zone: 1 = Monday … 7 = Sunday. */
  weekday: number
  /** Minutes after local midnight, start inclusive, end exclusive; 0 ≤ start < end ≤ 1440. */
  startMinute: number
  endMinute: number
}

/** A span of real time, [startMs, endMs) in ms since the epoch. */
export interface Interval {
  startMs: number
  endMs: number
}

export interface WallTime {
  year: number
  month: number
  day: number
  hour: number
  minute: number
  second: number
  /** ISO weekday: 1 = Monday … 7 = Sunday. */
  weekday: number
}

export const MINUTE_MS = 60_000
export const HOUR_MS = 60 * MINUTE_MS
export const DAY_MS = 24 * HOUR_MS
export const MINUTES_PER_DAY = 24 * 60

const WEEKDAYS: Record<string, number> = { Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6, Sun: 7 }

const formatters = new Map<string, Intl.DateTimeFormat>()

function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone)
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
      weekday: 'short',
    })
    formatters.set(zone, f)
  }
  return f
}

/** Whether the runtime knows this IANA time zone name. */
export function isValidTimeZone(zone: string): boolean {
  if (typeof zone !== 'string' || zone.length === 0 || zone.length > 64) return false
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone })
    return true
  } catch {
    return false
  }
}

/** The wall clock of a zone at an instant. */
export function wallTime(instantMs: number, zone: string): WallTime {
  const fields: Record<string, string> = {}
  for (const part of formatter(zone).formatToParts(new Date(instantMs))) fields[part.type] = part.value
  return {
    year: Number(fields.year),
    month: Number(fields.month),
    day: Number(fields.day),
    hour: Number(fields.hour),
    minute: Number(fields.minute),
    second: Number(fields.second),
    weekday: WEEKDAYS[fields.weekday!]!,
  }
}

/** A wall-clock reading as if it were UTC: the "local milliseconds" the offset arithmetic works in. */
function localMs(w: Pick<WallTime, 'year' | 'month' | 'day' | 'hour' | 'minute'> & { second?: number }): number {
  return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second ?? 0)
}

/** The zone's offset at an instant: wall clock minus UTC, in ms. */
export function offsetAt(instantMs: number, zone: string): number {
  const whole = Math.floor(instantMs / 1000) * 1000
  return localMs(wallTime(whole, zone)) - whole
}

/** A stretch of real time over which a zone's offset does not change. */
export interface OffsetSegment extends Interval {
  offsetMs: number
}

/** How often offsets are sampled; zones never change offset twice within this span. */
const SAMPLE_MS = HOUR_MS

/**
 * The zone's offsets over [fromMs, toMs), as segments of constant offset. Transitions are located by bisection to the
 * second (the resolution of the IANA data).
 */
export function offsetSegments(zone: string, fromMs: number, toMs: number): OffsetSegment[] {
  const segments: OffsetSegment[] = []
  let segmentStart = fromMs
  let offset = offsetAt(fromMs, zone)
  let probe = fromMs
  while (probe < toMs) {
    const next = Math.min(probe + SAMPLE_MS, toMs)
    const nextOffset = offsetAt(next, zone)
    if (nextOffset !== offset) {
      // The offset changed in (probe, next]: bisect over whole seconds for the first one with the new offset.
      let lo = Math.floor(probe / 1000)
      let hi = Math.floor(next / 1000)
      while (hi - lo > 1) {
        const mid = Math.floor((lo + hi) / 2)
        if (offsetAt(mid * 1000, zone) === offset) lo = mid
        else hi = mid
      }
      const transition = hi * 1000
      if (transition > segmentStart) segments.push({ startMs: segmentStart, endMs: Math.min(transition, toMs), offsetMs: offset })
      segmentStart = transition
      offset = offsetAt(transition, zone)
    }
    probe = next
  }
  if (segmentStart < toMs) segments.push({ startMs: segmentStart, endMs: toMs, offsetMs: offset })
  return segments
}

/** Sorts and joins intervals that overlap or touch. */
export function mergeIntervals(intervals: Interval[]): Interval[] {
  const sorted = intervals.filter((i) => i.endMs > i.startMs).sort((a, b) => a.startMs - b.startMs)
  const merged: Interval[] = []
  for (const interval of sorted) {
    const last = merged[merged.length - 1]
    if (last && interval.startMs <= last.endMs) last.endMs = Math.max(last.endMs, interval.endMs)
    else merged.push({ ...interval })
  }
  return merged
}

/** ISO weekday of a day counted from the epoch (day 0, 1970-01-01, was a Thursday). */
function isoWeekdayOfEpochDay(day: number): number {
  return ((((day + 3) % 7) + 7) % 7) + 1
}

export function validateWindows(windows: readonly WeeklyWindow[]): string | null {
  for (const w of windows) {
    if (!Number.isInteger(w.weekday) || w.weekday < 1 || w.weekday > 7) return `weekday ${w.weekday} is not 1..7`
    if (!Number.isInteger(w.startMinute) || !Number.isInteger(w.endMinute)) return 'window minutes must be whole numbers'
    if (w.startMinute < 0 || w.endMinute > MINUTES_PER_DAY || w.startMinute >= w.endMinute) {
      return `window ${w.startMinute}–${w.endMinute} is not within one day`
    }
  }
  return null
}

/** Whether one instant is available: the definition itself, read off the wall clock. */
export function isAvailableAt(windows: readonly WeeklyWindow[], zone: string, instantMs: number): boolean {
  const w = wallTime(instantMs, zone)
  const minuteOfDay = w.hour * 60 + w.minute + w.second / 60
  return windows.some((window) => window.weekday === w.weekday && minuteOfDay >= window.startMinute && minuteOfDay < window.endMinute)
}

/** Every available instant in [fromMs, toMs), as merged intervals in order. */
export function availableIntervals(windows: readonly WeeklyWindow[], zone: string, fromMs: number, toMs: number): Interval[] {
  if (windows.length === 0 || toMs <= fromMs) return []
  const pieces: Interval[] = []
  for (const segment of offsetSegments(zone, fromMs, toMs)) {
    const o = segment.offsetMs
    const firstDay = Math.floor((segment.startMs + o) / DAY_MS)
    const lastDay = Math.floor((segment.endMs - 1 + o) / DAY_MS)
    for (let day = firstDay; day <= lastDay; day++) {
      const weekday = isoWeekdayOfEpochDay(day)
      for (const window of windows) {
        if (window.weekday !== weekday) continue
        // Within a segment, local time = instant + offset: a window's local span maps back by subtracting it.
        const startMs = Math.max(day * DAY_MS + window.startMinute * MINUTE_MS - o, segment.startMs)
        const endMs = Math.min(day * DAY_MS + window.endMinute * MINUTE_MS - o, segment.endMs)
        if (endMs > startMs) pieces.push({ startMs, endMs })
      }
    }
  }
  return mergeIntervals(pieces)
}

/** Whether [startMs, startMs + durationMs) lies wholly inside the operator's availability. */
export function coversInterval(windows: readonly WeeklyWindow[], zone: string, startMs: number, durationMs: number): boolean {
  if (durationMs <= 0) return false
  const intervals = availableIntervals(windows, zone, startMs, startMs + durationMs)
  return intervals.length === 1 && intervals[0]!.startMs === startMs && intervals[0]!.endMs === startMs + durationMs
}

export type WallTimeResolution =
  | { kind: 'exact'; instantMs: number }
  /** A fall-back repeats this wall-clock time: it happens twice. */
  | { kind: 'ambiguous'; earlierMs: number; laterMs: number }
  /** A spring-forward skips this wall-clock time; `laterMs` is the same reading on the new offset (after the gap). */
  | { kind: 'skipped'; laterMs: number }

/** The instant(s) at which a zone's wall clock shows this date and time. */
export function resolveWallTime(
  zone: string,
  wall: { year: number; month: number; day: number; hour: number; minute: number },
): WallTimeResolution {
  const local = localMs(wall)
  const segments = offsetSegments(zone, local - 2 * DAY_MS, local + 2 * DAY_MS)
  const candidates = segments
    .map((s) => local - s.offsetMs)
    .filter((t, i) => t >= segments[i]!.startMs && t < segments[i]!.endMs)
  if (candidates.length === 1) return { kind: 'exact', instantMs: candidates[0]! }
  if (candidates.length >= 2) return { kind: 'ambiguous', earlierMs: Math.min(...candidates), laterMs: Math.max(...candidates) }
  // In a gap: read the wall time with the offset in force before it, which lands after the transition.
  const before = segments.filter((s) => s.startMs <= local - s.offsetMs).pop() ?? segments[0]!
  return { kind: 'skipped', laterMs: local - before.offsetMs }
}

/** The first instant of a local date in a zone (a midnight that a transition skips starts at the transition). */
export function startOfLocalDay(zone: string, date: { year: number; month: number; day: number }): number {
  const resolved = resolveWallTime(zone, { ...date, hour: 0, minute: 0 })
  if (resolved.kind === 'exact') return resolved.instantMs
  if (resolved.kind === 'ambiguous') return resolved.earlierMs
  // The day starts at the transition: the first instant whose wall clock shows this date.
  const segments = offsetSegments(zone, resolved.laterMs - DAY_MS, resolved.laterMs + 1)
  for (const s of segments) {
    const firstLocalDay = Math.floor((s.startMs + s.offsetMs) / DAY_MS)
    if (firstLocalDay === Math.floor(localMs({ ...date, hour: 0, minute: 0 }) / DAY_MS)) return s.startMs
  }
  return resolved.laterMs
}

export interface DayOfSlots {
  /** The viewer's local date, YYYY-MM-DD. */
  date: string
  weekday: number
  slots: Array<Interval & { start: string; end: string }>
}

const pad = (n: number) => String(n).padStart(2, '0')
const isoDate = (w: Pick<WallTime, 'year' | 'month' | 'day'>) => `${w.year}-${pad(w.month)}-${pad(w.day)}`

/**
 * The operator's availability over the viewer's next `days` local dates (today first), in the viewer's zone: the
 * recurring windows become dated slots, which is the only honest way to show them when the two zones change
 * their clocks on different dates. A slot running past the viewer's midnight is split there; the end of a day shows
 * as 24:00.
 */
export function availabilityForViewer(options: {
  windows: readonly WeeklyWindow[]
  operatorZone: string
  viewerZone: string
  nowMs: number
  days: number
}): DayOfSlots[] {
  const { windows, operatorZone, viewerZone, nowMs, days } = options
  const today = wallTime(nowMs, viewerZone)
  const dayStarts: Array<{ startMs: number; wall: WallTime }> = []
  for (let i = 0; i <= days; i++) {
    const date = new Date(Date.UTC(today.year, today.month - 1, today.day + i))
    const ymd = { year: date.getUTCFullYear(), month: date.getUTCMonth() + 1, day: date.getUTCDate() }
    const startMs = startOfLocalDay(viewerZone, ymd)
    dayStarts.push({ startMs, wall: { ...ymd, hour: 0, minute: 0, second: 0, weekday: isoWeekdayOfEpochDay(Math.floor(Date.UTC(ymd.year, ymd.month - 1, ymd.day) / DAY_MS)) } })
  }
  const intervals = availableIntervals(windows, operatorZone, dayStarts[0]!.startMs, dayStarts[days]!.startMs)
  const result: DayOfSlots[] = []
  for (let i = 0; i < days; i++) {
    const dayStart = dayStarts[i]!.startMs
    const dayEnd = dayStarts[i + 1]!.startMs
    const slots: DayOfSlots['slots'] = []
    for (const interval of intervals) {
      const startMs = Math.max(interval.startMs, dayStart)
      const endMs = Math.min(interval.endMs, dayEnd)
      if (endMs <= startMs) continue
      const s = wallTime(startMs, viewerZone)
      const e = wallTime(endMs, viewerZone)
      slots.push({ startMs, endMs, start: `${pad(s.hour)}:${pad(s.minute)}`, end: endMs === dayEnd ? '24:00' : `${pad(e.hour)}:${pad(e.minute)}` })
    }
    result.push({ date: isoDate(dayStarts[i]!.wall), weekday: dayStarts[i]!.wall.weekday, slots })
  }
  return result
}

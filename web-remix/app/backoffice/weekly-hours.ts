import { MINUTES_PER_DAY, type WeeklyWindow } from '../../../workflows/availability.js'

/**
 * An operator's weekly hours as they type them, one field per weekday: "09:00–12:00, 14:00–18:00". Plain text keeps the
 * form usable without JavaScript, by keyboard and on a phone; this module turns it into windows (workflows/
 * availability.ts) and back. Pure: the page and the action share it.
 */

export const WEEKDAYS = [
  { weekday: 1, name: 'Monday' },
  { weekday: 2, name: 'Tuesday' },
  { weekday: 3, name: 'Wednesday' },
  { weekday: 4, name: 'Thursday' },
  { weekday: 5, name: 'Friday' },
  { weekday: 6, name: 'Saturday' },
  { weekday: 7, name: 'Sunday' },
] as const

/** The form field of a weekday. */
export const dayField = (weekday: number) => `day${weekday}`

const pad = (n: number) => String(n).padStart(2, '0')
const clock = (minute: number) => `${pad(Math.floor(minute / 60))}:${pad(minute % 60)}`

/** One weekday's windows as the field shows them. */
export function formatDayWindows(windows: readonly WeeklyWindow[], weekday: number): string {
  return windows
    .filter((w) => w.weekday === weekday)
    .sort((a, b) => a.startMinute - b.startMinute)
    .map((w) => `${clock(w.startMinute)}–${clock(w.endMinute)}`)
    .join(', ')
}

const TIME = /^(\d{1,2})(?:[:.h](\d{2}))?$/

function minuteOf(text: string): number | null {
  const match = TIME.exec(text.trim())
  if (!match) return null
  const hour = Number(match[1])
  const minute = Number(match[2] ?? '0')
  if (minute > 59 || hour > 24 || (hour === 24 && minute !== 0)) return null
  return hour * 60 + minute
}

/** A weekday's field → its windows, or what is wrong with it in words the operator can act on. */
export function parseDayWindows(text: string, weekday: number): { windows: WeeklyWindow[] } | { error: string } {
  const pieces = text
    .split(/[,;]/)
    .map((p) => p.trim())
    .filter(Boolean)
  if (pieces.length > 12) return { error: 'At most 12 time ranges a day.' }
  const windows: WeeklyWindow[] = []
  for (const piece of pieces) {
    const parts = piece.split(/\s*(?:-|–|—|to)\s*/)
    const start = parts.length === 2 ? minuteOf(parts[0]!) : null
    const end = parts.length === 2 ? minuteOf(parts[1]!) : null
    if (start === null || end === null) return { error: `“${piece}” is not a time range: write it as 09:00–17:30.` }
    if (start >= end) {
      return { error: `“${piece}” ends before it starts: a range that runs past midnight goes in two days (until 24:00, then from 00:00).` }
    }
    if (end > MINUTES_PER_DAY) return { error: `“${piece}” ends after 24:00.` }
    windows.push({ weekday, startMinute: start, endMinute: end })
  }
  windows.sort((a, b) => a.startMinute - b.startMinute)
  for (let i = 1; i < windows.length; i++) {
    if (windows[i]!.startMinute < windows[i - 1]!.endMinute) {
      return { error: `${clock(windows[i - 1]!.startMinute)}–${clock(windows[i - 1]!.endMinute)} and ${clock(windows[i]!.startMinute)}–${clock(windows[i]!.endMinute)} overlap: join them into one range.` }
    }
  }
  return { windows }
}

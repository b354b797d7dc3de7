import type { DayOfSlots } from '../../../workflows/availability.js'

const dayLabel = new Intl.DateTimeFormat('en-GB', { timeZone: 'UTC', weekday: 'short', day: 'numeric', month: 'short' })

/** A local date (YYYY-MM-DD) as "Mon 9 Mar"; the date is already the viewer's, so it is formatted as UTC. */
export function formatLocalDate(date: string): string {
  const [y, m, d] = date.split('-').map(Number)
  return dayLabel.format(new Date(Date.UTC(y!, m! - 1, d!)))
}

export function AvailabilityTable({ days, zone }: { days: DayOfSlots[]; zone: string }) {
  return (
    <table className="availability-table">
      <caption className="visually-hidden">Availability over the next 7 days, in {zone}</caption>
      <thead>
        <tr>
          <th scope="col">Day</th>
          <th scope="col">Available ({zone})</th>
        </tr>
      </thead>
      <tbody>
        {days.map((day) => (
          <tr key={day.date} data-date={day.date}>
            <th scope="row">{formatLocalDate(day.date)}</th>
            <td>{day.slots.length === 0 ? 'Not available' : day.slots.map((s) => `${s.start}–${s.end}`).join(', ')}</td>
          </tr>
        ))}
      </tbody>
    </table>
  )
}

export function ZonePicker({ zone, zones, action }: { zone: string; zones: string[]; action?: string }) {
  return (
    <form method="get" action={action} className="zone-form">
      <label>
        Time zone
        <select name="tz" defaultValue={zone}>
          {zones.map((z) => (
            <option key={z} value={z}>
              {z}
            </option>
          ))}
        </select>
      </label>
      <button type="submit" className="secondary">
        Show times
      </button>
    </form>
  )
}

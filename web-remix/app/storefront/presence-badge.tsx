import type { ShownPresence } from './presence.js'

const LABEL: Record<ShownPresence, string> = { online: 'Online', busy: 'Busy', offline: 'Offline' }

/** A coloured dot and a word: the colour is never the only sign (green Online, amber Busy, red Offline). */
export function PresenceBadge({ presence }: { presence: ShownPresence }) {
  return (
    <span className={`presence presence-${presence}`} data-presence={presence}>
      <span className="presence-dot" aria-hidden="true" />
      {LABEL[presence]}
    </span>
  )
}

export function RatingSummaryText({ rating }: { rating: { average: number | null; count: number } }) {
  if (rating.count === 0 || rating.average === null) return <span className="rating rating-none">No ratings yet</span>
  const average = rating.average.toFixed(1)
  return (
    <span className="rating">
      <span className="visually-hidden">{`Rated ${average} out of 5 from ${rating.count} rating${rating.count === 1 ? '' : 's'}`}</span>
      <span aria-hidden="true">
        ★ {average} ({rating.count})
      </span>
    </span>
  )
}

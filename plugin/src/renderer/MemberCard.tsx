import { describeChannel, type MemberCard as Card } from '../core/plugin-state.js'
import { formatCents, formatClock, formatDuration, plural } from './format.js'
import { useAction, useApi, useNow } from './perminute.js'
import { ErrorMessage } from './ErrorMessage.js'

const SOURCE_LABEL: Record<Card['source'], string> = {
  caller: 'Calling',
  request: 'Asks for a call now',
  booking: 'Scheduled call due',
  reopened: 'Member',
}

export function MemberCard({ card, callInProgress, provider }: { card: Card; callInProgress: boolean; provider: string | null }) {
  const api = useApi()
  const [accept, accepting, acceptError] = useAction(api.acceptCard)
  const [dismiss, , dismissError] = useAction(api.dismissCard)
  const now = useNow()
  const { summary, request, booking } = card
  const starting = accepting || card.status === 'starting'
  const titleId = `card-${card.cardId}`

  return (
    <article className={`card card-${card.source}`} aria-labelledby={titleId} data-card-id={card.cardId}>
      <header>
        <h3 id={titleId}>{card.member.displayName}</h3>
        <span className="badge">{SOURCE_LABEL[card.source]}</span>
        {(request || booking) && <span className="badge badge-channel">{describeChannel(request?.channel ?? 'video', provider)}</span>}
        {!card.verified && <span className="badge badge-warning">Unverified</span>}
      </header>
      {card.member.handle && <p className="handle">{card.member.handle}</p>}
      {!card.verified ? (
        <p className="quiet">Not confirmed by the platform: this caller has no open request to you, so a paid call cannot start.</p>
      ) : summary ? (
        <dl className="facts">
          <div>
            <dt>Funds</dt>
            <dd>
              {plural(summary.fundedMinutes, 'min', 'min')} <span className="quiet">({formatCents(summary.availableCents)})</span>
            </dd>
          </div>
          <div>
            <dt>Average spend</dt>
            <dd>{summary.paidCalls > 0 ? formatCents(summary.averageSpendCents) : '—'}</dd>
          </div>
          <div>
            <dt>Paid calls</dt>
            <dd>{summary.paidCalls}</dd>
          </div>
          <div>
            <dt>Rating</dt>
            <dd>{summary.rating.average === null ? 'Not rated yet' : `${summary.rating.average.toFixed(1)} of 5 (${summary.rating.count})`}</dd>
          </div>
        </dl>
      ) : (
        <p className="quiet">The platform checks this member&apos;s funds when you start the call.</p>
      )}
      {request && (
        <p className="quiet">
          {request.mode === 'prepaid' && request.prepaidMinutes !== null ? `A prepaid block of ${plural(request.prepaidMinutes, 'minute')}. ` : 'A call now, per minute. '}
          At {formatCents(request.ratePerMinuteCents)}/min, the price they agreed to. Asked at {formatClock(request.requestedAtMs)}; the
          request lapses in {formatDuration((request.expiresAtMs - now) / 1000)}.
        </p>
      )}
      {booking && (
        <p className="quiet">
          Booked for {formatClock(booking.startsAtMs)}: {plural(booking.prepaidMinutes, 'minute')} at {formatCents(booking.ratePerMinuteCents)}/min, reserved
          in the member&apos;s wallet.
        </p>
      )}
      <ErrorMessage text={card.refusal ?? acceptError ?? dismissError} />
      <div className="actions">
        {card.verified && (
          <button type="button" onClick={() => void accept(card.cardId)} disabled={starting || callInProgress}>
            {starting ? 'Starting…' : request ? 'Accept and start call' : 'Start call'}
          </button>
        )}
        <button type="button" className="secondary" onClick={() => void dismiss(card.cardId)} disabled={starting}>
          {request ? 'Decline' : 'Dismiss'}
        </button>
      </div>
    </article>
  )
}

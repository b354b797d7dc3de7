import { describeChannel, describeEndReason, isPlatformChannel, type CallingLink, type CallPanel as Call } from '../core/plugin-state.js'
import { CallChat } from './CallChat.js'
import { CallMedia } from './CallMedia.js'
import { formatCents, formatDuration, plural } from './format.js'
import { providerName } from './LinkAccount.js'
import { useAction, useApi } from './perminute.js'
import { ErrorMessage } from './ErrorMessage.js'

/**
 * The call: connecting (the member joins the room, or confirms the call on the operator's app), running (the meter
 * from the platform's start), ended (why, and what it brought). A call in the platform's room shows its audio and
 * video here (docs/decisions/063).
 */
export function CallPanel({ call, link, pendingCallEnds, problem }: { call: Call; link: CallingLink | null; pendingCallEnds: number; problem: string | null }) {
  const api = useApi()
  const [endCall, ending, endError] = useAction(api.endCall)
  const [acknowledge, closing] = useAction(api.acknowledgeCallEnd)
  const name = call.member.displayName
  const running = call.phase === 'active'
  const live = call.phase === 'connecting' || running
  const inRoom = isPlatformChannel(call.channel)
  const provider = link ? providerName(link.provider) : null

  return (
    <section className={`call call-${call.phase}`} aria-labelledby="call-title" data-channel={call.channel}>
      <h2 id="call-title">
        {title(call)} with {name}
      </h2>
      {/* The title names audio and video calls while they run; otherwise this line says how the call is carried. */}
      {!(running && inRoom) && <p className="quiet">{describeChannel(call.channel, provider)}</p>}

      {call.endNotice && (
        <p className="notice ended" role="status" data-testid="end-notice">
          {call.endNotice}
        </p>
      )}
      {call.hangUpPrompt && (
        <div className="hang-up" role="alert">
          <p className="hang-up-title">Please hang up</p>
          <p>{call.hangUpPrompt}</p>
        </div>
      )}
      {call.phase === 'connecting' && !inRoom && (
        <p className="notice" role="status">
          Waiting for {name} to confirm the call on {provider ?? 'your calling app'}. The meter starts when they do; nothing is billed until then.
        </p>
      )}
      {running && call.lowBalance && (
        <p className="notice warning" role="alert">
          Low balance: {name} has {call.memberMinutesLeft === null ? 'little' : plural(call.memberMinutesLeft, 'minute')} left and has been asked to
          top up.
        </p>
      )}
      {running && call.heartbeatTrouble && (
        <p className="notice warning">The platform cannot be reached. The call goes on; it is ended if the connection stays lost.</p>
      )}

      {inRoom && live && call.media && <CallMedia call={call} />}

      <MemberFacts call={call} />

      <dl className="meter">
        <div className="elapsed">
          <dt>Elapsed</dt>
          <dd data-testid="elapsed">{formatDuration(call.elapsedSeconds)}</dd>
        </div>
        <div>
          <dt>Billed minutes</dt>
          <dd data-testid="billed">{call.billedMinutes}</dd>
        </div>
        <div>
          <dt>Charged so far</dt>
          <dd data-testid="charged">{formatCents(call.chargedCents)}</dd>
        </div>
        <div>
          <dt>{call.prepaidMinutes === null ? 'Member\u2019s minutes left' : `Left of the ${call.prepaidMinutes}-minute block`}</dt>
          <dd data-testid="minutes-left">{call.memberMinutesLeft ?? '—'}</dd>
        </div>
      </dl>
      {call.phase === 'connecting' && inRoom && <p className="quiet">The meter starts when you are both in the call; nothing is billed until then.</p>}

      {call.phase !== 'starting' && <CallChat chat={call.chat} memberName={name} />}

      {call.settlement && (
        <p className="settlement" role="status">
          {call.settlement.billedMinutes === 0 && call.settlement.chargedCents === 0
            ? `Nothing was charged (${describeEndReason(call.settlement.endReason)}).`
            : `Billed ${plural(call.settlement.billedMinutes, 'minute')}, charged ${formatCents(call.settlement.chargedCents)}; you earn ${formatCents(call.settlement.operatorEarningsCents)}.`}
        </p>
      )}
      {call.phase === 'ending' && (
        <p className="quiet" role="status">
          Ending the call… {pendingCallEnds > 0 && problem ? 'Waiting for the connection; the end is saved and will be sent.' : 'Waiting for the platform.'}
        </p>
      )}
      <ErrorMessage text={endError} />

      <div className="actions">
        {(live || call.phase === 'starting') && (
          <>
            <button type="button" className="danger" onClick={() => void endCall('operator_hangup')} disabled={ending || call.phase === 'starting'}>
              {inRoom ? 'Hang up' : 'End call'}
            </button>
            {/* In the platform's room the platform sees the member leave; on an outside app only the operator does. */}
            {!inRoom && (
              <button type="button" className="secondary" onClick={() => void endCall('member_hangup')} disabled={ending || call.phase === 'starting'}>
                Member hung up
              </button>
            )}
          </>
        )}
        {call.phase === 'ended' && (
          <button type="button" onClick={() => void acknowledge()} disabled={closing}>
            {call.hangUpPrompt ? 'I have hung up' : 'Close'}
          </button>
        )}
      </div>
    </section>
  )
}

function title(call: Call): string {
  switch (call.phase) {
    case 'starting':
      return 'Starting the call'
    case 'connecting':
      return 'Connecting the call'
    case 'ended':
      return 'Call ended'
    default:
      return call.channel === 'video' ? 'Video call' : call.channel === 'audio' ? 'Audio call' : 'Call'
  }
}

/** Who the operator is talking to: their funds in minutes (in the meter once known), paid calls, rating. */
function MemberFacts({ call }: { call: Call }) {
  const facts = call.memberFacts
  if (!facts) return null
  return (
    <dl className="facts member-facts" aria-label={`About ${call.member.displayName}`}>
      {/* Once the platform reports them, the member's minutes are in the meter below. */}
      {call.memberMinutesLeft === null && (
        <div>
          <dt>Funds</dt>
          <dd data-testid="member-funds">{plural(facts.fundedMinutes, 'min', 'min')}</dd>
        </div>
      )}
      <div>
        <dt>Rating</dt>
        <dd>{facts.rating.average === null ? 'Not rated yet' : `${facts.rating.average.toFixed(1)} of 5 (${facts.rating.count})`}</dd>
      </div>
      <div>
        <dt>Paid calls</dt>
        <dd>{facts.paidCalls}</dd>
      </div>
    </dl>
  )
}

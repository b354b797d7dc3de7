import type { CallPanel as Call } from '../core/plugin-state.js'
import { formatCents, formatDuration, plural } from './format.js'
import { useAction, useApi } from './perminute.js'
import { ErrorMessage } from './ErrorMessage.js'

export function CallPanel({ call, pendingCallEnds, problem }: { call: Call; pendingCallEnds: number; problem: string | null }) {
  const api = useApi()
  const [endCall, ending, endError] = useAction(api.endCall)
  const [acknowledge, closing] = useAction(api.acknowledgeCallEnd)
  const name = call.member.displayName
  const running = call.phase === 'active'

  return (
    <section className={`call call-${call.phase}`} aria-labelledby="call-title">
      <h2 id="call-title">
        {call.phase === 'ended' ? 'Call ended' : call.phase === 'starting' ? 'Starting the call' : 'Call'} with {name}
      </h2>

      {call.hangUpPrompt && (
        <div className="hang-up" role="alert">
          <p className="hang-up-title">Please hang up</p>
          <p>{call.hangUpPrompt}</p>
        </div>
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

      {call.settlement && (
        <p className="settlement" role="status">
          Billed {plural(call.settlement.billedMinutes, 'minute')}, charged {formatCents(call.settlement.chargedCents)}; you earn{' '}
          {formatCents(call.settlement.operatorEarningsCents)}.
        </p>
      )}
      {call.phase === 'ending' && (
        <p className="quiet" role="status">
          Ending the call… {pendingCallEnds > 0 && problem ? 'Waiting for the connection; the end is saved and will be sent.' : 'Waiting for the platform.'}
        </p>
      )}
      <ErrorMessage text={endError} />

      <div className="actions">
        {(running || call.phase === 'starting') && (
          <>
            <button type="button" className="danger" onClick={() => void endCall('operator_hangup')} disabled={ending || call.phase === 'starting'}>
              End call
            </button>
            <button type="button" className="secondary" onClick={() => void endCall('member_hangup')} disabled={ending || call.phase === 'starting'}>
              Member hung up
            </button>
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

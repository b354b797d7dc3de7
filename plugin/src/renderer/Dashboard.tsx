import { useEffect, useState, type FormEvent } from 'react'
import type { PluginState } from '../core/plugin-state.js'
import type { AutoStartState } from '../shared/ipc.js'
import { CallPanel } from './CallPanel.js'
import { formatCents, formatClock, plural } from './format.js'
import { providerName } from './LinkAccount.js'
import { MemberCard } from './MemberCard.js'
import { useAction, useApi } from './perminute.js'
import { ringingCards, useRingtone } from './ringtone.js'
import { VideoPreview } from './VideoPreview.js'
import { ErrorMessage } from './ErrorMessage.js'

const PRESENCE_LABEL = { online: 'Online', busy: 'Busy', offline: 'Offline' } as const
const STREAM_LABEL = { off: 'not listening', connecting: 'connecting…', live: 'live', reconnecting: 'reconnecting…' } as const

export function Dashboard({ state, onChangeLink }: { state: PluginState; onChangeLink: () => void }) {
  const callInProgress = state.call !== null && state.call.phase !== 'ended'
  return (
    <main className="screen dashboard">
      <header className="bar">
        <div>
          <h1>{state.operator?.displayName}</h1>
          <p className="quiet">{state.operator && `${formatCents(state.operator.ratePerMinuteCents)} per minute`}</p>
        </div>
        <p className="status" role="status" aria-live="polite">
          <span className={`dot dot-${state.presence}`} aria-hidden="true" />
          <span>
            <strong>{state.connected ? 'Connected' : 'Not connected'}</strong> · {PRESENCE_LABEL[state.presence]}
            <br />
            <span className="quiet">Updates {STREAM_LABEL[state.stream]}</span>
          </span>
        </p>
      </header>
      {state.problem && (
        <p className="notice warning" role="alert">
          {state.problem}
        </p>
      )}
      {state.pendingCallEnds > 0 && !state.call && (
        <p className="notice">{plural(state.pendingCallEnds, 'call end')} saved, waiting to reach the platform.</p>
      )}
      {state.call && <CallPanel call={state.call} link={state.link} pendingCallEnds={state.pendingCallEnds} problem={state.problem} />}
      <Callers state={state} callInProgress={callInProgress} />
      <Today state={state} />
      <VideoPreview video={state.video} />
      <Settings state={state} onChangeLink={onChangeLink} />
    </main>
  )
}

function Callers({ state, callInProgress }: { state: PluginState; callInProgress: boolean }) {
  const api = useApi()
  const [handle, setHandle] = useState('')
  const [lookUp, looking, error, setError] = useAction(api.lookUpCaller)
  // A member's request rings until it is answered or lapses; not over a call in progress.
  const ringing = callInProgress ? [] : ringingCards(state.cards)
  const [muted, setMuted] = useRingtone(ringing.length > 0)

  const submit = (event: FormEvent) => {
    event.preventDefault()
    void lookUp(handle).then((ok) => ok && setHandle(''))
  }

  return (
    <section aria-labelledby="callers-title" className="panel">
      <div className="bar">
        <h2 id="callers-title">Who is calling?</h2>
        <button type="button" className="secondary small" aria-pressed={muted} onClick={() => setMuted(!muted)}>
          Mute ringtone
        </button>
      </div>
      {ringing.length > 0 && (
        <p className="notice ringing" role="status" data-testid="ringing">
          {muted ? 'Incoming' : 'Ringing'}: {ringing.map((card) => card.member.displayName).join(', ')} {ringing.length === 1 ? 'asks' : 'ask'} for a call.
        </p>
      )}
      <form className="inline" onSubmit={submit} aria-label="Look up a caller">
        <label>
          Caller&apos;s handle
          <input
            value={handle}
            maxLength={200}
            onChange={(e) => {
              setHandle(e.target.value)
              setError(null)
            }}
            placeholder="as shown in your calling app"
          />
        </label>
        <button type="submit" disabled={looking || handle.trim() === ''}>
          Look up
        </button>
      </form>
      {error && (
        <p className="quiet" role="status">
          {error}
        </p>
      )}
      {state.cards.length === 0 ? (
        <p className="quiet">Members who call you or ask for a call on the website appear here.</p>
      ) : (
        <div className="cards">
          {state.cards.map((card) => (
            <MemberCard key={card.cardId} card={card} callInProgress={callInProgress} provider={state.link ? providerName(state.link.provider) : null} />
          ))}
        </div>
      )}
    </section>
  )
}

function Today({ state }: { state: PluginState }) {
  const api = useApi()
  const [reopen, , error] = useAction(api.reopenMemberCard)
  const { today } = state
  return (
    <section aria-labelledby="today-title" className="panel">
      <h2 id="today-title">Today</h2>
      <p data-testid="today-summary">
        {plural(today.calls.length, 'call')} · you earned <strong>{formatCents(today.earningsCents)}</strong>
        <span className="quiet"> (charged {formatCents(today.chargedCents)})</span>
      </p>
      {today.calls.length > 0 && (
        <ul className="today">
          {today.calls.map((call) => (
            <li key={call.callId}>
              <span>
                {formatClock(call.endedAtMs)} · {call.member?.displayName ?? 'A member'} · {plural(call.billedMinutes, 'min', 'min')} ·{' '}
                {formatCents(call.operatorEarningsCents)}
              </span>
              {call.member && (
                <button type="button" className="link" onClick={() => void reopen(call.callId)} aria-label={`Open card for ${call.member.displayName}`}>
                  Open card
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
      <ErrorMessage text={error} />
    </section>
  )
}

function Settings({ state, onChangeLink }: { state: PluginState; onChangeLink: () => void }) {
  const api = useApi()
  const [autoStart, setAutoStart] = useState<AutoStartState | null>(null)
  const [signOut, signingOut, signOutError] = useAction(api.signOut)
  const [saveAutoStart, , autoStartError] = useAction(api.setAutoStart)

  useEffect(() => {
    api.getAutoStart().then(setAutoStart, () => setAutoStart({ supported: false, enabled: false }))
  }, [api])

  return (
    <section aria-labelledby="settings-title" className="panel">
      <h2 id="settings-title">Settings</h2>
      {state.link && (
        <p>
          Calling account: {providerName(state.link.provider)} <strong>{state.link.handle}</strong>{' '}
          <button type="button" className="link" onClick={onChangeLink}>
            Change
          </button>
        </p>
      )}
      {autoStart?.supported && (
        <label className="check">
          <input
            type="checkbox"
            checked={autoStart.enabled}
            onChange={(e) => {
              const enabled = e.target.checked
              void saveAutoStart(enabled).then((ok) => ok && setAutoStart({ supported: true, enabled }))
            }}
          />
          Start perminute when I log in to this computer
        </label>
      )}
      <ErrorMessage text={autoStartError} />
      <div className="actions">
        <button type="button" className="secondary" onClick={() => void signOut()} disabled={signingOut}>
          Sign out (go offline)
        </button>
      </div>
      <ErrorMessage text={signOutError} />
    </section>
  )
}

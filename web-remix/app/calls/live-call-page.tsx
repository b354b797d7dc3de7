import { Form, Link, useNavigation, useRevalidator } from '@remix-run/react'
import { useEffect, useState } from 'react'
import { CsrfInput } from '../auth/csrf-input.js'
import { formatCents, formatPricePerMinute } from '../storefront/money.js'
import { RateCallForm } from '../storefront/rate-call-form.js'
import { CallChat, chatMessageOf, useCallChat, type ChatMessage } from './call-chat.js'
import { callingAppName } from './calling-apps.js'
import { formatDuration } from './format.js'
import { LiveCallMedia, type MediaJoin } from './live-call-media.js'
import { useMemberEvents } from './use-member-events.js'

/**
 * The member's call page (/calls/:callId; docs/decisions/061): connecting (joining the room, or calling the operator on
 * their own app), then the call with its meter, then how it ended and what it cost. The route loads; this renders.
 */

export interface LiveCallPageData {
  panel: {
    callId: string
    status: 'connecting' | 'active' | 'ending' | 'settled'
    channel: 'audio' | 'video' | 'outside'
    startedAt: string
    elapsedSeconds: number
    billedMinutes: number
    chargedCents: number
    lowBalance: boolean
    endReason?: string
    mode: string
    prepaidMinutes: number | null
    ratePerMinuteCents: number
    periodSeconds: number
    operatorId: string
    operatorName: string
    outsideApp: { provider: string; handle: string } | null
    availableCents: number
    minutesLeft: number
    ratedStars: number | null
  }
  endReasonText: string | null
  media: { join: MediaJoin; iceServers: RTCIceServer[] | null } | null
  /** The call's chat so far (docs/decisions/065-call-chat.md). */
  messages: ChatMessage[]
  actionMessage?: string | null
}

/** Seconds since the call started, ticking in the browser between two loads. */
function useElapsed(startedAt: string, serverElapsed: number, running: boolean): number {
  const [elapsed, setElapsed] = useState(serverElapsed)
  useEffect(() => {
    setElapsed(serverElapsed)
    if (!running) return
    const started = Date.parse(startedAt)
    const timer = setInterval(() => setElapsed(Math.max(0, Math.floor((Date.now() - started) / 1000))), 1000)
    return () => clearInterval(timer)
  }, [startedAt, serverElapsed, running])
  return elapsed
}

/** The room to join: the first one the page was given (joined once), with the newest token (for a rejoin). */
function useRoom(media: LiveCallPageData['media']) {
  const [first, setFirst] = useState(media)
  useEffect(() => {
    if (media && !first) setFirst(media)
  }, [media, first])
  if (!first) return null
  return { ...first, join: { ...first.join, token: media?.join.token ?? first.join.token } }
}

const HEADINGS = { connecting: 'Connecting to', active: 'On a call with', ending: 'Ending the call with', settled: 'Call with' } as const

export function LiveCallPage({ panel, endReasonText, media, messages, actionMessage }: LiveCallPageData) {
  const revalidator = useRevalidator()
  const navigation = useNavigation()
  const active = panel.status === 'active'
  const connecting = panel.status === 'connecting'
  const settled = panel.status === 'settled'
  const [lowBalance, setLowBalance] = useState<null | { minutesLeft: number }>(panel.lowBalance ? { minutesLeft: panel.minutesLeft } : null)
  const elapsed = useElapsed(panel.startedAt, panel.elapsedSeconds, active)
  const room = useRoom(media)
  const chat = useCallChat(messages)

  useEffect(() => {
    setLowBalance(panel.lowBalance && active ? { minutesLeft: panel.minutesLeft } : null)
  }, [panel.lowBalance, panel.minutesLeft, active])

  // The workflow's news arrives as it happens (connected, low balance, ending, settled): the warning shows from the
  // event itself, then the figures reload.
  useMemberEvents((event) => {
    if (event.payload.callId !== panel.callId) return
    if (event.type === 'call.message') {
      // A message changes no figure: shown as it comes, no reload.
      const message = chatMessageOf(event.payload)
      if (message) chat.receive(message)
      return
    }
    if (event.type === 'call.low_balance') setLowBalance({ minutesLeft: Number(event.payload.minutesLeft ?? 0) })
    if (event.type === 'call.low_balance_cleared') setLowBalance(null)
    revalidator.revalidate()
  }, !settled)

  // Charges move at period boundaries: refresh the figures once per period while the call runs.
  useEffect(() => {
    if (settled) return
    const timer = setInterval(() => revalidator.revalidate(), Math.min(panel.periodSeconds, 15) * 1000)
    return () => clearInterval(timer)
  }, [settled, panel.periodSeconds, revalidator])

  const submitting = navigation.state === 'submitting'
  const app = panel.outsideApp ? (callingAppName(panel.outsideApp.provider) ?? 'their own app') : null

  return (
    <div className="live-call" data-status={panel.status} data-channel={panel.channel}>
      <h1>{`${HEADINGS[panel.status]} ${panel.operatorName}`}</h1>
      <div aria-live="assertive" role="alert">
        {lowBalance && active && (
          <div className="warning" data-testid="low-balance">
            <p>
              <strong>Your balance is running low:</strong> about {lowBalance.minutesLeft} minute{lowBalance.minutesLeft === 1 ? '' : 's'}{' '}
              left. Top up to keep talking; the call goes on while you do.
            </p>
            <Link className="button" to={`/wallet?returnTo=${encodeURIComponent(`/calls/${panel.callId}`)}`} target="_blank" rel="noopener">
              Top up now (opens a new tab)
            </Link>
          </div>
        )}
      </div>
      <div role="status" aria-live="polite">
        {connecting && (
          <p className="notice" data-testid="connecting">
            Connecting… The meter starts when you are both connected; until then nothing is charged.
          </p>
        )}
        {panel.status === 'ending' && <p className="notice">The call is ending; the bill is being settled…</p>}
        {settled && (
          <p className={panel.endReason === 'funds_exhausted' || panel.endReason === 'heartbeat_lost' ? 'alert' : 'notice'} data-testid="ended">
            {endReasonText}{' '}
            {panel.chargedCents === 0
              ? 'Nothing was charged.'
              : `You paid ${formatCents(panel.chargedCents)} for ${panel.billedMinutes} minute${panel.billedMinutes === 1 ? '' : 's'}.`}
          </p>
        )}
        {actionMessage ? <p className="alert">{actionMessage}</p> : null}
      </div>

      {panel.outsideApp && !settled && (
        <section className="outside-call" aria-labelledby="outside-heading">
          <h2 id="outside-heading" data-testid="outside-handle">
            Call {panel.operatorName} on {app}: <span className="handle">{panel.outsideApp.handle}</span>
          </h2>
          {connecting ? (
            <>
              <p>
                Open {app} and call <strong>{panel.outsideApp.handle}</strong>. When you can hear each other, press “We’re connected”: the meter
                starts then, at the price you agreed to.
              </p>
              <Form method="post">
                <CsrfInput />
                <input type="hidden" name="intent" value="connected" />
                <button type="submit" disabled={submitting}>
                  We’re connected
                </button>
              </Form>
            </>
          ) : null}
        </section>
      )}

      {room && !settled && (
        <LiveCallMedia
          join={room.join}
          video={panel.channel === 'video'}
          iceServers={room.iceServers}
          otherName={panel.operatorName}
          onRoomGone={() => revalidator.revalidate()}
        />
      )}

      <CallChat callId={panel.callId} operatorName={panel.operatorName} messages={chat.messages} receive={chat.receive} open={!settled} />

      <dl className="facts" aria-label="Call figures">
        <dt>Status</dt>
        <dd data-testid="call-status">{{ connecting: 'Connecting…', active: 'Connected', ending: 'Ending', settled: 'Ended' }[panel.status]}</dd>
        <dt>Elapsed</dt>
        <dd data-testid="elapsed">{formatDuration(elapsed)}</dd>
        <dt>Price</dt>
        <dd data-testid="price">
          {formatPricePerMinute(panel.ratePerMinuteCents)}
          {panel.mode === 'prepaid' ? ` (prepaid block of ${panel.prepaidMinutes} min)` : ''}, as you agreed
        </dd>
        <dt>{settled ? 'Charged' : 'Charged so far'}</dt>
        <dd data-testid="charged">{formatCents(panel.chargedCents)}</dd>
        <dt>Balance left</dt>
        <dd data-testid="balance">{formatCents(panel.availableCents)}</dd>
        {active && (
          <>
            <dt>Minutes left</dt>
            <dd data-testid="minutes-left">{panel.minutesLeft}</dd>
          </>
        )}
      </dl>
      {!settled ? (
        <Form method="post">
          <CsrfInput />
          <input type="hidden" name="intent" value="hangup" />
          <button type="submit" className="danger" disabled={!(active || connecting) || submitting}>
            Hang up
          </button>
        </Form>
      ) : (
        <>
          {panel.billedMinutes > 0 &&
            (panel.ratedStars === null ? <RateCallForm callId={panel.callId} /> : <p>You rated this call {panel.ratedStars} out of 5.</p>)}
          <p>
            <Link to="/calls">All your calls</Link> · <Link to={`/operators/${panel.operatorId}`}>{panel.operatorName}’s profile</Link>
          </p>
        </>
      )}
    </div>
  )
}

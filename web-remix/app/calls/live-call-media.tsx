import { useEffect, useRef, useState } from 'react'
import { initialSnapshot, LiveCallSession, type MediaPhase, type MediaSnapshot, type Quality } from './live-call-session.js'

/**
 * The call's audio and video on the member's page (docs/decisions/061): the other party's video, or a card with their
 * name when there is none; the member's own preview on a video call; mute, camera, device choice and connection
 * quality. Everything is a labelled button or select, so the page works from the keyboard; the video scales to a phone.
 */

export interface MediaJoin {
  url: string
  room: string
  token: string
}

const QUALITY_TEXT: Record<Quality, string> = {
  excellent: 'Excellent',
  good: 'Good',
  poor: 'Poor',
  lost: 'Lost',
  unknown: 'Not measured yet',
}

const BLOCKED_TEXT: Record<Extract<MediaPhase, { kind: 'blocked' }>['reason'], (video: boolean) => string> = {
  denied: (video) =>
    `Your browser did not allow this page to use your ${video ? 'camera and microphone' : 'microphone'}. Allow them for this site (in the address bar's site settings), then try again.`,
  missing: (video) => `No ${video ? 'camera or microphone' : 'microphone'} was found. Connect one, then try again.`,
  in_use: (video) => `Your ${video ? 'camera or microphone' : 'microphone'} is in use by another app. Close it, then try again.`,
  other: (video) => `Your ${video ? 'camera and microphone' : 'microphone'} could not be started. Try again.`,
}

function initialsOf(name: string): string {
  const letters = name
    .split(/\s+/)
    .filter(Boolean)
    .map((word) => [...word][0]!.toUpperCase())
  return (letters.length > 1 ? letters[0]! + letters[letters.length - 1]! : (letters[0] ?? '?')) || '?'
}

export function LiveCallMedia(props: {
  join: MediaJoin
  video: boolean
  iceServers: RTCIceServer[] | null
  otherName: string
  /** The room is closed or could not be joined: the page asks the server how the call stands. */
  onRoomGone: () => void
}) {
  const { join, video, iceServers, otherName, onRoomGone } = props
  const otherVideo = useRef<HTMLVideoElement>(null)
  const otherAudio = useRef<HTMLAudioElement>(null)
  const ownVideo = useRef<HTMLVideoElement>(null)
  const session = useRef<LiveCallSession | null>(null)
  const [media, setMedia] = useState<MediaSnapshot>(() => initialSnapshot(video))
  const tokenRef = useRef(join.token)
  tokenRef.current = join.token
  const onRoomGoneRef = useRef(onRoomGone)
  onRoomGoneRef.current = onRoomGone

  // Loader data is new on every revalidation: the servers' text, not the array, says whether they changed.
  const iceKey = JSON.stringify(iceServers)
  useEffect(() => {
    const current = new LiveCallSession({
      url: join.url,
      token: tokenRef.current,
      video,
      iceServers: JSON.parse(iceKey) as RTCIceServer[] | null,
      elements: () => ({ otherVideo: otherVideo.current, otherAudio: otherAudio.current, ownVideo: ownVideo.current }),
    })
    session.current = current
    current.subscribe(() => setMedia(current.snapshot))
    void current.start()
    return () => {
      session.current = null
      current.stop()
    }
    // One session per room: a fresh token on a later load must not rejoin (setToken keeps it for a rejoin).
  }, [join.url, join.room, video, iceKey])

  useEffect(() => session.current?.setToken(join.token), [join.token])

  const phase = media.phase.kind
  useEffect(() => {
    if (phase === 'closed' || phase === 'failed') onRoomGoneRef.current()
  }, [phase])

  const act = (run: (current: LiveCallSession) => Promise<void>) => () => {
    if (session.current) void run(session.current)
  }
  const inRoom = phase === 'joined' || phase === 'reconnecting'
  const haveDevices = phase !== 'devices' && phase !== 'blocked'

  return (
    <section className="live-media" aria-label="Call audio and video">
      <div className={`stage${media.withVideo ? ' with-self-view' : ''}`}>
        <video
          ref={otherVideo}
          className="other-video"
          hidden={!media.otherVideo}
          autoPlay
          playsInline
          aria-label={`${otherName}’s video`}
          data-testid="other-video"
        />
        {!media.otherVideo && (
          <div className="audio-card" data-testid="audio-card">
            <span className="initials" aria-hidden="true">
              {initialsOf(otherName)}
            </span>
            <span className="name">{otherName}</span>
            <span className="presence-note">
              {!inRoom ? 'Not connected' : media.otherPresent ? (video ? 'Camera off' : 'On the line') : 'Not here yet'}
            </span>
          </div>
        )}
        {media.withVideo && (
          <video
            ref={ownVideo}
            className="self-view"
            hidden={media.cameraOff || !haveDevices}
            autoPlay
            playsInline
            muted
            aria-label="Your camera"
            data-testid="self-view"
          />
        )}
      </div>
      <audio ref={otherAudio} autoPlay />

      <p className="media-phase" role="status" aria-live="polite" data-testid="media-phase" data-phase={phase}>
        {phaseText(media, otherName)}
      </p>

      {media.phase.kind === 'blocked' && (
        <div className="alert" role="alert" data-testid="media-blocked">
          <p>{BLOCKED_TEXT[media.phase.reason](media.withVideo)}</p>
          <p>You are not in the call and nothing is charged. If you do not join, the call ends by itself.</p>
          <div className="button-row">
            <button type="button" onClick={act((current) => current.start())}>
              Try again
            </button>
            {media.withVideo && (
              <button type="button" className="secondary" onClick={act((current) => current.startAudioOnly())}>
                Join with audio only
              </button>
            )}
          </div>
        </div>
      )}

      {(media.phase.kind === 'lost' || media.phase.kind === 'failed') && (
        <div className="alert" role="alert">
          <p>{media.phase.message}</p>
          <button type="button" onClick={act((current) => current.rejoin())}>
            Rejoin the call
          </button>
        </div>
      )}

      {media.audioBlocked && inRoom && (
        <p>
          <button type="button" onClick={act((current) => current.startAudio())}>
            Play {otherName}’s audio
          </button>
        </p>
      )}

      {haveDevices && (
        <div className="media-controls">
          <div className="button-row" role="group" aria-label="Your microphone and camera">
            <button type="button" className="secondary" onClick={act((current) => current.toggleMicrophone())}>
              {media.microphoneMuted ? 'Unmute microphone' : 'Mute microphone'}
            </button>
            {media.withVideo && (
              <button type="button" className="secondary" onClick={act((current) => current.toggleCamera())}>
                {media.cameraOff ? 'Turn camera on' : 'Turn camera off'}
              </button>
            )}
          </div>
          <div className="device-choice">
            <div className="field">
              <label htmlFor="microphone-choice">Microphone</label>
              <select
                id="microphone-choice"
                value={media.microphoneId ?? ''}
                onChange={(event) => {
                  const deviceId = event.currentTarget.value
                  if (session.current) void session.current.chooseDevice('audioinput', deviceId)
                }}
              >
                {media.microphones.map((device) => (
                  <option key={device.deviceId} value={device.deviceId}>
                    {device.label}
                  </option>
                ))}
              </select>
            </div>
            {media.withVideo && (
              <div className="field">
                <label htmlFor="camera-choice">Camera</label>
                <select
                  id="camera-choice"
                  value={media.cameraId ?? ''}
                  onChange={(event) => {
                    const deviceId = event.currentTarget.value
                    if (session.current) void session.current.chooseDevice('videoinput', deviceId)
                  }}
                >
                  {media.cameras.map((device) => (
                    <option key={device.deviceId} value={device.deviceId}>
                      {device.label}
                    </option>
                  ))}
                </select>
              </div>
            )}
          </div>
          <dl className="facts">
            <dt>Connection</dt>
            <dd data-testid="connection-quality" data-quality={media.quality}>
              {QUALITY_TEXT[media.quality]}
            </dd>
          </dl>
        </div>
      )}
    </section>
  )
}

function phaseText(media: MediaSnapshot, otherName: string): string {
  switch (media.phase.kind) {
    case 'devices':
      return media.withVideo ? 'Starting your camera and microphone…' : 'Starting your microphone…'
    case 'blocked':
      return 'Your camera or microphone is not available.'
    case 'joining':
      return 'Joining the call…'
    case 'joined':
      return media.otherPresent ? `You and ${otherName} are in the call.` : `Waiting for ${otherName} to join…`
    case 'reconnecting':
      return 'The connection dropped; reconnecting…'
    case 'closed':
      return 'The call’s audio and video have ended.'
    case 'lost':
    case 'failed':
      return 'You are not connected to the call.'
  }
}

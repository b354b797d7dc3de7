import type { LocalVideoTrack, RemoteAudioTrack, RemoteVideoTrack } from 'livekit-client'
import { useEffect, useRef } from 'react'
import type { CallPanel as Call } from '../core/plugin-state.js'
import { useCallRoom, type CallRoomControls, type CallRoomView, type DeviceKind, type Quality } from './use-call-room.js'

/** The call in the platform's room: the member's video (or an audio card), the operator's own preview, the controls. */

const QUALITY_LABEL: Record<Quality, string> = { excellent: 'Excellent', good: 'Good', poor: 'Poor', lost: 'Lost', unknown: 'Checking…' }

export function CallMedia({ call }: { call: Call }) {
  const [room, controls] = useCallRoom(call.callId, call.channel, call.media)
  const name = call.member.displayName
  const video = call.channel === 'video'
  return (
    <div className="media" data-room-status={room.status}>
      <div className={`stage ${video ? 'stage-video' : 'stage-audio'}`}>
        {video && room.member.video && room.member.cameraOn ? (
          <TrackVideo track={room.member.video} className="member-video" label={`${name}'s video`} testId="member-video" />
        ) : (
          <div className="audio-card" data-testid="member-audio-card">
            <span className="initials" aria-hidden="true">
              {initials(name)}
            </span>
            <span>{memberLine(room, name, video)}</span>
          </div>
        )}
        {video && room.ownVideo && room.cameraOn && <TrackVideo track={room.ownVideo} className="own-video" label="Your camera" testId="own-video" mirrored />}
        {room.member.audio && <TrackAudio track={room.member.audio} />}
      </div>
      <p className="media-status" role="status" data-testid="room-status">
        {roomLine(room, name)}
        {room.status === 'joined' && <> · Connection: {QUALITY_LABEL[room.quality]}</>}
      </p>
      {room.problem && <p className="notice warning">{room.problem}</p>}
      {room.audioBlocked && (
        <button type="button" onClick={() => void controls.startAudio()}>
          Play {name}&apos;s sound
        </button>
      )}
      <MediaControls room={room} controls={controls} video={video} />
    </div>
  )
}

function MediaControls({ room, controls, video }: { room: CallRoomView; controls: CallRoomControls; video: boolean }) {
  const joined = room.status === 'joined' || room.status === 'reconnecting'
  return (
    <div className="media-controls">
      <div className="actions">
        <button type="button" className="secondary" disabled={!joined} onClick={() => void controls.setMicrophone(!room.microphoneOn)}>
          {room.microphoneOn ? 'Mute microphone' : 'Unmute microphone'}
        </button>
        {video && (
          <button type="button" className="secondary" disabled={!joined} onClick={() => void controls.setCamera(!room.cameraOn)}>
            {room.cameraOn ? 'Turn camera off' : 'Turn camera on'}
          </button>
        )}
      </div>
      <div className="devices">
        <DeviceChoice label="Microphone" kind="audioinput" room={room} controls={controls} />
        {video && <DeviceChoice label="Camera" kind="videoinput" room={room} controls={controls} />}
      </div>
    </div>
  )
}

function DeviceChoice({ label, kind, room, controls }: { label: string; kind: DeviceKind; room: CallRoomView; controls: CallRoomControls }) {
  const devices = room.devices[kind]
  if (devices.length === 0) return null
  return (
    <label>
      {label}
      <select value={room.activeDevice[kind] ?? devices[0]!.deviceId} onChange={(event) => void controls.chooseDevice(kind, event.target.value)}>
        {devices.map((device, index) => (
          <option key={device.deviceId || index} value={device.deviceId}>
            {device.label || `${label} ${index + 1}`}
          </option>
        ))}
      </select>
    </label>
  )
}

function TrackVideo({ track, className, label, testId, mirrored }: { track: RemoteVideoTrack | LocalVideoTrack; className: string; label: string; testId: string; mirrored?: boolean }) {
  const element = useRef<HTMLVideoElement>(null)
  useEffect(() => {
    const video = element.current
    if (!video) return
    track.attach(video)
    return () => void track.detach(video)
  }, [track])
  return <video ref={element} className={`${className}${mirrored ? ' mirrored' : ''}`} aria-label={label} data-testid={testId} autoPlay playsInline muted />
}

function TrackAudio({ track }: { track: RemoteAudioTrack }) {
  const element = useRef<HTMLAudioElement>(null)
  useEffect(() => {
    const audio = element.current
    if (!audio) return
    track.attach(audio)
    return () => void track.detach(audio)
  }, [track])
  return <audio ref={element} autoPlay data-testid="member-audio" />
}

function roomLine(room: CallRoomView, name: string): string {
  switch (room.status) {
    case 'joining':
      return 'Joining the call…'
    case 'reconnecting':
      return 'Reconnecting…'
    case 'left':
      return 'Left the call'
    case 'failed':
      return 'Not in the call'
    case 'joined':
      return room.member.present ? `In the call with ${name}` : `Waiting for ${name} to join`
  }
}

function memberLine(room: CallRoomView, name: string, video: boolean): string {
  if (!room.member.present) return `Waiting for ${name}…`
  if (video) return `${name}'s camera is off`
  return `Audio call with ${name}`
}

function initials(name: string): string {
  return (
    name
      .split(/\s+/)
      .filter(Boolean)
      .slice(0, 2)
      .map((part) => part[0]!.toUpperCase())
      .join('') || '?'
  )
}

import {
  ConnectionQuality,
  ConnectionState,
  DisconnectReason,
  Room,
  RoomEvent,
  Track,
  type LocalVideoTrack,
  type RemoteAudioTrack,
  type RemoteParticipant,
  type RemoteVideoTrack,
} from 'livekit-client'
import { useCallback, useEffect, useRef, useState } from 'react'
import type { CallChannel, CallMedia } from '../core/plugin-state.js'
import { isAllowedMediaUrl, mediaOrigin } from './media-origins.js'

/**
 * The call's room on the media server (LiveKit), joined by the window for a call the platform carries
 * (docs/decisions/063): the operator's camera and microphone out, the member's in. The core gives the join (address,
 * room, token kept fresh) in the state; the window joins while the call is connecting or running and leaves when the
 * state says it is over. The platform ends a call by closing its room: that disconnect is the end, not a failure.
 */

export type RoomStatus = 'joining' | 'joined' | 'reconnecting' | 'left' | 'failed'
export type Quality = 'excellent' | 'good' | 'poor' | 'lost' | 'unknown'
export type DeviceKind = 'audioinput' | 'videoinput'

export interface CallRoomView {
  status: RoomStatus
  /** Why the window could not join (or stay in) the room, in the operator's words. */
  problem: string | null
  /** The operator's connection to the media server, as LiveKit rates it. */
  quality: Quality
  member: { present: boolean; video: RemoteVideoTrack | null; audio: RemoteAudioTrack | null; cameraOn: boolean }
  /** The operator's own camera, for the preview. */
  ownVideo: LocalVideoTrack | null
  microphoneOn: boolean
  cameraOn: boolean
  devices: Record<DeviceKind, MediaDeviceInfo[]>
  activeDevice: Record<DeviceKind, string | null>
  /** The page may not play sound until the operator clicks (a browser's autoplay rule). */
  audioBlocked: boolean
}

export interface CallRoomControls {
  setMicrophone(on: boolean): Promise<void>
  setCamera(on: boolean): Promise<void>
  chooseDevice(kind: DeviceKind, deviceId: string): Promise<void>
  startAudio(): Promise<void>
}

/** After a drop LiveKit could not mend, the window joins again this long after (with the freshest token). */
const REJOIN_AFTER_MS = 2_000

const QUALITY: Record<ConnectionQuality, Quality> = {
  [ConnectionQuality.Excellent]: 'excellent',
  [ConnectionQuality.Good]: 'good',
  [ConnectionQuality.Poor]: 'poor',
  [ConnectionQuality.Lost]: 'lost',
  [ConnectionQuality.Unknown]: 'unknown',
}

const initialView = (): CallRoomView => ({
  status: 'joining',
  problem: null,
  quality: 'unknown',
  member: { present: false, video: null, audio: null, cameraOn: false },
  ownVideo: null,
  microphoneOn: false,
  cameraOn: false,
  devices: { audioinput: [], videoinput: [] },
  activeDevice: { audioinput: null, videoinput: null },
  audioBlocked: false,
})

/** Why a disconnect ended the window's part in the room for good (a rejoin would not help), in words; else null. */
function finalDisconnect(reason: DisconnectReason | undefined): string | null {
  switch (reason) {
    case DisconnectReason.ROOM_DELETED:
      // The platform closed the room: the call's end reaches the window through the state.
      return ''
    case DisconnectReason.DUPLICATE_IDENTITY:
      return 'You joined this call from another device; this window left it.'
    case DisconnectReason.PARTICIPANT_REMOVED:
      return 'The platform took you out of the call.'
    case DisconnectReason.CLIENT_INITIATED:
      return ''
    default:
      return null
  }
}

/**
 * Joins `media`'s room while `media` is given (null leaves it). A new token for the same room does not rejoin: LiveKit
 * keeps a joined participant's session fresh itself; the newest token is used when the window has to join again.
 */
export function useCallRoom(callId: string, channel: CallChannel, media: CallMedia | null): [CallRoomView, CallRoomControls] {
  const [view, setView] = useState<CallRoomView>(initialView)
  const [attempt, setAttempt] = useState(0)
  const latestMedia = useRef(media)
  latestMedia.current = media
  const roomRef = useRef<Room | null>(null)
  const joinKey = media ? `${callId}|${media.url}|${media.room}` : null

  useEffect(() => {
    const join = latestMedia.current
    if (!joinKey || !join) return
    if (!isAllowedMediaUrl(join.url)) {
      setView({
        ...initialView(),
        status: 'failed',
        problem: `This plugin was not built to join calls on ${mediaOrigin(join.url) ?? join.url}. Ask for a plugin built for your platform.`,
      })
      return
    }
    const room = new Room({ adaptiveStream: true, dynacast: true })
    roomRef.current = room
    let leaving = false
    let rejoinTimer: ReturnType<typeof setTimeout> | undefined
    const update = (change: Partial<CallRoomView>) => setView((current) => ({ ...current, ...change }))

    const readMember = () => {
      const member: RemoteParticipant | undefined = [...room.remoteParticipants.values()][0]
      const camera = member?.getTrackPublication(Track.Source.Camera)
      const microphone = member?.getTrackPublication(Track.Source.Microphone)
      update({
        member: {
          present: member !== undefined,
          video: (camera?.isSubscribed && (camera.videoTrack as RemoteVideoTrack | undefined)) || null,
          audio: (microphone?.isSubscribed && (microphone.audioTrack as RemoteAudioTrack | undefined)) || null,
          cameraOn: camera !== undefined && camera.isSubscribed && !camera.isMuted,
        },
      })
    }
    const readOwn = () => {
      const local = room.localParticipant
      update({
        ownVideo: (local.getTrackPublication(Track.Source.Camera)?.videoTrack as LocalVideoTrack | undefined) ?? null,
        microphoneOn: local.isMicrophoneEnabled,
        cameraOn: local.isCameraEnabled,
      })
    }
    const readDevices = async () => {
      const [audioinput, videoinput] = await Promise.all([Room.getLocalDevices('audioinput', false), Room.getLocalDevices('videoinput', false)])
      update({
        devices: { audioinput, videoinput: channel === 'video' ? videoinput : [] },
        activeDevice: { audioinput: room.getActiveDevice('audioinput') ?? null, videoinput: room.getActiveDevice('videoinput') ?? null },
      })
    }

    room
      .on(RoomEvent.TrackSubscribed, readMember)
      .on(RoomEvent.TrackUnsubscribed, readMember)
      .on(RoomEvent.TrackMuted, () => {
        readMember()
        readOwn()
      })
      .on(RoomEvent.TrackUnmuted, () => {
        readMember()
        readOwn()
      })
      .on(RoomEvent.ParticipantConnected, readMember)
      .on(RoomEvent.ParticipantDisconnected, readMember)
      .on(RoomEvent.LocalTrackPublished, readOwn)
      .on(RoomEvent.LocalTrackUnpublished, readOwn)
      .on(RoomEvent.MediaDevicesChanged, () => void readDevices().catch(() => undefined))
      .on(RoomEvent.ActiveDeviceChanged, () => void readDevices().catch(() => undefined))
      .on(RoomEvent.AudioPlaybackStatusChanged, () => update({ audioBlocked: !room.canPlaybackAudio }))
      .on(RoomEvent.ConnectionQualityChanged, (quality, participant) => {
        if (participant.identity === room.localParticipant.identity) update({ quality: QUALITY[quality] })
      })
      .on(RoomEvent.ConnectionStateChanged, (state) => {
        if (state === ConnectionState.Reconnecting || state === ConnectionState.SignalReconnecting) update({ status: 'reconnecting' })
        else if (state === ConnectionState.Connected) update({ status: 'joined', problem: null })
      })
      .on(RoomEvent.MediaDevicesError, (error: Error) => update({ problem: deviceProblem(error) }))
      .on(RoomEvent.Disconnected, (reason) => {
        update({ status: 'left', member: { present: false, video: null, audio: null, cameraOn: false }, ownVideo: null, quality: 'unknown' })
        if (leaving) return
        const final = finalDisconnect(reason)
        if (final !== null) {
          if (final) update({ problem: final })
          return
        }
        // Dropped for good (the network, the server): join again while the call goes on.
        update({ problem: 'The connection to the call was lost. Joining it again…' })
        rejoinTimer = setTimeout(() => setAttempt((n) => n + 1), REJOIN_AFTER_MS)
      })

    const connect = async () => {
      // No public STUN server unless the platform names one: LiveKit advertises addresses that need none here.
      // null: LiveKit's own servers; a list (or nothing said): exactly those.
      const rtcConfig = join.iceServers === null ? undefined : { iceServers: join.iceServers ?? [] }
      await room.connect(join.url, latestMedia.current?.token ?? join.token, rtcConfig ? { rtcConfig } : {})
      if (leaving) return
      update({ status: 'joined', problem: null, audioBlocked: !room.canPlaybackAudio })
      readMember()
      try {
        await room.localParticipant.setMicrophoneEnabled(true)
        if (channel === 'video') await room.localParticipant.setCameraEnabled(true)
      } catch (error) {
        if (!leaving) update({ problem: deviceProblem(error as Error) })
      }
      if (leaving) return
      readOwn()
      await readDevices()
    }
    connect().catch((error: unknown) => {
      if (leaving) return
      update({ status: 'failed', problem: `The call's audio and video could not be joined (${(error as Error).message}). Trying again…` })
      rejoinTimer = setTimeout(() => setAttempt((n) => n + 1), REJOIN_AFTER_MS)
    })

    return () => {
      leaving = true
      clearTimeout(rejoinTimer)
      roomRef.current = null
      room.removeAllListeners()
      void room.disconnect()
      setView(initialView())
    }
  }, [joinKey, attempt, channel])

  const setMicrophone = useCallback(async (on: boolean) => {
    const room = roomRef.current
    if (!room) return
    await room.localParticipant.setMicrophoneEnabled(on)
    setView((current) => ({ ...current, microphoneOn: room.localParticipant.isMicrophoneEnabled }))
  }, [])
  const setCamera = useCallback(async (on: boolean) => {
    const room = roomRef.current
    if (!room) return
    await room.localParticipant.setCameraEnabled(on)
    setView((current) => ({
      ...current,
      cameraOn: room.localParticipant.isCameraEnabled,
      ownVideo: (room.localParticipant.getTrackPublication(Track.Source.Camera)?.videoTrack as LocalVideoTrack | undefined) ?? null,
    }))
  }, [])
  const chooseDevice = useCallback(async (kind: DeviceKind, deviceId: string) => {
    const room = roomRef.current
    if (!room) return
    await room.switchActiveDevice(kind, deviceId)
    setView((current) => ({ ...current, activeDevice: { ...current.activeDevice, [kind]: room.getActiveDevice(kind) ?? deviceId } }))
  }, [])
  const startAudio = useCallback(async () => {
    const room = roomRef.current
    if (!room) return
    await room.startAudio()
    setView((current) => ({ ...current, audioBlocked: !room.canPlaybackAudio }))
  }, [])

  return [view, { setMicrophone, setCamera, chooseDevice, startAudio }]
}

function deviceProblem(error: Error): string {
  if (error.name === 'NotAllowedError') return 'The camera or microphone is not allowed for perminute. Allow it in your system settings.'
  if (error.name === 'NotFoundError') return 'No camera or microphone was found.'
  if (error.name === 'NotReadableError') return 'The camera or microphone is in use by another app.'
  return `The camera or microphone could not be started (${error.message}).`
}

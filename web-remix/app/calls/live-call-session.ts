import type { LocalTrack, Participant, RemoteParticipant, RemoteTrack, Room } from 'livekit-client'

/**
 * The member's side of a call in the platform's LiveKit room (docs/decisions/061), in the browser only: the camera and
 * microphone first, then the room, then the other party's media into the page's elements. Plain TypeScript behind a
 * small snapshot that the page renders (live-call-media.tsx), so the React component stays a view.
 *
 * The member joins the room only with their media in hand: LiveKit's participant_joined is what starts the meter, so a
 * member whose browser refused the camera or microphone never joins, and the call ends unbilled (not_connected) unless
 * they try again. livekit-client is loaded on demand: the server never imports it, and other pages do not carry it.
 */

export type MediaPhase =
  /** Asking the browser for the camera and microphone. */
  | { kind: 'devices' }
  /** The browser refused (or has no such device): nothing joined, nothing charged. */
  | { kind: 'blocked'; reason: 'denied' | 'missing' | 'in_use' | 'other' }
  | { kind: 'joining' }
  | { kind: 'joined' }
  | { kind: 'reconnecting' }
  /** The platform closed the room: the call is over (the page shows why and what it cost). */
  | { kind: 'closed' }
  /** Disconnected for another reason; the member may rejoin while the call runs. */
  | { kind: 'lost'; message: string }
  /** Could not join the room at all. */
  | { kind: 'failed'; message: string }

export type Quality = 'excellent' | 'good' | 'poor' | 'lost' | 'unknown'

export interface DeviceChoice {
  deviceId: string
  label: string
}

export interface MediaSnapshot {
  phase: MediaPhase
  /** Whether the member sends video (a video call, unless they chose audio only). */
  withVideo: boolean
  microphoneMuted: boolean
  cameraOff: boolean
  /** The member's own connection to the media server, as LiveKit rates it. */
  quality: Quality
  /** The other party is in the room. */
  otherPresent: boolean
  /** Their camera is on and arriving. */
  otherVideo: boolean
  microphones: DeviceChoice[]
  cameras: DeviceChoice[]
  microphoneId: string | null
  cameraId: string | null
  /** The browser wants a click before it plays the other party's audio. */
  audioBlocked: boolean
}

export interface MediaElements {
  otherVideo: HTMLVideoElement | null
  otherAudio: HTMLAudioElement | null
  ownVideo: HTMLVideoElement | null
}

export interface SessionOptions {
  url: string
  token: string
  video: boolean
  /** null: the ICE servers LiveKit's join answer names; otherwise exactly these (none on loopback). */
  iceServers: RTCIceServer[] | null
  elements: () => MediaElements
}

type LiveKitModule = typeof import('livekit-client')

export function initialSnapshot(video: boolean): MediaSnapshot {
  return {
    phase: { kind: 'devices' },
    withVideo: video,
    microphoneMuted: false,
    cameraOff: false,
    quality: 'unknown',
    otherPresent: false,
    otherVideo: false,
    microphones: [],
    cameras: [],
    microphoneId: null,
    cameraId: null,
    audioBlocked: false,
  }
}

// livekit-client's DisconnectReason (from LiveKit's protocol): the ones that mean the platform ended the call.
const CLIENT_INITIATED = 1
const DUPLICATE_IDENTITY = 2
const PARTICIPANT_REMOVED = 4
const ROOM_DELETED = 5
const ROOM_CLOSED = 10

export class LiveCallSession {
  snapshot: MediaSnapshot
  private liveKit: LiveKitModule | undefined
  private room: Room | undefined
  private tracks: LocalTrack[] = []
  private stopped = false
  private token: string
  private readonly listeners = new Set<() => void>()

  constructor(private readonly options: SessionOptions) {
    this.snapshot = initialSnapshot(options.video)
    this.token = options.token
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** The newest token the page was given: a rejoin uses it (the first one may have expired). */
  setToken(token: string): void {
    this.token = token
  }

  /** Camera and microphone, then the room. Safe to call again after a refusal ("try again"). */
  async start(): Promise<void> {
    this.liveKit ??= await import('livekit-client')
    if (this.stopped) return
    const { createLocalTracks, MediaDeviceFailure } = this.liveKit
    this.releaseTracks()
    this.update({ phase: { kind: 'devices' } })
    let tracks: LocalTrack[]
    try {
      tracks = await createLocalTracks({
        audio: { echoCancellation: true, noiseSuppression: true },
        video: this.snapshot.withVideo ? { resolution: { width: 960, height: 540, frameRate: 24 } } : false,
      })
    } catch (error) {
      if (this.stopped) return
      const failure = MediaDeviceFailure.getFailure(error)
      const reason =
        failure === MediaDeviceFailure.PermissionDenied
          ? 'denied'
          : failure === MediaDeviceFailure.NotFound
            ? 'missing'
            : failure === MediaDeviceFailure.DeviceInUse
              ? 'in_use'
              : 'other'
      this.update({ phase: { kind: 'blocked', reason } })
      return
    }
    if (this.stopped) {
      for (const track of tracks) track.stop()
      return
    }
    this.tracks = tracks
    const own = this.options.elements().ownVideo
    const video = this.localTrack('video')
    if (own && video) video.attach(own)
    this.update({ microphoneMuted: false, cameraOff: false })
    await this.listDevices()
    await this.connect()
  }

  /** A video call, joined with the microphone only (the camera was refused, or the member prefers it). */
  async startAudioOnly(): Promise<void> {
    this.update({ withVideo: false })
    await this.start()
  }

  /** Back into the room after a lost connection, with the tracks already in hand. */
  async rejoin(): Promise<void> {
    if (this.tracks.length === 0) return this.start()
    await this.connect()
  }

  async toggleMicrophone(): Promise<void> {
    const track = this.localTrack('audio')
    if (!track) return
    if (track.isMuted) await track.unmute()
    else await track.mute()
    this.update({ microphoneMuted: track.isMuted })
  }

  async toggleCamera(): Promise<void> {
    const track = this.localTrack('video')
    if (!track) return
    if (track.isMuted) await track.unmute()
    else await track.mute()
    this.update({ cameraOff: track.isMuted })
  }

  async chooseDevice(kind: 'audioinput' | 'videoinput', deviceId: string): Promise<void> {
    const track = this.localTrack(kind === 'audioinput' ? 'audio' : 'video')
    if (!track) return
    await track.setDeviceId({ exact: deviceId })
    await this.listDevices()
  }

  /** Plays the other party's audio after a click, where the browser waited for one. */
  async startAudio(): Promise<void> {
    await this.room?.startAudio()
    this.update({ audioBlocked: this.room ? !this.room.canPlaybackAudio : false })
  }

  /** Leaves the room and lets go of the camera and microphone (the page is closing). */
  stop(): void {
    this.stopped = true
    this.listeners.clear()
    const room = this.room
    this.room = undefined
    void room?.disconnect()
    this.releaseTracks()
  }

  private async connect(): Promise<void> {
    const { Room, RoomEvent } = this.liveKit!
    const previous = this.room
    this.room = undefined
    await previous?.disconnect()
    const room = new Room({ dynacast: true })
    this.room = room
    const current = () => this.room === room && !this.stopped
    room
      .on(RoomEvent.TrackSubscribed, (track: RemoteTrack) => {
        if (!current()) return
        this.attachRemote(track)
        this.refreshOther()
      })
      .on(RoomEvent.TrackUnsubscribed, (track: RemoteTrack) => {
        track.detach()
        if (current()) this.refreshOther()
      })
      .on(RoomEvent.TrackMuted, () => current() && this.refreshOther())
      .on(RoomEvent.TrackUnmuted, () => current() && this.refreshOther())
      .on(RoomEvent.ParticipantConnected, () => current() && this.refreshOther())
      .on(RoomEvent.ParticipantDisconnected, () => current() && this.refreshOther())
      .on(RoomEvent.ConnectionQualityChanged, (quality: string, participant: Participant) => {
        if (current() && participant.isLocal) this.update({ quality: quality as Quality })
      })
      .on(RoomEvent.Reconnecting, () => current() && this.update({ phase: { kind: 'reconnecting' } }))
      .on(RoomEvent.Reconnected, () => current() && this.update({ phase: { kind: 'joined' } }))
      .on(RoomEvent.AudioPlaybackStatusChanged, () => current() && this.update({ audioBlocked: !room.canPlaybackAudio }))
      .on(RoomEvent.MediaDevicesChanged, () => void (current() && this.listDevices()))
      .on(RoomEvent.Disconnected, (reason?: number) => {
        if (!current()) return
        this.update({ otherPresent: false, otherVideo: false, quality: 'unknown' })
        if (reason === CLIENT_INITIATED) return
        if (reason === ROOM_DELETED || reason === PARTICIPANT_REMOVED || reason === ROOM_CLOSED) {
          this.update({ phase: { kind: 'closed' } })
          return
        }
        this.update({
          phase: {
            kind: 'lost',
            message:
              reason === DUPLICATE_IDENTITY
                ? 'You joined this call from another tab or device, so this page left it.'
                : 'The connection to the call was lost.',
          },
        })
      })
    this.update({ phase: { kind: 'joining' } })
    try {
      await room.connect(this.options.url, this.token, {
        autoSubscribe: true,
        ...(this.options.iceServers ? { rtcConfig: { iceServers: this.options.iceServers } } : {}),
      })
      for (const track of this.tracks) await room.localParticipant.publishTrack(track)
    } catch (error) {
      if (!current()) return
      this.room = undefined
      void room.disconnect()
      const message = /room does not exist/i.test(String((error as Error)?.message)) ? 'The call’s room is closed.' : 'The page could not join the call.'
      this.update({ phase: { kind: 'failed', message } })
      return
    }
    if (!current()) return
    for (const participant of room.remoteParticipants.values()) {
      for (const publication of participant.trackPublications.values()) if (publication.track) this.attachRemote(publication.track as RemoteTrack)
    }
    this.update({ phase: { kind: 'joined' }, audioBlocked: !room.canPlaybackAudio })
    this.refreshOther()
  }

  private attachRemote(track: RemoteTrack): void {
    const elements = this.options.elements()
    const element = track.kind === 'video' ? elements.otherVideo : track.kind === 'audio' ? elements.otherAudio : null
    if (element) track.attach(element)
  }

  private refreshOther(): void {
    const other: RemoteParticipant | undefined = this.room?.remoteParticipants.values().next().value
    const camera = other ? [...other.trackPublications.values()].find((publication) => publication.kind === 'video') : undefined
    this.update({ otherPresent: Boolean(other), otherVideo: Boolean(camera?.track && camera.isSubscribed && !camera.isMuted) })
  }

  private async listDevices(): Promise<void> {
    const { Room } = this.liveKit!
    const [microphones, cameras] = await Promise.all([
      Room.getLocalDevices('audioinput', false),
      this.snapshot.withVideo ? Room.getLocalDevices('videoinput', false) : Promise.resolve([]),
    ])
    const named = (devices: MediaDeviceInfo[], what: string) =>
      devices.filter((device) => device.deviceId).map((device, index) => ({ deviceId: device.deviceId, label: device.label || `${what} ${index + 1}` }))
    const deviceOf = (kind: 'audio' | 'video') => this.localTrack(kind)?.mediaStreamTrack.getSettings().deviceId ?? null
    if (this.stopped) return
    this.update({
      microphones: named(microphones, 'Microphone'),
      cameras: named(cameras, 'Camera'),
      microphoneId: deviceOf('audio'),
      cameraId: deviceOf('video'),
    })
  }

  private localTrack(kind: 'audio' | 'video'): LocalTrack | undefined {
    return this.tracks.find((track) => track.kind === kind)
  }

  private releaseTracks(): void {
    for (const track of this.tracks) {
      track.detach()
      track.stop()
    }
    this.tracks = []
  }

  private update(patch: Partial<MediaSnapshot>): void {
    this.snapshot = { ...this.snapshot, ...patch }
    for (const listener of this.listeners) listener()
  }
}

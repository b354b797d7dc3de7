import {
  AudioFrame,
  AudioSource,
  AudioStream,
  ContinualGatheringPolicy,
  IceTransportType,
  LocalAudioTrack,
  Room,
  RoomEvent,
  TrackKind,
  TrackPublishOptions,
  TrackSource,
  type RemoteTrack,
} from '@livekit/rtc-node'
import type { ChildToParent, ParentToChild, ParticipantStats } from './protocol.js'

/**
 * A process of synthetic call parties for bench/media.ts: each joins its call's LiveKit room with @livekit/rtc-node,
 * publishes a 48 kHz mono tone in 20-ms frames, subscribes to the other party and counts the audio frames it receives
 * and when the last one came. Driven over the IPC channel of child_process.fork (./protocol.ts); several of these
 * share the parties so that no one event loop is the limit. It exits as soon as the parent is gone (the channel
 * closes, or its parent process changes), so a killed benchmark leaves no party behind.
 */

const SAMPLE_RATE = 48_000
const FRAME_MS = 20
const FRAME_SAMPLES = (SAMPLE_RATE * FRAME_MS) / 1000
/** 400 Hz: exactly 8 cycles in a 20-ms frame, so one frame repeated is a seamless tone. */
const TONE = (() => {
  const samples = new Int16Array(FRAME_SAMPLES)
  for (let i = 0; i < FRAME_SAMPLES; i++) samples[i] = Math.round(Math.sin((2 * Math.PI * 400 * i) / SAMPLE_RATE) * 3_000)
  return samples
})()
/** On one machine the media server's own address is enough: no STUN or TURN look-ups. */
const NO_ICE_SERVERS = {
  iceTransportType: IceTransportType.TRANSPORT_ALL,
  continualGatheringPolicy: ContinualGatheringPolicy.GATHER_CONTINUALLY,
  iceServers: [],
}

interface Party {
  id: string
  room: Room
  source: AudioSource
  sent: number
  stats: ParticipantStats
}

const parties = new Map<string, Party>()
/**
 * The media library's own failures (a native handle dropped twice as a room closes, say) must not take the other
 * parties of this process down with them: they are counted and reported with the figures.
 */
let libraryErrors = 0
const lastErrors: string[] = []
const noteError = (error: unknown) => {
  libraryErrors += 1
  if (lastErrors.length < 5) lastErrors.push(String((error as Error)?.message ?? error))
}
process.on('uncaughtException', noteError)
process.on('unhandledRejection', noteError)
const send = (message: ChildToParent) => process.send?.(message)

// The parent's death ends this process: the IPC channel closes, or (if it was SIGKILLed mid-write) the parent changes.
const parentPid = process.ppid
process.on('disconnect', () => process.exit(0))
setInterval(() => {
  if (process.ppid !== parentPid) process.exit(0)
}, 1_000).unref()

// One clock for every party: each tick sends every frame that is due since the party joined, so a late timer does not
// lower the rate sent.
const startedAt = performance.now()
setInterval(() => {
  const due = Math.floor((performance.now() - startedAt) / FRAME_MS)
  for (const party of parties.values()) {
    if (party.sent === 0) party.sent = due - 1
    for (let n = 0; party.sent < due && n < 5; n++, party.sent++) {
      party.source.captureFrame(new AudioFrame(TONE, SAMPLE_RATE, 1, FRAME_SAMPLES)).catch(() => undefined)
    }
    party.sent = due
  }
}, FRAME_MS)

async function join(id: string, url: string, token: string): Promise<void> {
  const room = new Room()
  const stats: ParticipantStats = { id, framesReceived: 0, audibleFrames: 0, firstFrameAt: null, lastFrameAt: null, disconnectedAt: null, subscribedAt: null }
  room.on(RoomEvent.TrackSubscribed, (track: RemoteTrack) => {
    if (track.kind !== TrackKind.KIND_AUDIO) return
    stats.subscribedAt ??= Date.now()
    void count(new AudioStream(track, { sampleRate: SAMPLE_RATE, numChannels: 1, frameSizeMs: FRAME_MS }), stats)
  })
  room.on(RoomEvent.Disconnected, () => {
    stats.disconnectedAt ??= Date.now()
  })
  await room.connect(url, token, { autoSubscribe: true, dynacast: false, rtcConfig: NO_ICE_SERVERS })
  const source = new AudioSource(SAMPLE_RATE, 1)
  const microphone = new TrackPublishOptions()
  microphone.source = TrackSource.SOURCE_MICROPHONE
  await room.localParticipant!.publishTrack(LocalAudioTrack.createAudioTrack('tone', source), microphone)
  parties.set(id, { id, room, source, sent: 0, stats })
}

async function count(stream: AudioStream, stats: ParticipantStats): Promise<void> {
  try {
    const reader = stream.getReader()
    for (;;) {
      const { done, value: frame } = await reader.read()
      if (done) return
      const now = Date.now()
      stats.framesReceived += 1
      stats.firstFrameAt ??= now
      stats.lastFrameAt = now
      // Heard, not just delivered: the tone's peak is 3,000; decoded silence is near 0.
      let peak = 0
      for (let i = 0; i < frame.data.length; i += 24) peak = Math.max(peak, Math.abs(frame.data[i]!))
      if (peak > 500) stats.audibleFrames += 1
    }
  } catch {
    // The track went away with its room: the counts so far stand.
  }
}

async function leave(id: string): Promise<void> {
  const party = parties.get(id)
  if (!party) return
  parties.delete(id)
  // The source is left to the room's teardown: closing it while a frame is still being captured drops its handle twice.
  await party.room.disconnect().catch(() => undefined)
}

/** A party that left is no longer in `parties`, but its figures are still asked for: kept here. */
const allStats = new Map<string, ParticipantStats>()

process.on('message', (message: ParentToChild) => {
  switch (message.type) {
    case 'join':
      join(message.id, message.url, message.token).then(
        () => {
          allStats.set(message.id, parties.get(message.id)!.stats)
          send({ type: 'joined', id: message.id })
        },
        (error: unknown) => send({ type: 'failed', id: message.id, error: (error as Error).message ?? String(error) }),
      )
      break
    case 'leave':
      void leave(message.id).then(() => send({ type: 'left', id: message.id }))
      break
    case 'stats':
      send({
        type: 'stats',
        requestId: message.requestId,
        at: Date.now(),
        libraryErrors,
        lastErrors,
        participants: message.ids.map((id) => allStats.get(id)).filter((s) => s !== undefined),
      })
      break
    case 'quit':
      void Promise.allSettled([...parties.keys()].map(leave)).then(() => process.exit(0))
      break
  }
})

send({ type: 'ready', pid: process.pid })

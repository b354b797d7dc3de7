import {
  AudioFrame,
  AudioSource,
  ContinualGatheringPolicy,
  IceTransportType,
  LocalAudioTrack,
  LocalVideoTrack,
  Room,
  TrackPublishOptions,
  TrackSource,
  VideoBufferType,
  VideoFrame,
  VideoSource,
} from '@livekit/rtc-node'
import { randomUUID } from 'node:crypto'
import { isEntryPoint } from '../prisma/entry-point.js'
import { isEvent, PlatformApi, type CallMedia } from '../plugin/src/core/platform-api.js'

/**
 * A demo operator who answers every call, for trying the platform on a machine without the desktop plugin (`./platform
 * up` runs it as a process of its own for one demo operator; the README says which):
 *   tsx bench/demo-operator.ts   with DEMO_PLATFORM_URL, DEMO_OPERATOR_EMAIL, DEMO_OPERATOR_PASSWORD
 * It lives beside the benchmark's synthetic plugins: it is one more program that plays a user. It does what an operator's plugin does, through the same
 * plugin API: signs in, goes online, hears `call.requested`, accepts, and joins the call's LiveKit room, where it plays
 * a soft tone and a moving picture instead of a camera and a microphone. It never decides anything about money: the
 * member's request, LiveKit's webhooks and the call's workflow do, as for every call.
 */

export interface DemoOperator {
  stop(): Promise<void>
}

export interface DemoOperatorOptions {
  platformUrl: string
  email: string
  password: string
  log: (line: string) => void
}

const WIDTH = 320
const HEIGHT = 240
const FPS = 15
const SAMPLE_RATE = 48_000
const FRAME_SAMPLES = 480 // 10 ms
/** No STUN or TURN look-ups: on one machine the media server's own address is enough. */
const NO_ICE_SERVERS = {
  iceTransportType: IceTransportType.TRANSPORT_ALL,
  continualGatheringPolicy: ContinualGatheringPolicy.GATHER_CONTINUALLY,
  iceServers: [],
}

export async function startDemoOperator(options: DemoOperatorOptions): Promise<DemoOperator> {
  const stopped = new AbortController()
  const api = new PlatformApi({ baseUrl: options.platformUrl })
  const session = await api.login(options.email, options.password, 'Demo operator (answers by itself)')
  const name = session.operator.displayName
  const rooms = new Map<string, () => Promise<void>>()
  const presence = async () => api.presence(rooms.size > 0 ? 'busy' : 'online').catch((error: unknown) => options.log(`presence: ${(error as Error).message}`))
  await presence()
  const presenceTimer = setInterval(() => void presence(), 20_000)

  const leave = async (callId: string) => {
    const close = rooms.get(callId)
    if (!close) return
    rooms.delete(callId)
    await close().catch(() => undefined)
    void presence()
  }

  void (async () => {
    for (;;) {
      if (stopped.signal.aborted) return
      try {
        for await (const message of api.events(stopped.signal)) {
          if (isEvent(message, 'call.requested') && rooms.size === 0) {
            const { requestId, memberDisplayName, channel } = message.data as typeof message.data & { channel?: string }
            const callId = randomUUID()
            options.log(`${name} answers ${memberDisplayName}'s ${channel ?? 'audio'} call`)
            const started = await api.startCall({ callId, requestId }).catch((error: unknown) => {
              options.log(`could not answer: ${(error as Error).message}`)
              return null
            })
            if (started?.media) rooms.set(callId, await joinWithTestMedia(started.media, channel === 'video'))
            else if (started) rooms.set(callId, async () => undefined)
            void presence()
          }
          if (isEvent(message, 'call.settled') || isEvent(message, 'call.ending')) await leave(message.data.callId)
        }
      } catch (error) {
        if (!stopped.signal.aborted) options.log(`event stream: ${(error as Error).message}; reconnecting`)
      }
      await new Promise((resolve) => setTimeout(resolve, 2_000))
    }
  })()

  options.log(`${name} (${options.email}) answers calls by itself`)
  return {
    async stop() {
      stopped.abort()
      clearInterval(presenceTimer)
      for (const callId of [...rooms.keys()]) await leave(callId)
      await api.presence('offline').catch(() => undefined)
    },
  }
}

/** Joins the room and plays a tone (and, for a video call, a moving gradient); answers how to leave. */
async function joinWithTestMedia(media: CallMedia, video: boolean): Promise<() => Promise<void>> {
  const room = new Room()
  await room.connect(media.url, media.token, { autoSubscribe: true, dynacast: false, rtcConfig: NO_ICE_SERVERS })
  const timers: NodeJS.Timeout[] = []

  const audio = new AudioSource(SAMPLE_RATE, 1)
  const microphone = new TrackPublishOptions()
  microphone.source = TrackSource.SOURCE_MICROPHONE
  await room.localParticipant!.publishTrack(LocalAudioTrack.createAudioTrack('demo-tone', audio), microphone)
  let phase = 0
  timers.push(
    setInterval(() => {
      const samples = new Int16Array(FRAME_SAMPLES)
      for (let i = 0; i < FRAME_SAMPLES; i++, phase++) samples[i] = Math.round(Math.sin((2 * Math.PI * 440 * phase) / SAMPLE_RATE) * 2_000)
      audio.captureFrame(new AudioFrame(samples, SAMPLE_RATE, 1, FRAME_SAMPLES)).catch(() => undefined)
    }, 10),
  )

  if (video) {
    const picture = new VideoSource(WIDTH, HEIGHT)
    const camera = new TrackPublishOptions()
    camera.source = TrackSource.SOURCE_CAMERA
    await room.localParticipant!.publishTrack(LocalVideoTrack.createVideoTrack('demo-picture', picture), camera)
    let frame = 0
    const rgba = new Uint8Array(WIDTH * HEIGHT * 4)
    timers.push(
      setInterval(() => {
        frame++
        for (let y = 0; y < HEIGHT; y++) {
          for (let x = 0; x < WIDTH; x++) {
            const at = (y * WIDTH + x) * 4
            rgba[at] = (x + frame * 2) % 256
            rgba[at + 1] = (y + frame) % 256
            rgba[at + 2] = 160
            rgba[at + 3] = 255
          }
        }
        picture.captureFrame(new VideoFrame(rgba, WIDTH, HEIGHT, VideoBufferType.RGBA))
      }, 1_000 / FPS),
    )
  }

  return async () => {
    for (const timer of timers) clearInterval(timer)
    await room.disconnect()
  }
}

if (isEntryPoint(import.meta.url)) {
  const env = (name: string) => {
    const value = process.env[name]
    if (!value) throw new Error(`${name} is not set`)
    return value
  }
  const operator = await startDemoOperator({
    platformUrl: env('DEMO_PLATFORM_URL'),
    email: env('DEMO_OPERATOR_EMAIL'),
    password: env('DEMO_OPERATOR_PASSWORD'),
    log: (line) => console.log(line),
  })
  const stop = () => void operator.stop().then(() => process.exit(0))
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
}

import { readFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import { createRequire } from 'node:module'
import type { AddressInfo } from 'node:net'
import { dirname, join } from 'node:path'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import { CHROMIUM_ARGS, DEFAULT_CHROMIUM_PATH } from '../../temporal/setup/chromium.js'
import { sleep } from '../../temporal/setup/processes.js'

/**
 * Real media in a real browser, for tests of calls (docs/decisions/070-livekit.md): Debian's Chromium with its fake
 * camera and microphone (a moving test pattern and a beep), permission prompts answered yes, autoplay allowed.
 * Works for any page that uses WebRTC: the test page below, the member's call page, the plugin's call window.
 *
 * Every context made by newMediaContext() carries a probe (an init script) that
 * - keeps every RTCPeerConnection the page makes, so readMediaStats() can sum its inbound and outbound RTP bytes by
 *   kind from getStats(), whatever library made it (the figures of a closed connection stay at their last reading);
 * - gives every RTCPeerConnection an empty ICE server list. LiveKit, when it is configured with no STUN server, tells
 *   clients to use Google's public one; on loopback no STUN is needed (LiveKit advertises 127.0.0.1), and a test must
 *   send nothing off the machine. The host resolver rules below back that up: no name but localhost (and 127.0.0.1) resolves.
 */

export const MEDIA_CHROMIUM_ARGS = [
  ...CHROMIUM_ARGS,
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
  '--autoplay-policy=no-user-gesture-required',
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1',
] as const

/**
 * With `denyMediaPermission`, every page's request for the camera or microphone is refused (NotAllowedError), as when
 * a person clicks "Block": Chromium's fake prompt answers no instead of yes.
 */
export async function launchMediaBrowser(options: { denyMediaPermission?: boolean } = {}): Promise<Browser> {
  const args = options.denyMediaPermission
    ? MEDIA_CHROMIUM_ARGS.map((arg) => (arg === '--use-fake-ui-for-media-stream' ? '--use-fake-ui-for-media-stream=deny' : arg))
    : [...MEDIA_CHROMIUM_ARGS]
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || DEFAULT_CHROMIUM_PATH,
    args,
    headless: true,
  })
}

/** A context (a separate person: own cookies, own devices) with camera and microphone allowed and the probe installed. */
export async function newMediaContext(
  browser: Browser,
  options: { origin?: string; viewport?: { width: number; height: number } } = {},
): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport: options.viewport ?? { width: 800, height: 600 } })
  context.setDefaultTimeout(15_000)
  await context.grantPermissions(['camera', 'microphone'], options.origin ? { origin: options.origin } : undefined)
  await addMediaProbe(context)
  return context
}

/** Installs the probe (readMediaStats) in a context made otherwise, e.g. by tests/support/browser.ts newContext(). */
export async function addMediaProbe(context: BrowserContext): Promise<void> {
  await context.addInitScript({ content: PEER_CONNECTION_PROBE })
}

// Plain JavaScript, run in every page before its own scripts.
const PEER_CONNECTION_PROBE = `(() => {
  const Native = window.RTCPeerConnection
  if (!Native || window.__mediaProbe) return
  const connections = []
  const last = new Map()
  // Per connection, for watchInbound(): the last inbound RTP packet's arrival (the browser's own stamp, epoch ms),
  // whether a later reading confirmed nothing came after it, and when the connection was closed.
  const inbound = new Map()
  class ProbedPeerConnection extends Native {
    constructor(configuration, ...rest) {
      super({ ...(configuration || {}), iceServers: [] }, ...rest)
      connections.push(this)
      inbound.set(this, { lastPacketAt: 0, confirmed: false, closedAt: null })
    }
    close() {
      const watch = inbound.get(this)
      if (watch && watch.closedAt === null) watch.closedAt = Date.now()
      return super.close()
    }
  }
  let watching = null
  const readInbound = async () => {
    for (const pc of connections) {
      const watch = inbound.get(pc)
      if (pc.connectionState === 'closed') {
        if (watch.closedAt === null) watch.closedAt = Date.now()
        continue
      }
      try {
        const report = await pc.getStats()
        let last = 0
        report.forEach((s) => {
          if (s.type === 'inbound-rtp' && s.lastPacketReceivedTimestamp) last = Math.max(last, s.lastPacketReceivedTimestamp)
        })
        if (last > watch.lastPacketAt) Object.assign(watch, { lastPacketAt: last, confirmed: false })
        else if (last > 0) watch.confirmed = true
      } catch (error) {
        // Closed meanwhile: its close time bounds it.
      }
    }
  }
  window.RTCPeerConnection = ProbedPeerConnection
  if (window.webkitRTCPeerConnection) window.webkitRTCPeerConnection = ProbedPeerConnection
  const empty = () => ({ inbound: { audio: 0, video: 0 }, outbound: { audio: 0, video: 0 } })
  window.__mediaProbe = {
    watchInbound(intervalMs) {
      if (watching === null) watching = setInterval(readInbound, intervalMs)
    },
    async inboundStop() {
      await readInbound()
      let lastPacketAt = 0
      let stoppedBy = 0
      for (const watch of inbound.values()) {
        if (watch.lastPacketAt === 0) continue
        lastPacketAt = Math.max(lastPacketAt, watch.lastPacketAt)
        // Confirmed by a later reading: the packet's own stamp; otherwise no later than the connection's close.
        stoppedBy = Math.max(stoppedBy, watch.confirmed ? watch.lastPacketAt : (watch.closedAt ?? Infinity))
      }
      return { lastPacketAt, stoppedBy: stoppedBy === Infinity ? null : stoppedBy }
    },
    async read() {
      for (const pc of connections) {
        if (pc.connectionState === 'closed') continue
        try {
          const totals = empty()
          const report = await pc.getStats()
          report.forEach((s) => {
            if (s.type === 'inbound-rtp' && (s.kind === 'audio' || s.kind === 'video')) totals.inbound[s.kind] += s.bytesReceived || 0
            if (s.type === 'outbound-rtp' && (s.kind === 'audio' || s.kind === 'video')) totals.outbound[s.kind] += s.bytesSent || 0
          })
          last.set(pc, totals)
        } catch (error) {
          // Closed between the check and the call: its last reading stands.
        }
      }
      const sum = empty()
      for (const totals of last.values()) {
        for (const direction of ['inbound', 'outbound']) for (const kind of ['audio', 'video']) sum[direction][kind] += totals[direction][kind]
      }
      return {
        ...sum,
        peerConnections: connections.length,
        open: connections.filter((pc) => pc.connectionState !== 'closed').length,
      }
    },
  }
})()`

export interface MediaStats {
  /** RTP payload bytes received, summed over every peer connection the page made. */
  inbound: { audio: number; video: number }
  /** RTP payload bytes sent. */
  outbound: { audio: number; video: number }
  peerConnections: number
  /** Peer connections not closed. */
  open: number
}

/**
 * When a page's inbound media stopped, as the browser stamped its packets (lastPacketReceivedTimestamp), read in the
 * page every `intervalMs` from watchInbound() on, so the answer does not depend on how fast the test can ask.
 */
export interface InboundStop {
  /** The last inbound RTP packet's arrival, epoch ms; 0 if none arrived. */
  lastPacketAt: number
  /**
   * A moment by which inbound media had certainly stopped: the last packet's own stamp once a later reading showed
   * nothing after it, else the close of its connection; null while neither is known (media may still be arriving).
   */
  stoppedBy: number | null
}

export async function watchInbound(page: Page, intervalMs = 50): Promise<void> {
  await page.evaluate((ms) => (window as unknown as { __mediaProbe: { watchInbound(ms: number): void } }).__mediaProbe.watchInbound(ms), intervalMs)
}

export async function inboundStop(page: Page): Promise<InboundStop> {
  return page.evaluate(() => (window as unknown as { __mediaProbe: { inboundStop(): Promise<InboundStop> } }).__mediaProbe.inboundStop())
}

/** The page's RTP byte counts by direction and kind (needs a context from newMediaContext). */
export async function readMediaStats(page: Page): Promise<MediaStats> {
  return page.evaluate(() => {
    const probe = (window as unknown as { __mediaProbe?: { read(): Promise<MediaStats> } }).__mediaProbe
    if (!probe) throw new Error('no media probe in this page: make its context with newMediaContext()')
    return probe.read()
  })
}

/**
 * Waits until both inbound audio and inbound video bytes grow between two readings `intervalMs` apart (media is
 * flowing in, not merely negotiated); returns the later reading. Fails with the last readings after timeoutMs.
 */
export async function waitForInboundMedia(page: Page, options: { timeoutMs?: number; intervalMs?: number } = {}): Promise<MediaStats> {
  const deadline = Date.now() + (options.timeoutMs ?? 20_000)
  let before = await readMediaStats(page)
  for (;;) {
    await sleep(options.intervalMs ?? 500)
    const after = await readMediaStats(page)
    if (after.inbound.audio > before.inbound.audio && after.inbound.video > before.inbound.video) return after
    if (Date.now() > deadline) {
      throw new Error(`inbound media did not flow: ${JSON.stringify(before)} then ${JSON.stringify(after)}`)
    }
    before = after
  }
}

// ---------------------------------------------------------------------------------------------------------------
// A bare page that joins a LiveKit room with livekit-client, for tests of the media path itself.

export interface LiveKitTestPage {
  /** The page's origin on loopback, e.g. http://127.0.0.1:41234 */
  url: string
  close(): Promise<void>
}

/**
 * Serves, on loopback, an empty page and livekit-client's own browser build (dist/livekit-client.esm.mjs, a
 * self-contained ES module: nothing to bundle), plus a few lines that expose window.liveKitTest to joinRoomInPage().
 */
export async function serveLiveKitTestPage(): Promise<LiveKitTestPage> {
  // The package's require entry is its UMD build; the ES module lies beside it.
  const clientModule = await readFile(join(dirname(createRequire(import.meta.url).resolve('livekit-client')), 'livekit-client.esm.mjs'))
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://page').pathname
    if (path === '/livekit-client.mjs') return void response.writeHead(200, { 'content-type': 'text/javascript' }).end(clientModule)
    if (path === '/test-page.mjs') return void response.writeHead(200, { 'content-type': 'text/javascript' }).end(TEST_PAGE_SCRIPT)
    if (path === '/') return void response.writeHead(200, { 'content-type': 'text/html' }).end(TEST_PAGE_HTML)
    response.writeHead(404).end()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

const TEST_PAGE_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>LiveKit test page</title></head>
<body><main id="remote"></main><script type="module" src="/test-page.mjs"></script></body></html>`

const TEST_PAGE_SCRIPT = `import { Room, RoomEvent } from '/livekit-client.mjs'
const state = { connected: false, disconnected: false, disconnectReason: undefined, remoteIdentities: [] }
let room
window.liveKitTest = {
  async join(url, token, publish) {
    room = new Room()
    room.on(RoomEvent.Disconnected, (reason) => {
      state.connected = false
      state.disconnected = true
      state.disconnectReason = reason
    })
    room.on(RoomEvent.ParticipantConnected, (participant) => state.remoteIdentities.push(participant.identity))
    // Remote media goes into real elements, played as a person's page would.
    room.on(RoomEvent.TrackSubscribed, (track) => document.getElementById('remote').appendChild(track.attach()))
    await room.connect(url, token)
    state.connected = true
    for (const participant of room.remoteParticipants.values()) state.remoteIdentities.push(participant.identity)
    if (publish === 'audio') await room.localParticipant.setMicrophoneEnabled(true)
    else if (publish) await room.localParticipant.enableCameraAndMicrophone()
  },
  state: () => ({ ...state, remoteIdentities: [...state.remoteIdentities] }),
  leave: () => room && room.disconnect(),
}
window.liveKitTestReady = true
`

export interface PageRoomState {
  connected: boolean
  /** A RoomEvent.Disconnected was seen (the server closed the room, removed the participant, or the page left). */
  disconnected: boolean
  /** livekit-client's DisconnectReason (a number) carried by that event. */
  disconnectReason: number | undefined
  /** The identities of the other participants this page saw join. */
  remoteIdentities: string[]
}

/**
 * Opens the test page and joins `url` (a ws:// LiveKit URL) with `token`; publishes camera and microphone when asked
 * (`publish: 'audio'`: the microphone only). Rejects with livekit-client's error when LiveKit refuses the token.
 */
export async function joinRoomInPage(
  page: Page,
  testPage: LiveKitTestPage,
  options: { url: string; token: string; publish?: boolean | 'audio' },
): Promise<void> {
  if (page.url() !== `${testPage.url}/`) await page.goto(`${testPage.url}/`)
  await page.waitForFunction(() => (window as unknown as { liveKitTestReady?: boolean }).liveKitTestReady === true)
  await page.evaluate(
    ({ url, token, publish }) =>
      (window as unknown as { liveKitTest: { join(url: string, token: string, publish: boolean | 'audio'): Promise<void> } }).liveKitTest.join(url, token, publish),
    { url: options.url, token: options.token, publish: options.publish ?? true },
  )
}

export async function pageRoomState(page: Page): Promise<PageRoomState> {
  return page.evaluate(() => (window as unknown as { liveKitTest: { state(): PageRoomState } }).liveKitTest.state())
}

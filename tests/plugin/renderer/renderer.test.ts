import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { extname, join, normalize } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { build } from 'vite'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { rendererConfig } from '../../../plugin/build.js'
import type { PluginCore } from '../../../plugin/src/core/plugin-core.js'
import { createAutoStart } from '../../../plugin/src/main/autostart.js'
import type { IpcMainInvokeEventLike, IpcMainLike } from '../../../plugin/src/main/electron-shell.js'
import { createSenderCheck, registerIpcHandlers } from '../../../plugin/src/main/ipc.js'
import { IpcChannel } from '../../../plugin/src/shared/ipc.js'
import { sendCallMessage } from '../../../web-remix/app/calls/call-messages.server.js'
import { mediaJoinFor } from '../../../web-remix/app/calls/call-media.server.js'
import type { PlatformServices } from '../../../web-remix/app/plugin-api/services.server.js'
import { expectAccessible, newContext, screenshot } from '../../support/browser.js'
import {
  addMediaProbe,
  joinRoomInPage,
  launchMediaBrowser,
  newMediaContext,
  pageRoomState,
  readMediaStats,
  serveLiveKitTestPage,
  waitForInboundMedia,
  type LiveKitTestPage,
} from '../../support/media-browser.js'
import { stopAfterLedgerCheck, startWebStack, type WebStack } from '../../support/web-server.js'
import { askForCall, createMember, createOperator, eventually, fund, memberConfirms, PASSWORD } from '../../web-remix/plugin-client.js'
import { openCore, tempDataDir, testKeychain, type CoreUnderTest } from '../support/core-harness.js'

// The plugin's window in Debian's Chromium, end to end: the built renderer, the real preload code (Electron's
// objects replaced by a bridge to this process), the main process's IPC handlers, a real core, the real platform.

const here = fileURLToPath(new URL('.', import.meta.url))
let stack: WebStack
let browser: Browser
let bundleDir: string
let mediaDir: string
let pageServer: Server
let pageUrl: string
let preloadScript: string
let testPage: LiveKitTestPage
const cleanups: Array<() => Promise<unknown>> = []

const CONTENT_TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css' }

beforeAll(async () => {
  bundleDir = await mkdtemp(join(tmpdir(), 'perminute-renderer-'))
  mediaDir = await mkdtemp(join(tmpdir(), 'perminute-media-'))
  // 3-s billing periods leave the low-balance warning on screen long enough to be seen before the money runs out.
  const [webStack] = await Promise.all([
    startWebStack({ env: { MEDIA_DIR: mediaDir, BILLING_PERIOD_MS: '3000' } }),
    // Built for the run's LiveKit, as a production build names its platform's (PERMINUTE_MEDIA_URL).
    build(rendererConfig(join(bundleDir, 'renderer'), { mediaUrl: process.env.LIVEKIT_URL })),
    build({
      configFile: false,
      logLevel: 'warn',
      build: {
        outDir: join(bundleDir, 'preload'),
        emptyOutDir: true,
        minify: false,
        lib: { entry: join(here, 'page-preload.ts'), formats: ['iife'], name: 'perminutePreload', fileName: () => 'page-preload.js' },
      },
    }),
  ])
  stack = webStack
  preloadScript = await readFile(join(bundleDir, 'preload', 'page-preload.js'), 'utf8')

  // The built renderer, served as files (Electron loads the same files from file://).
  const root = join(bundleDir, 'renderer')
  pageServer = createServer((request, response) => {
    const path = normalize(join(root, decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname)))
    const file = path.endsWith('/') ? join(path, 'index.html') : path
    if (!file.startsWith(root)) return void response.writeHead(404).end()
    readFile(file).then(
      (body) => response.writeHead(200, { 'content-type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream' }).end(body),
      () => response.writeHead(404).end(),
    )
  })
  await new Promise<void>((resolve) => pageServer.listen(0, '127.0.0.1', resolve))
  pageUrl = `http://127.0.0.1:${(pageServer.address() as AddressInfo).port}/index.html`

  // A camera and a microphone that Chromium makes up, its permission prompt answered yes, sound allowed without a
  // click (as Electron allows it), and no name resolved but this computer's.
  ;[browser, testPage] = await Promise.all([launchMediaBrowser(), serveLiveKitTestPage()])
}, 240_000)

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined)
  await browser?.close()
  await testPage?.close()
  await new Promise((resolve) => pageServer?.close(resolve))
  await stopAfterLedgerCheck(stack)
  await rm(bundleDir, { recursive: true, force: true })
  await rm(mediaDir, { recursive: true, force: true })
}, 60_000)

/** A fake ipcMain that keeps the handlers the main process registers, for the bridge to call. */
function recordingIpcMain() {
  const handlers = new Map<string, (event: IpcMainInvokeEventLike, ...args: unknown[]) => unknown>()
  const ipcMain: IpcMainLike = {
    handle: (channel, listener) => void handlers.set(channel, listener),
    removeHandler: (channel) => void handlers.delete(channel),
  }
  return { ipcMain, handlers }
}

function decode(value: unknown): unknown {
  if (value && typeof value === 'object' && '__bytes' in value) return new Uint8Array(Buffer.from((value as { __bytes: string }).__bytes, 'base64'))
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, decode(inner)]))
  }
  return value
}

/**
 * Follows the ringtone's WebAudio in the page, before the page's own scripts: each ring starts a 480-Hz oscillator (the
 * upper tone of the ring's chord, which nothing else in the page plays; LiveKit's own silent oscillator runs at the
 * default 440 Hz), and the audio contexts those rings play in are open while it rings and closed when it stops.
 */
const RING_PROBE = `(() => {
  const probe = { rings: 0, ringContextsOpen: 0 }
  const ringContexts = new Set()
  window.__ringProbe = () => ({ rings: probe.rings, ringContextsOpen: ringContexts.size })
  const start = OscillatorNode.prototype.start
  OscillatorNode.prototype.start = function (...args) {
    if (this.frequency.value === 480) {
      probe.rings += 1
      ringContexts.add(this.context)
    }
    return start.apply(this, args)
  }
  const close = AudioContext.prototype.close
  AudioContext.prototype.close = function () {
    ringContexts.delete(this)
    return close.apply(this)
  }
})()`

interface RingProbe {
  /** Rings started so far. */
  rings: number
  /** Audio contexts a ring played in that are not closed: 0 once the ringtone stopped. */
  ringContextsOpen: number
}
const readRingProbe = (page: Page) => page.evaluate(() => (window as unknown as { __ringProbe: () => RingProbe }).__ringProbe())

/** The plugin's window on a page of its own, wired to a fresh core as Electron's main process would wire it. */
async function openPluginWindow(): Promise<{ page: Page; plugin: CoreUnderTest }> {
  const dataDir = await tempDataDir()
  cleanups.push(dataDir.remove)
  const plugin = await openCore({ platformUrl: stack.url, dataDir: dataDir.path, cipher: testKeychain() })
  cleanups.push(() => plugin.core.shutdown())
  const core: PluginCore = plugin.core

  const context = await newContext(browser)
  // A loaded machine runs the platform, the core and the browser at once: wait longer than the usual 15 s.
  context.setDefaultTimeout(30_000)
  cleanups.push(() => context.close())
  await context.grantPermissions(['camera', 'microphone'])
  // What the page's WebRTC connections carry (readMediaStats), and what its ringtone plays.
  await addMediaProbe(context)
  await context.addInitScript({ content: RING_PROBE })
  const page = await context.newPage()
  const { ipcMain, handlers } = recordingIpcMain()
  const WINDOW_ID = 1
  const unregister = registerIpcHandlers({
    ipcMain,
    core: () => core,
    autoStart: createAutoStart({ platform: 'linux', app: { getLoginItemSettings: () => ({ openAtLogin: false }), setLoginItemSettings: () => undefined }, executable: '/opt/perminute/perminute', configHome: dataDir.path }),
    isTrustedSender: createSenderCheck({ windowContentIds: () => [WINDOW_ID], rendererUrl: pageUrl }),
    log: () => undefined,
  })
  cleanups.push(async () => unregister())

  await page.exposeFunction('__ipcInvoke', async (channel: string, args: unknown[]) => {
    const handler = handlers.get(channel)
    if (!handler) throw new Error(`No handler registered for '${channel}'`)
    // What Electron tells the handler about the sender: this page's own frame in the plugin's window.
    return handler({ sender: { id: WINDOW_ID }, senderFrame: { url: page.mainFrame().url(), parent: null } }, ...args.map(decode))
  })
  await page.addInitScript({ content: preloadScript })
  // The main process pushes every new state to the window.
  const stop = core.subscribe((state) => {
    page.evaluate(([channel, payload]) => window.__ipcDeliver(channel as string, payload), [IpcChannel.StateChanged, state] as const).catch(() => undefined)
  })
  cleanups.push(async () => stop())
  await page.goto(pageUrl)
  return { page, plugin }
}

describe('the plugin window', { timeout: 180_000 }, () => {
  it('signs in, links, shows Connected, a caller’s card, the meter with the low-balance warning and the forced end', async () => {
    const operator = await createOperator(stack.db, { ratePerMinuteCents: 100 })
    // Four periods of money: the warning comes with the third hold, the fifth cannot be made.
    const member = await createMember(stack.db, { fundedCents: 400 })
    const { page, plugin } = await openPluginWindow()

    // Signing in.
    await page.getByRole('heading', { name: 'perminute' }).waitFor()
    await expectAccessible(page)
    await screenshot(page, 'plugin-sign-in')
    await page.getByLabel('E-mail address').fill(operator.email)
    await page.getByLabel('Password').fill('not-the-password')
    await page.getByRole('button', { name: 'Sign in' }).click()
    await expect(page.getByRole('alert').textContent()).resolves.toContain('not right')
    await page.getByLabel('Password').fill(PASSWORD)
    await page.getByRole('button', { name: 'Sign in' }).click()

    // Linking the calling account.
    await page.getByRole('heading', { name: 'Link your calling account' }).waitFor()
    await expectAccessible(page)
    await screenshot(page, 'plugin-link')
    const handle = `ada-${operator.id.slice(0, 8)}`
    await page.getByLabel('App you take calls in').selectOption('discord')
    await page.getByLabel('Your handle in that app').fill(handle)
    await page.getByRole('button', { name: 'Link account' }).click()

    // Connected, online.
    const status = page.getByRole('status').filter({ hasText: 'Connected' })
    await status.filter({ hasText: 'Online' }).waitFor()
    await page.getByText('Updates live').waitFor()
    await expectAccessible(page)
    await screenshot(page, 'plugin-connected')
    expect((await stack.db.operator.findUniqueOrThrow({ where: { userId: operator.id } })).presence).toBe('online')

    // A handle of nobody asking this operator for a call (typed in, or from a perminute:// link): a card marked
    // unverified, with no button that starts a call.
    await page.getByLabel("Caller's handle").fill('someone-else')
    await page.getByRole('button', { name: 'Look up' }).click()
    const stranger = page.getByRole('article', { name: 'someone-else' })
    await stranger.getByText('Unverified').waitFor()
    await stranger.getByText('No member asking you for a call uses this handle', { exact: false }).waitFor()
    expect(await stranger.getByRole('button', { name: /start call/i }).count()).toBe(0)
    await expectAccessible(page)
    await screenshot(page, 'plugin-unverified-caller')
    await stranger.getByRole('button', { name: 'Dismiss' }).click()
    await expect.poll(() => page.locator('article.card').count()).toBe(0)

    // The member asks for a call on the website: the request shows; the caller's handle then finds it with the
    // member's funds in minutes at the price they asked for.
    await askForCall(stack.db, member, operator)
    await page.getByRole('article', { name: member.displayName }).waitFor()
    await page.getByLabel("Caller's handle").fill(member.handle)
    await page.getByRole('button', { name: 'Look up' }).click()
    const card = page.getByRole('article', { name: member.displayName })
    await card.getByText('Calling').waitFor()
    await expect(card.getByText('4 min').textContent()).resolves.toContain('$4.00')
    await expect(card.textContent()).resolves.toContain('Not rated yet')
    await expect(card.textContent()).resolves.toContain('$1.00/min, the price they agreed to')
    expect(plugin.notifications.map((n) => n.kind)).toEqual(['request', 'caller'])
    await expectAccessible(page)
    await screenshot(page, 'plugin-member-card')

    // The call connects: the member confirms it on their page once the operator picked up on Discord; then the meter.
    await card.getByRole('button', { name: 'Accept and start call' }).click()
    const call = page.getByRole('region', { name: `Call with ${member.displayName}` })
    await call.waitFor()
    await call.getByText(`Waiting for ${member.displayName} to confirm the call on Discord`).waitFor()
    await page.getByRole('status').filter({ hasText: 'Busy' }).waitFor()
    await expect(call.getByTestId('elapsed').textContent()).resolves.toBe('0:00')
    await expectAccessible(page)

    // The call's chat (docs/decisions/065) while the member gets on Discord: the operator writes from the keyboard
    // (Enter sends); the member's answer, written on their call page, appears as it arrives.
    const callId = plugin.core.state.call!.callId
    const chat = call.getByTestId('call-chat')
    await chat.getByText('No messages in this call yet.').waitFor()
    await chat.getByLabel(`Message to ${member.displayName}`).fill('Hi! Calling you on Discord now.')
    await chat.getByLabel(`Message to ${member.displayName}`).press('Enter')
    await chat.locator('[data-testid="chat-message"][data-from="operator"]').filter({ hasText: 'Hi! Calling you on Discord now.' }).waitFor()
    await expect.poll(() => chat.getByLabel(`Message to ${member.displayName}`).inputValue()).toBe('')
    expect((await stack.db.callMessage.findMany({ where: { callId }, select: { body: true } })).map((m) => m.body)).toEqual(['Hi! Calling you on Discord now.'])
    // What the member's page sends (routes/calls_.$callId.messages.ts), as that member.
    expect(await sendCallMessage({ db: stack.db } as PlatformServices, member.id, callId, 'Ready when you are')).toMatchObject({ outcome: 'sent' })
    const fromMember = chat.locator('[data-testid="chat-message"][data-from="member"]')
    await fromMember.filter({ hasText: 'Ready when you are' }).waitFor()
    await expect(fromMember.textContent()).resolves.toContain(member.displayName)
    await expectAccessible(page)
    await screenshot(page, 'plugin-call-chat')
    await memberConfirms(stack, member, callId)
    await call.getByRole('heading', { name: `Call with ${member.displayName}`, exact: true }).waitFor()
    await call.getByRole('alert').filter({ hasText: 'Low balance' }).waitFor({ timeout: 45_000 })
    // Taken at once: the warning stands for two periods, then the platform ends the call.
    await screenshot(page, 'plugin-call-meter')
    await expect(call.getByTestId('elapsed').textContent()).resolves.not.toBe('0:00')
    // Read together: the meter moves between two separate reads.
    const meter = await page.evaluate(() => ({
      billed: document.querySelector('[data-testid="billed"]')?.textContent,
      charged: document.querySelector('[data-testid="charged"]')?.textContent,
    }))
    expect(Number(meter.billed)).toBeGreaterThanOrEqual(2)
    expect(meter.charged).toBe(`$${meter.billed}.00`)
    await expectAccessible(page)

    // The money runs out: the platform ends the call and the window asks the operator to hang up.
    const prompt = page.getByRole('alert').filter({ hasText: 'Please hang up' })
    await prompt.waitFor({ timeout: 45_000 })
    await expect(prompt.textContent()).resolves.toMatch(/money ran out/)
    await page.getByRole('status').filter({ hasText: 'Billed 4 minutes, charged $4.00' }).waitFor()
    await expectAccessible(page)
    await screenshot(page, 'plugin-forced-end')
    await page.getByRole('button', { name: 'I have hung up' }).click()
    await call.waitFor({ state: 'detached' })
    await expect(page.getByTestId('today-summary').textContent()).resolves.toMatch(/^1 call · you earned \$\d+\.\d\d \(charged \$4\.00\)$/)
    await page.getByRole('status').filter({ hasText: 'Online' }).waitFor()

    // The member tops up and asks again: the new call's chat shows the first call's conversation above, as earlier.
    await fund(stack.db, member.id, 400)
    await askForCall(stack.db, member, operator)
    await page.getByRole('article', { name: member.displayName }).getByRole('button', { name: 'Accept and start call' }).click()
    const again = page.getByRole('region', { name: `Call with ${member.displayName}` })
    const earlier = again.getByTestId('chat-earlier')
    await earlier.waitFor()
    await expect(again.getByText('Earlier calls').isVisible()).resolves.toBe(true)
    await expect(earlier.getByTestId('chat-message').allTextContents()).resolves.toEqual([
      expect.stringContaining('Hi! Calling you on Discord now.'),
      expect.stringContaining('Ready when you are'),
    ])
    await again.getByText('No messages in this call yet.').waitFor()
    await expectAccessible(page)
    await screenshot(page, 'plugin-call-chat-earlier')
    // Hung up before it connected: nothing charged.
    await again.getByRole('button', { name: 'End call' }).click()
    await page.getByRole('status').filter({ hasText: 'Nothing was charged' }).waitFor()
  })

  it('rings for a video call, joins its room, shows the member’s video with real media both ways, and the platform’s cut-off as the end', async () => {
    const operator = await createOperator(stack.db, { ratePerMinuteCents: 100 })
    // Eight periods of 3 s: time to see the media flow before the platform cuts the call off.
    const member = await createMember(stack.db, { fundedCents: 800 })
    const { page, plugin } = await openPluginWindow()
    expect(await plugin.core.signIn(operator.email, PASSWORD)).toEqual({ ok: true })
    expect(await plugin.core.link('discord', `ada-${operator.id.slice(0, 8)}`)).toEqual({ ok: true })
    await page.getByRole('status').filter({ hasText: 'Connected' }).filter({ hasText: 'Online' }).waitFor()
    await page.getByText('Updates live').waitFor()
    expect(await readRingProbe(page)).toEqual({ rings: 0, ringContextsOpen: 0 })

    // The member asks for a video call: the card rings until the operator answers.
    await askForCall(stack.db, member, operator, { channel: 'video' })
    const card = page.getByRole('article', { name: member.displayName })
    await card.getByText('Video call').waitFor()
    await page.getByTestId('ringing').filter({ hasText: `Ringing: ${member.displayName} asks for a call` }).waitFor()
    await expect.poll(async () => (await readRingProbe(page)).rings).toBeGreaterThanOrEqual(1)
    // It rings again after a pause, on its own.
    await expect.poll(async () => (await readRingProbe(page)).rings, { timeout: 10_000 }).toBeGreaterThanOrEqual(2)
    expect((await readRingProbe(page)).ringContextsOpen).toBe(1)
    expect(plugin.notifications).toContainEqual(expect.objectContaining({ kind: 'request', title: `${member.displayName} asks for a call` }))
    await expectAccessible(page)
    await screenshot(page, 'plugin-incoming-call')

    // Muting silences it (no new bursts), unmuting brings it back.
    await page.getByRole('button', { name: 'Mute ringtone', pressed: false }).click()
    await page.getByRole('button', { name: 'Mute ringtone', pressed: true }).waitFor()
    await page.getByTestId('ringing').filter({ hasText: `Incoming: ${member.displayName} asks for a call` }).waitFor()
    const mutedAt = await readRingProbe(page)
    expect(mutedAt.ringContextsOpen).toBe(0)
    await page.waitForTimeout(3_500)
    expect((await readRingProbe(page)).rings).toBe(mutedAt.rings)
    await page.getByRole('button', { name: 'Mute ringtone', pressed: true }).click()
    await expect.poll(async () => (await readRingProbe(page)).rings).toBeGreaterThan(mutedAt.rings)

    // Accepted: the ring stops at once, the window joins the call's room and waits for the member.
    await card.getByRole('button', { name: 'Accept and start call' }).click()
    const call = page.getByRole('region', { name: `with ${member.displayName}` })
    await call.getByRole('heading', { name: `Connecting the call with ${member.displayName}` }).waitFor()
    await page.getByTestId('ringing').waitFor({ state: 'detached' })
    const rang = await readRingProbe(page)
    expect(rang.ringContextsOpen).toBe(0)
    await call.getByTestId('room-status').filter({ hasText: `Waiting for ${member.displayName} to join` }).waitFor()
    await page.getByRole('status').filter({ hasText: 'Busy' }).waitFor()
    const callId = plugin.core.state.call!.callId

    // The member joins from their browser with the join the platform gives the member's page.
    const memberContext: BrowserContext = await newMediaContext(browser, { origin: testPage.url })
    cleanups.push(() => memberContext.close())
    const memberPage = await memberContext.newPage()
    const join = await mediaJoinFor({ config: stack.config } as PlatformServices, { id: callId, channel: 'video', status: 'connecting' }, member)
    await joinRoomInPage(memberPage, testPage, { url: join!.url, token: join!.token })

    // Both in the room: the platform starts the call (LiveKit's webhooks), and the window shows the member's video.
    await call.getByRole('heading', { name: `Video call with ${member.displayName}`, exact: true }).waitFor()
    await call.getByTestId('room-status').filter({ hasText: `In the call with ${member.displayName}` }).waitFor()
    const memberVideo = call.getByTestId('member-video')
    await memberVideo.waitFor()
    await expect.poll(() => memberVideo.evaluate((video) => (video as HTMLVideoElement).videoWidth)).toBeGreaterThan(0)
    await call.getByTestId('own-video').waitFor()
    // Media flows both ways: the window receives the member's audio and video, and sends its own.
    const received = await waitForInboundMedia(page)
    expect(received.inbound.audio).toBeGreaterThan(0)
    expect(received.inbound.video).toBeGreaterThan(0)
    expect(received.outbound.audio).toBeGreaterThan(0)
    expect(received.outbound.video).toBeGreaterThan(0)
    await waitForInboundMedia(memberPage)
    expect((await pageRoomState(memberPage)).remoteIdentities).toEqual([operator.id])
    await expect.poll(() => call.getByTestId('elapsed').textContent()).not.toBe('0:00')
    await call.getByText('Not rated yet').waitFor()
    // Nothing rang while the call went on.
    expect(await readRingProbe(page)).toEqual(rang)
    await expectAccessible(page)
    await screenshot(page, 'plugin-video-call')

    // The controls: the microphone and camera go off and on again.
    await call.getByRole('button', { name: 'Mute microphone' }).click()
    await call.getByRole('button', { name: 'Unmute microphone' }).click()
    await call.getByRole('button', { name: 'Mute microphone' }).waitFor()
    await call.getByRole('button', { name: 'Turn camera off' }).click()
    await call.getByTestId('own-video').waitFor({ state: 'detached' })
    await call.getByRole('button', { name: 'Turn camera on' }).click()
    await call.getByTestId('own-video').waitFor()
    await expect(call.getByLabel('Camera').locator('option').count()).resolves.toBeGreaterThanOrEqual(1)

    // The member's money runs out: the platform closes the room (both are disconnected) and the window says why.
    const notice = call.getByTestId('end-notice')
    await notice.waitFor({ timeout: 60_000 })
    await expect(notice.textContent()).resolves.toBe("The member's money ran out: the call has been ended.")
    await call.getByRole('status').filter({ hasText: 'Billed 8 minutes, charged $8.00' }).waitFor()
    expect(await call.getByRole('alert').filter({ hasText: 'Please hang up' }).count()).toBe(0)
    await memberVideo.waitFor({ state: 'detached' })
    await eventually(async () => ((await pageRoomState(memberPage)).disconnected ? true : undefined), 15_000, "the member's page to be disconnected")
    // The media stopped with the room: nothing more arrives.
    const after = await readMediaStats(page)
    await page.waitForTimeout(1_500)
    expect((await readMediaStats(page)).inbound).toEqual(after.inbound)
    await expectAccessible(page)
    await screenshot(page, 'plugin-call-ended')
    await call.getByRole('button', { name: 'Close' }).click()
    await call.waitFor({ state: 'detached' })
    await page.getByRole('status').filter({ hasText: 'Online' }).waitFor()
  })

  it('records a video preview from the camera and uploads it to the profile', async () => {
    const operator = await createOperator(stack.db)
    const { page, plugin } = await openPluginWindow()
    expect(await plugin.core.signIn(operator.email, PASSWORD)).toEqual({ ok: true })
    expect(await plugin.core.link('zoom', `zoom-${operator.id}`)).toEqual({ ok: true })
    await page.getByRole('status').filter({ hasText: 'Connected' }).waitFor()

    const section = page.getByRole('region', { name: 'Video preview' })
    await section.getByRole('button', { name: 'Turn on camera' }).click()
    await section.getByRole('button', { name: 'Record' }).click()
    await section.getByRole('button', { name: /Stop \(\d+ s left\)/ }).waitFor()
    await page.waitForTimeout(2_500)
    await section.getByRole('button', { name: /Stop/ }).click()
    await section.getByRole('button', { name: 'Upload to my profile' }).click()
    await section.getByRole('button', { name: 'Uploading…' }).waitFor({ state: 'detached', timeout: 30_000 })
    await section.getByText('Uploaded: your profile shows this video.').waitFor()
    await section.getByRole('button', { name: 'Record a new preview' }).waitFor()
    await screenshot(page, 'plugin-video-preview')

    const videoUrl = await eventually(async () => (await stack.db.operator.findUniqueOrThrow({ where: { userId: operator.id } })).videoUrl ?? undefined)
    const served = await fetch(`${stack.url}${videoUrl}`)
    expect(served.headers.get('content-type')).toBe('video/webm')
    const bytes = new Uint8Array(await served.arrayBuffer())
    // A real recording: a WebM file of some size, straight from MediaRecorder.
    expect([...bytes.subarray(0, 4)]).toEqual([0x1a, 0x45, 0xdf, 0xa3])
    expect(bytes.length).toBeGreaterThan(10_000)
  })

  it('goes back to sign-in with the reason when the session is revoked', async () => {
    const operator = await createOperator(stack.db)
    const { page, plugin } = await openPluginWindow()
    expect(await plugin.core.signIn(operator.email, PASSWORD)).toEqual({ ok: true })
    await page.getByRole('heading', { name: 'Link your calling account' }).waitFor()
    await stack.db.pluginToken.updateMany({ where: { userId: operator.id }, data: { revokedAt: new Date() } })
    // The next request the plugin makes finds out (the event stream reconnects, presence repeats).
    const message = page.getByRole('alert').filter({ hasText: 'expired or was revoked' })
    await message.waitFor({ timeout: 45_000 })
    await page.getByRole('button', { name: 'Sign in' }).waitFor()
    await screenshot(page, 'plugin-session-revoked')
  })
})

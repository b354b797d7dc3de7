import { randomUUID } from 'node:crypto'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { walletBalance } from '../../activities/ledger/balances.js'
import { createUser } from '../../activities/identity/users.js'
import { billablePeriods } from '../../workflows/billing.js'
import { expectAccessible, expectNoHorizontalScroll, logInThroughForm, screenshot, watchPolicyViolations } from '../support/browser.js'
import { testLiveKit } from '../support/livekit.js'
import {
  joinRoomInPage,
  launchMediaBrowser,
  newMediaContext,
  readMediaStats,
  serveLiveKitTestPage,
  waitForInboundMedia,
  type LiveKitTestPage,
} from '../support/media-browser.js'
import { startWebStack, stopAfterLedgerCheck, type WebStack } from '../support/web-server.js'
import { call, eventually, fund, openEvents, PASSWORD, signedInOperator, sleep, type EventStream } from '../web-remix/plugin-client.js'

// The member's live call in Chromium, against the real web server, worker, Temporal, database and LiveKit: a member
// logs in, asks for a video call from the profile; the operator's side is a second browser that answers the
// request through the plugin API and joins the room with the token it returned. The member's page connects, shows
// the operator's video, counts the time both were connected, and hangs up; an outside-app call waits for the
// member's word. Billing runs on a short clock with the production rules: 3-s periods.

const RATE_CENTS = 120
const PERIOD_MS = 3_000

let stack: WebStack
let browser: Browser
let testPage: LiveKitTestPage
const contexts: BrowserContext[] = []

beforeAll(async () => {
  ;[stack, browser, testPage] = await Promise.all([
    startWebStack({ env: { BILLING_PERIOD_MS: String(PERIOD_MS), GRACE_MS: '1000', SETTLE_WAIT_MS: '10000' } }),
    launchMediaBrowser(),
    serveLiveKitTestPage(),
  ])
})
afterAll(async () => {
  for (const context of contexts) await context.close()
  await browser?.close()
  await testPage?.close()
  await stopAfterLedgerCheck(stack)
})

async function memberInBrowser(options: { fundedCents: number; viewport?: { width: number; height: number } }) {
  const email = `live-${randomUUID().slice(0, 8)}@example.test`
  const member = await createUser(stack.db, { role: 'member', email, password: PASSWORD, displayName: `Mia Live ${email.slice(5, 9)}`, emailVerified: true })
  await fund(stack.db, member.id, options.fundedCents)
  const context = await newMediaContext(browser, { origin: stack.url, viewport: options.viewport ?? { width: 1280, height: 800 } })
  await watchPolicyViolations(context)
  contexts.push(context)
  const page = await context.newPage()
  await logInThroughForm(page, stack.url, email, PASSWORD)
  return { ...member, email, page }
}

async function onlineOperator(events: EventStream[]) {
  const operator = await signedInOperator(stack.db, stack.url, { ratePerMinuteCents: RATE_CENTS })
  expect((await call(stack.url, '/api/plugin/v1/presence', { token: operator.token, json: { status: 'online' } })).status).toBe(204)
  const plugin = await openEvents(stack.url, operator.token)
  events.push(plugin)
  return { ...operator, plugin }
}

/** The operator's plugin answers the member's request: the call is accepted, connecting, with the operator's media. */
async function operatorAccepts(operator: { token: string; plugin: EventStream }, memberId: string) {
  const requested = JSON.parse((await operator.plugin.next((event) => event.event === 'call.requested' && JSON.parse(event.data).memberId === memberId)).data)
  const callId = randomUUID()
  const started = await call(stack.url, '/api/plugin/v1/calls', { token: operator.token, json: { callId, requestId: requested.requestId } })
  expect(started.status, started.text).toBe(201)
  expect(started.body.status).toBe('connecting')
  return { callId, requested, started: started.body }
}

async function heldCents(callId: string): Promise<bigint> {
  const [row] = await stack.db.$queryRaw<{ held: bigint | null }[]>`
    SELECT sum(amount)::bigint AS held FROM transfers WHERE call_id = ${callId}::uuid AND status = 'pending'`
  return row?.held ?? 0n
}

/** Whether the focused element shows a focus ring. */
async function focusVisible(page: Page): Promise<boolean> {
  return page.evaluate(() => {
    const element = document.activeElement as HTMLElement | null
    if (!element) return false
    const style = getComputedStyle(element)
    return style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0
  })
}

/** Tabs through the page until `name`'s control has the focus (at most 40 presses); fails otherwise. */
async function tabTo(page: Page, name: RegExp): Promise<void> {
  for (let press = 0; press < 40; press++) {
    await page.keyboard.press('Tab')
    const focused = await page.evaluate(() => {
      const element = document.activeElement as HTMLElement | null
      if (!element) return ''
      const label = element.id ? document.querySelector(`label[for="${element.id}"]`)?.textContent : null
      return `${label ?? ''} ${element.getAttribute('aria-label') ?? ''} ${element.textContent ?? ''}`
    })
    if (name.test(focused)) return
  }
  throw new Error(`the keyboard never reached ${name}`)
}

describe("the member's live call", () => {
  const streams: EventStream[] = []
  afterAll(() => streams.forEach((stream) => stream.close()))

  it('asks for a video call, connects, sees and hears the operator, is billed from both joined, and hangs up', { timeout: 180_000 }, async () => {
    const operator = await onlineOperator(streams)
    const member = await memberInBrowser({ fundedCents: 5_000 })
    const { page } = member

    // The profile offers the choice; the member asks for a video call.
    await page.goto(`${stack.url}/operators/${operator.id}`)
    await expect(page.getByRole('button', { name: 'Call now' }).isEnabled()).resolves.toBe(true)
    await Promise.all([page.waitForURL(/\/calls\/requests\//), page.getByRole('button', { name: 'Video call' }).click()])
    await expect(page.getByTestId('request-terms').textContent()).resolves.toBe('You asked for a video call now at $1.20/min.')

    const { callId, requested, started } = await operatorAccepts(operator, member.id)
    expect(requested).toMatchObject({ channel: 'video', ratePerMinuteCents: RATE_CENTS })
    expect(started.channel).toBe('video')

    // The waiting page follows to the call, which connects: the member's page joins the room, the operator is not
    // there yet, and nothing is held.
    await page.waitForURL(new RegExp(`/calls/${callId}$`), { timeout: 30_000 })
    await page.getByTestId('connecting').waitFor()
    await page.getByText(`Waiting for ${operator.displayName} to join…`).waitFor({ timeout: 20_000 })
    const room = testLiveKit()
    await eventually(async () => ((await room.listParticipants(started.media.room)).some((p) => p.identity === member.id) ? true : undefined), 15_000, 'the member in the room')
    expect((await stack.db.call.findUniqueOrThrow({ where: { id: callId } })).status).toBe('connecting')
    expect(await heldCents(callId)).toBe(0n)
    await expect(page.getByTestId('price').textContent()).resolves.toContain('$1.20/min')
    await expectAccessible(page)
    await screenshot(page, 'member-connecting')

    // The operator joins: the page says so when the platform does (call.connected), and the operator's video plays.
    const operatorContext = await newMediaContext(browser, { origin: testPage.url })
    contexts.push(operatorContext)
    const operatorPage = await operatorContext.newPage()
    await joinRoomInPage(operatorPage, testPage, { url: started.media.url, token: started.media.token })
    await page.getByRole('heading', { level: 1, name: `On a call with ${operator.displayName}` }).waitFor({ timeout: 30_000 })
    await expect(page.getByTestId('call-status').textContent()).resolves.toBe('Connected')
    await page.getByTestId('other-video').waitFor({ state: 'visible', timeout: 20_000 })
    const flowing = await waitForInboundMedia(page)
    expect(flowing.inbound.audio).toBeGreaterThan(0)
    expect(flowing.inbound.video).toBeGreaterThan(0)
    expect(flowing.outbound.video, 'the member sends their camera').toBeGreaterThan(0)
    await page.getByTestId('self-view').waitFor({ state: 'visible' })
    await expect(page.getByTestId('connection-quality').textContent()).resolves.not.toBe('')
    // Bytes arrive before the first frame is decoded: on a loaded machine the picture may take a moment longer.
    const videoPlaying = () => page.getByTestId('other-video').evaluate((video: HTMLVideoElement) => video.videoWidth > 0 && !video.paused)
    await eventually(async () => ((await videoPlaying()) ? true : undefined), 10_000, 'the operator’s video to play')
    expect(await videoPlaying(), 'the operator’s video is playing').toBe(true)
    await expectAccessible(page)
    await screenshot(page, 'member-live-video-call')

    // The page works from the keyboard alone, with the focus visible: mute, camera, the device choices, hang-up.
    await page.locator('h1').click()
    await tabTo(page, /Mute microphone/)
    expect(await focusVisible(page)).toBe(true)
    await page.keyboard.press('Space')
    await page.getByRole('button', { name: 'Unmute microphone' }).waitFor()
    await page.keyboard.press('Enter')
    await page.getByRole('button', { name: 'Mute microphone' }).waitFor()
    await tabTo(page, /Turn camera off/)
    expect(await focusVisible(page)).toBe(true)
    await tabTo(page, /Microphone/)
    await expect(page.evaluate(() => document.activeElement?.tagName)).resolves.toBe('SELECT')
    expect(await focusVisible(page)).toBe(true)
    await tabTo(page, /Camera/)
    await expect(page.evaluate(() => document.activeElement?.tagName)).resolves.toBe('SELECT')
    await tabTo(page, /Hang up/)
    expect(await focusVisible(page)).toBe(true)

    // Another microphone: the page switches the track to it, and the member's audio keeps flowing.
    const microphones = page.getByRole('combobox', { name: 'Microphone' })
    const choices = await microphones.locator('option').evaluateAll((options) => options.map((option) => (option as HTMLOptionElement).value))
    expect(choices.length, 'Chromium’s fake devices offer several microphones').toBeGreaterThan(1)
    const current = await microphones.inputValue()
    const next = choices.find((value) => value !== current)!
    await microphones.selectOption(next)
    await eventually(async () => ((await microphones.inputValue()) === next ? true : undefined), 10_000, 'the microphone to switch')
    const beforeSwitch = (await readMediaStats(page)).outbound.audio
    await eventually(async () => ((await readMediaStats(page)).outbound.audio > beforeSwitch ? true : undefined), 10_000, 'audio from the new microphone')

    // On a phone: nothing scrolls sideways, the video fits the screen.
    await page.setViewportSize({ width: 375, height: 740 })
    await expectNoHorizontalScroll(page)
    const videoWidth = await page.getByTestId('other-video').evaluate((video) => video.getBoundingClientRect().width)
    expect(videoWidth).toBeGreaterThan(200)
    expect(videoWidth).toBeLessThanOrEqual(375)
    await page.setViewportSize({ width: 1280, height: 800 })

    // Past the first period, the member hangs up from the page (Enter on the focused button).
    const connected = await stack.db.call.findUniqueOrThrow({ where: { id: callId } })
    await sleep(Math.max(0, connected.startedAt.getTime() + PERIOD_MS + 500 - Date.now()))
    await page.getByRole('button', { name: 'Hang up' }).focus()
    await page.keyboard.press('Enter')
    const ended = page.getByTestId('ended')
    await ended.waitFor({ timeout: 30_000 })

    // The charge is the recomputation from the moment both were connected (the later join LiveKit reported) to the end.
    const row = await stack.db.call.findUniqueOrThrow({ where: { id: callId } })
    expect(row).toMatchObject({ status: 'settled', endReason: 'member_hangup', channel: 'video' })
    expect(row.memberJoinedAt).not.toBeNull()
    expect(row.operatorJoinedAt).not.toBeNull()
    const bothJoinedMs = Math.max(row.memberJoinedAt!.getTime(), row.operatorJoinedAt!.getTime(), row.acceptedAt!.getTime())
    expect(row.startedAt.getTime()).toBe(bothJoinedMs)
    const billed = billablePeriods(row.endedAt!.getTime() - row.startedAt.getTime(), { periodMs: row.periodMs, graceMs: row.graceMs }, Number.MAX_SAFE_INTEGER)
    expect(billed).toBeGreaterThanOrEqual(2)
    expect(row.billedMinutes).toBe(billed)
    expect(Number(row.chargedCents)).toBe(billed * RATE_CENTS)
    const dollars = `$${Math.floor((billed * RATE_CENTS) / 100)}.${String((billed * RATE_CENTS) % 100).padStart(2, '0')}`
    await expect(ended.textContent()).resolves.toBe(`You hung up. You paid ${dollars} for ${billed} minutes.`)
    expect((await walletBalance(stack.db, member.id))?.availableCents).toBe(5_000 - billed * RATE_CENTS)

    // The room is gone: no media arrives any more, and the page shows the end, not an error.
    await eventually(async () => ((await readMediaStats(page)).open === 0 ? true : undefined), 10_000, 'the member’s peer connections to close')
    expect(await page.getByRole('button', { name: 'Rejoin the call' }).count()).toBe(0)
    await expectAccessible(page)
    await screenshot(page, 'member-call-ended')
  })

  it('carries an audio call with the operator’s card; when the operator leaves, the page shows the end, not an error', { timeout: 120_000 }, async () => {
    const operator = await onlineOperator(streams)
    const member = await memberInBrowser({ fundedCents: 3_000 })
    const { page } = member
    await page.goto(`${stack.url}/operators/${operator.id}`)
    await Promise.all([page.waitForURL(/\/calls\/requests\//), page.getByRole('button', { name: 'Call now' }).click()])
    await expect(page.getByTestId('request-terms').textContent()).resolves.toBe('You asked for an audio call now at $1.20/min.')
    const { callId, started } = await operatorAccepts(operator, member.id)
    expect(started.channel).toBe('audio')
    await page.waitForURL(new RegExp(`/calls/${callId}$`), { timeout: 30_000 })

    // An audio call: no camera asked for, no preview, no camera controls.
    const operatorContext = await newMediaContext(browser, { origin: testPage.url })
    contexts.push(operatorContext)
    const operatorPage = await operatorContext.newPage()
    await joinRoomInPage(operatorPage, testPage, { url: started.media.url, token: started.media.token, publish: 'audio' })
    await page.getByRole('heading', { level: 1, name: `On a call with ${operator.displayName}` }).waitFor({ timeout: 30_000 })
    const card = page.getByTestId('audio-card')
    await expect(card.textContent()).resolves.toContain(operator.displayName)
    await expect(page.locator('.audio-card .initials').textContent()).resolves.toMatch(/^W.$/)
    expect(await page.getByTestId('self-view').count()).toBe(0)
    expect(await page.getByRole('button', { name: 'Turn camera off' }).count()).toBe(0)
    await page.getByRole('combobox', { name: 'Microphone' }).waitFor()
    expect(await page.getByRole('combobox', { name: 'Camera' }).count()).toBe(0)
    // The operator's voice arrives, and the member's goes out; no video either way.
    await eventually(
      async () => {
        const stats = await readMediaStats(page)
        return stats.inbound.audio > 0 && stats.outbound.audio > 0 ? stats : undefined
      },
      15_000,
      'audio both ways',
    )
    expect(await readMediaStats(page)).toMatchObject({ inbound: { video: 0 }, outbound: { video: 0 } })
    await expectAccessible(page)

    // The operator leaves the room: LiveKit says so, the platform ends the call there and closes the room.
    await operatorPage.evaluate(() => (window as unknown as { liveKitTest: { leave(): Promise<void> } }).liveKitTest.leave())
    const ended = page.getByTestId('ended')
    await ended.waitFor({ timeout: 30_000 })
    await expect(ended.textContent()).resolves.toMatch(/^The operator left the call\. You pay only up to that moment\. (Nothing was charged\.|You paid \$\d+\.\d\d for \d+ minutes?\.)$/)
    const row = await stack.db.call.findUniqueOrThrow({ where: { id: callId } })
    expect(row).toMatchObject({ status: 'settled', endReason: 'operator_left' })
    expect(row.endedAt!.getTime()).toBe(row.operatorLeftAt!.getTime())
    expect(await page.getByRole('alert').filter({ hasText: /lost|could not|Rejoin/ }).count()).toBe(0)
    await eventually(async () => ((await readMediaStats(page)).open === 0 ? true : undefined), 10_000, 'the member’s peer connections to close')
  })

  it('shows the operator’s app and handle for an outside call, holds nothing until the member says it is connected', { timeout: 120_000 }, async () => {
    const operator = await onlineOperator(streams)
    const handle = `ada#${randomUUID().slice(0, 4)}`
    expect((await call(stack.url, '/api/plugin/v1/link', { method: 'PUT', token: operator.token, json: { provider: 'discord', handle } })).status).toBe(200)
    const member = await memberInBrowser({ fundedCents: 2_000, viewport: { width: 375, height: 740 } })
    const { page } = member

    // The profile names the app, not the handle (that is for the member whose call it is).
    await page.goto(`${stack.url}/operators/${operator.id}`)
    expect(await page.content()).not.toContain(handle)
    await Promise.all([page.waitForURL(/\/calls\/requests\//), page.getByRole('button', { name: 'Call on Discord' }).click()])
    await expect(page.getByTestId('request-terms').textContent()).resolves.toBe('You asked for a call on Discord now at $1.20/min.')
    const { callId, started } = await operatorAccepts(operator, member.id)
    expect(started).toMatchObject({ channel: 'outside', media: null })

    await page.waitForURL(new RegExp(`/calls/${callId}$`), { timeout: 30_000 })
    await expect(page.getByTestId('outside-handle').textContent()).resolves.toBe(`Call ${operator.displayName} on Discord: ${handle}`)
    await page.getByTestId('connecting').waitFor()
    // No room to join, no camera asked for.
    expect(await page.getByTestId('media-phase').count()).toBe(0)
    await expectNoHorizontalScroll(page)
    await expectAccessible(page)

    // Before the member's word: connecting, nothing held, however long it takes.
    await sleep(PERIOD_MS + 500)
    expect((await call(stack.url, `/api/plugin/v1/calls/${callId}`, { token: operator.token })).body).toMatchObject({ status: 'connecting', heldCents: 0 })
    expect(await heldCents(callId)).toBe(0n)

    const pressedAt = Date.now()
    await page.getByRole('button', { name: 'We’re connected' }).click()
    await page.getByRole('heading', { level: 1, name: `On a call with ${operator.displayName}` }).waitFor({ timeout: 30_000 })
    const active = await call(stack.url, `/api/plugin/v1/calls/${callId}`, { token: operator.token })
    expect(active.body).toMatchObject({ status: 'active', channel: 'outside' })
    expect(active.body.heldCents).toBeGreaterThanOrEqual(RATE_CENTS)
    const row = await stack.db.call.findUniqueOrThrow({ where: { id: callId } })
    expect(row.startedAt.getTime()).toBe(row.memberConfirmedAt!.getTime())
    expect(row.startedAt.getTime()).toBeGreaterThanOrEqual(pressedAt - 1_000)
    await expectNoHorizontalScroll(page)
    await expectAccessible(page)

    // The call's chat (docs/decisions/065): the operator's message appears on the page as it is sent, without a reload.
    const chat = page.getByTestId('call-chat')
    await chat.getByText('No messages yet.', { exact: false }).waitFor()
    const sent = await call(stack.url, `/api/plugin/v1/calls/${callId}/messages`, { token: operator.token, json: { body: 'I am calling you on Discord now' } })
    expect(sent.status, sent.text).toBe(201)
    const fromOperator = chat.locator('[data-testid="chat-message"][data-from="operator"]')
    await fromOperator.filter({ hasText: 'I am calling you on Discord now' }).waitFor({ timeout: 15_000 })
    await expect(fromOperator.textContent()).resolves.toContain(operator.displayName)
    // The member answers from the keyboard: the field is labelled and reachable, Enter sends.
    await tabTo(page, new RegExp(`Message to ${operator.displayName}`))
    expect(await focusVisible(page)).toBe(true)
    await page.keyboard.type('Picking up, one second')
    await page.keyboard.press('Enter')
    const heard = await operator.plugin.next((event) => event.event === 'call.message' && JSON.parse(event.data).from === 'member')
    expect(JSON.parse(heard.data)).toMatchObject({ callId, from: 'member', body: 'Picking up, one second' })
    await chat.locator('[data-testid="chat-message"][data-from="member"]').filter({ hasText: 'Picking up, one second' }).waitFor()
    await expect.poll(() => page.getByLabel(`Message to ${operator.displayName}`).inputValue()).toBe('')
    // Shown once, though it came both as the form's answer and as the stream's event.
    await sleep(500)
    expect(await chat.getByTestId('chat-message').count()).toBe(2)
    // A long word wraps within the phone's width.
    await page.getByLabel(`Message to ${operator.displayName}`).fill('x'.repeat(300))
    await page.keyboard.press('Enter')
    await expect.poll(() => chat.getByTestId('chat-message').count()).toBe(3)
    await expectNoHorizontalScroll(page)
    await expectAccessible(page)
    await screenshot(page, 'member-call-chat-phone')

    const ended = await call(stack.url, `/api/plugin/v1/calls/${callId}/end`, { token: operator.token, json: { reason: 'operator_hangup' } })
    expect(ended.status).toBe(200)
    await page.getByTestId('ended').waitFor({ timeout: 30_000 })
    await expect(page.getByTestId('ended').textContent()).resolves.toContain('The operator hung up.')
    // Over: the conversation stays with the call, the field to write goes.
    await expect.poll(() => page.getByLabel(`Message to ${operator.displayName}`).count()).toBe(0)
    expect(await chat.getByTestId('chat-message').count()).toBe(3)
  })
})

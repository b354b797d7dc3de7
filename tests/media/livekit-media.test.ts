import { randomUUID } from 'node:crypto'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { AccessToken } from 'livekit-server-sdk'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createLiveKit,
  LiveKitWebhookError,
  roomNameForCall,
  type LiveKit,
  type LiveKitWebhookEvent,
} from '../../activities/media/livekit.js'
import { sleep } from '../../temporal/setup/processes.js'
import { collectWebhooks, testLiveKit, testLiveKitSettings, type ReceivedWebhook, type WebhookCollector } from '../support/livekit.js'
import {
  joinRoomInPage,
  launchMediaBrowser,
  newMediaContext,
  pageRoomState,
  readMediaStats,
  serveLiveKitTestPage,
  waitForInboundMedia,
  type LiveKitTestPage,
} from '../support/media-browser.js'

// A call as the platform will carry it: two people in two browsers, each with a token for the call's room only,
// publishing real (fake-device) audio and video through the run's LiveKit on loopback; the room closed by the server.

describe('a call carried by LiveKit, with real media on loopback', () => {
  const room = roomNameForCall(randomUUID())
  const member = `member:${randomUUID()}`
  const operator = `operator:${randomUUID()}`
  let liveKit: LiveKit
  let browser: Browser
  let testPage: LiveKitTestPage
  let webhooks: WebhookCollector
  let secondTarget: WebhookCollector
  const contexts: BrowserContext[] = []
  const pages: Record<'member' | 'operator', Page> = {} as Record<'member' | 'operator', Page>
  const otherRooms: string[] = []

  beforeAll(async () => {
    liveKit = testLiveKit()
    ;[browser, testPage, webhooks, secondTarget] = await Promise.all([launchMediaBrowser(), serveLiveKitTestPage(), collectWebhooks(), collectWebhooks()])
    await liveKit.createRoom(room, { emptyTimeout: 60, maxParticipants: 2 })
  })

  afterAll(async () => {
    for (const name of [room, ...otherRooms]) await liveKit?.deleteRoom(name)
    for (const context of contexts) await context.close()
    await browser?.close()
    await Promise.allSettled([testPage?.close(), webhooks?.close(), secondTarget?.close()])
  })

  async function openPage(): Promise<Page> {
    const context = await newMediaContext(browser, { origin: testPage.url })
    contexts.push(context)
    return context.newPage()
  }

  function joinToken(identity: string, roomName = room): Promise<string> {
    return liveKit.createJoinToken({ room: roomName, identity, name: identity.split(':')[0], ttlSeconds: 120, canPublish: true, canSubscribe: true })
  }

  /** The verified events among what a collector received (every room's: the relay forwards them all). */
  async function verifiedEvents(received: readonly ReceivedWebhook[]): Promise<LiveKitWebhookEvent[]> {
    return Promise.all(received.map((webhook) => liveKit.verifyWebhook(webhook.body, webhook.authorization)))
  }

  async function waitForEvents(collector: WebhookCollector, wanted: (events: LiveKitWebhookEvent[]) => boolean): Promise<LiveKitWebhookEvent[]> {
    const deadline = Date.now() + 15_000
    for (;;) {
      const events = (await verifiedEvents(collector.received())).filter((event) => event.roomName === room)
      if (wanted(events)) return events
      if (Date.now() > deadline) throw new Error(`the expected webhooks did not arrive; these did: ${JSON.stringify(events)}`)
      await sleep(100)
    }
  }

  it('carries audio and video both ways, and LiveKit signs a participant_joined webhook for each party', async () => {
    const startedAt = Date.now()
    pages.member = await openPage()
    pages.operator = await openPage()
    await joinRoomInPage(pages.member, testPage, { url: liveKit.url, token: await joinToken(member) })
    await joinRoomInPage(pages.operator, testPage, { url: liveKit.url, token: await joinToken(operator) })

    // Each side receives the other's audio and video, growing: media flows, not merely negotiated.
    const [memberStats, operatorStats] = await Promise.all([waitForInboundMedia(pages.member), waitForInboundMedia(pages.operator)])
    for (const stats of [memberStats, operatorStats]) {
      expect(stats.inbound.audio).toBeGreaterThan(0)
      expect(stats.inbound.video).toBeGreaterThan(0)
      expect(stats.outbound.video).toBeGreaterThan(0)
    }
    expect((await pageRoomState(pages.member)).remoteIdentities).toEqual([operator])
    expect((await pageRoomState(pages.operator)).remoteIdentities).toEqual([member])
    expect((await liveKit.listParticipants(room)).map((p) => p.identity).sort()).toEqual([member, operator].sort())

    const joinedFor = (events: LiveKitWebhookEvent[]) =>
      events.filter((event) => event.event === 'participant_joined').map((event) => event.participantIdentity)
    const events = await waitForEvents(webhooks, (got) => joinedFor(got).length >= 2)
    expect(joinedFor(events).sort()).toEqual([member, operator].sort())
    for (const event of events.filter((e) => e.event === 'participant_joined')) {
      expect(event.id).toMatch(/^EV_/)
      expect(event.roomSid).toMatch(/^RM_/)
      expect(event.participantSid).toMatch(/^PA_/)
      // LiveKit stamps whole seconds.
      expect(event.createdAt.getTime()).toBeGreaterThanOrEqual(Math.floor(startedAt / 1000) * 1000)
      expect(event.createdAt.getTime()).toBeLessThanOrEqual(Date.now())
    }
    // Every registered target gets the same deliveries, byte for byte (the signature covers the body's hash).
    await waitForEvents(secondTarget, (got) => joinedFor(got).length >= 2)
  })

  it('refuses forged webhooks: another key pair, a tampered body, a missing signature', async () => {
    const genuine = webhooks.received().find((webhook) => webhook.body.includes('participant_joined') && webhook.body.includes(room))
    expect(genuine, 'a participant_joined webhook from the first test').toBeDefined()
    const { body, authorization } = genuine!
    await expect(liveKit.verifyWebhook(body, authorization)).resolves.toMatchObject({ event: 'participant_joined', roomName: room })

    const settings = testLiveKitSettings()
    const wrongSecret = createLiveKit({ ...settings, apiSecret: `${settings.apiSecret}-not-ours` })
    await expect(wrongSecret.verifyWebhook(body, authorization)).rejects.toBeInstanceOf(LiveKitWebhookError)
    const wrongKey = createLiveKit({ ...settings, apiKey: 'another-key' })
    await expect(wrongKey.verifyWebhook(body, authorization)).rejects.toBeInstanceOf(LiveKitWebhookError)

    // The same signature on a body that says someone else joined.
    const tampered = body.replace(member, `member:${randomUUID()}`).replace(operator, `operator:${randomUUID()}`)
    expect(tampered).not.toBe(body)
    await expect(liveKit.verifyWebhook(tampered, authorization)).rejects.toThrow(/sha256|signature/)
    await expect(liveKit.verifyWebhook(body, undefined)).rejects.toBeInstanceOf(LiveKitWebhookError)
    await expect(liveKit.verifyWebhook(body, 'Bearer nonsense')).rejects.toBeInstanceOf(LiveKitWebhookError)

    // A signature made with a secret that is not LiveKit's, over the forged body's own hash.
    const forger = new AccessToken(settings.apiKey, 'a-secret-that-is-not-the-servers-0123456789', { ttl: 60 })
    forger.sha256 = Buffer.from(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(tampered))).toString('base64')
    await expect(liveKit.verifyWebhook(tampered, await forger.toJwt())).rejects.toBeInstanceOf(LiveKitWebhookError)
  })

  it('admits no one else: not another room’s token, not a token signed with another secret, not a third party', async () => {
    const intruder = await openPage()

    // A token made for another call's room takes its holder there, never into this one.
    const otherRoom = roomNameForCall(randomUUID())
    otherRooms.push(otherRoom)
    await liveKit.createRoom(otherRoom, { emptyTimeout: 30 })
    await joinRoomInPage(intruder, testPage, { url: liveKit.url, token: await joinToken('intruder:other-room', otherRoom), publish: false })
    expect((await liveKit.listParticipants(otherRoom)).map((p) => p.identity)).toEqual(['intruder:other-room'])
    expect((await pageRoomState(intruder)).remoteIdentities).toEqual([])
    await intruder.evaluate(() => (window as unknown as { liveKitTest: { leave(): Promise<void> } }).liveKitTest.leave())

    // A token for this room signed with a secret that is not the server's.
    const settings = testLiveKitSettings()
    const forged = new AccessToken(settings.apiKey, 'a-secret-that-is-not-the-servers-0123456789', { identity: 'intruder:forged', ttl: 60 })
    forged.addGrant({ roomJoin: true, room, canPublish: true, canSubscribe: true })
    const forgedPage = await openPage()
    await expect(joinRoomInPage(forgedPage, testPage, { url: liveKit.url, token: await forged.toJwt(), publish: false })).rejects.toThrow(/invalid token/)

    // A genuine token for a room the platform never created: joining does not create it.
    const neverCreated = roomNameForCall(randomUUID())
    const lostPage = await openPage()
    await expect(
      joinRoomInPage(lostPage, testPage, { url: liveKit.url, token: await joinToken('member:lost', neverCreated), publish: false }),
    ).rejects.toThrow(/room does not exist/)
    expect(await liveKit.listParticipants(neverCreated)).toEqual([])

    // A genuine token for this room, but the call has its two parties already ("room has exceeded its max
    // participants", LiveKit logs; the client only sees its signal connection refused).
    const thirdPage = await openPage()
    await expect(
      joinRoomInPage(thirdPage, testPage, { url: liveKit.url, token: await joinToken('member:third'), publish: false }),
    ).rejects.toThrow(/could not establish signal connection/)

    expect((await liveKit.listParticipants(room)).map((p) => p.identity).sort()).toEqual([member, operator].sort())
  })

  it('stops the media within a second when the platform deletes the room, and both clients are told', async () => {
    await Promise.all([waitForInboundMedia(pages.member), waitForInboundMedia(pages.operator)])
    await liveKit.deleteRoom(room)

    await sleep(1_000)
    const settled = await Promise.all([readMediaStats(pages.member), readMediaStats(pages.operator)])
    await sleep(1_000)
    const later = await Promise.all([readMediaStats(pages.member), readMediaStats(pages.operator)])
    for (const [index, page] of [pages.member, pages.operator].entries()) {
      expect(later[index]!.inbound, 'no media arrives a second after the room closed').toEqual(settled[index]!.inbound)
      expect(later[index]!.open).toBe(0)
      const state = await pageRoomState(page)
      expect(state).toMatchObject({ connected: false, disconnected: true })
      expect(state.disconnectReason).toBeDefined()
    }

    // LiveKit's account of the end: each party left, the room finished.
    const events = await waitForEvents(
      webhooks,
      (got) => got.filter((e) => e.event === 'participant_left').length >= 2 && got.some((e) => e.event === 'room_finished'),
    )
    expect(events.filter((e) => e.event === 'participant_left').map((e) => e.participantIdentity).sort()).toEqual([member, operator].sort())

    // Closing what is closed is fine: the cut-off may run twice.
    await liveKit.deleteRoom(room)
    await liveKit.removeParticipant(room, member)
    expect(await liveKit.listParticipants(room)).toEqual([])
  })
})

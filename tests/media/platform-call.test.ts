import { randomUUID } from 'node:crypto'
import { chromium, type Browser, type BrowserServer, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { walletBalance } from '../../activities/ledger/balances.js'
import { billablePeriods } from '../../workflows/billing.js'
import { mediaJoinFor } from '../../web-remix/app/calls/call-media.server.js'
import type { PlatformServices } from '../../web-remix/app/plugin-api/services.server.js'
import { DEFAULT_CHROMIUM_PATH } from '../../temporal/setup/chromium.js'
import { collectWebhooks, type WebhookCollector } from '../support/livekit.js'
import {
  joinRoomInPage,
  launchMediaBrowser,
  MEDIA_CHROMIUM_ARGS,
  newMediaContext,
  pageRoomState,
  readMediaStats,
  serveLiveKitTestPage,
  waitForInboundMedia,
  type LiveKitTestPage,
} from '../support/media-browser.js'
import { startWebStack, stopAfterLedgerCheck, type WebStack } from '../support/web-server.js'
import { askForCall, call, createMember, eventually, signedInOperator, sleep } from '../web-remix/plugin-client.js'

// Calls the platform carries (docs/decisions/060), end to end on loopback: the real web, worker, Temporal and
// PostgreSQL, the run's real LiveKit, and two Chromium processes with fake camera and microphone. The call starts when
// LiveKit's signed webhooks say both joined, is billed from that moment, and is cut off by the server: the room is
// deleted at the boundary, so the media stops whatever the clients do.

let stack: WebStack
let browser: Browser
let testPage: LiveKitTestPage
let webhooks: WebhookCollector

beforeAll(async () => {
  stack = await startWebStack()
  ;[browser, testPage, webhooks] = await Promise.all([launchMediaBrowser(), serveLiveKitTestPage(), collectWebhooks()])
}, 180_000)

afterAll(async () => {
  await browser?.close()
  await Promise.allSettled([testPage?.close(), webhooks?.close()])
  await stopAfterLedgerCheck(stack)
}, 60_000)

const services = () => ({ config: stack.config, db: stack.db }) as unknown as PlatformServices

async function openPage(on: Browser = browser): Promise<Page> {
  const context = await newMediaContext(on, { origin: testPage.url })
  return context.newPage()
}

/** The member asks for a video call, the operator accepts it (201 connecting, with a token for the room), both join. */
async function videoCall(fundedCents: number, options: { operatorBrowser?: Browser } = {}) {
  const operator = await signedInOperator(stack.db, stack.url, { ratePerMinuteCents: 100 })
  const member = await createMember(stack.db, { fundedCents })
  const callId = randomUUID()
  const requestId = await askForCall(stack.db, member, operator, { channel: 'video' })
  const started = await call(stack.url, '/api/plugin/v1/calls', { token: operator.token, json: { callId, requestId } })
  expect(started.status, started.text).toBe(201)
  expect(started.body).toMatchObject({ status: 'connecting', channel: 'video', media: { room: `call-${callId}`, identity: operator.id } })
  const memberJoin = await mediaJoinFor(services(), { id: callId, channel: 'video', status: 'connecting' }, member)
  const pages = { operator: await openPage(options.operatorBrowser), member: await openPage() }
  await joinRoomInPage(pages.operator, testPage, { url: started.body.media.url, token: started.body.media.token })
  // Nothing held while only one party is there.
  await sleep(300)
  expect((await stack.db.call.findUniqueOrThrow({ where: { id: callId } })).status).toBe('connecting')
  expect((await walletBalance(stack.db, member.id))!.pendingDebitCents).toBe(0)
  await joinRoomInPage(pages.member, testPage, { url: memberJoin!.url, token: memberJoin!.token })
  const active = await eventually(async () => {
    const row = await stack.db.call.findUniqueOrThrow({ where: { id: callId } })
    return row.status === 'active' ? row : undefined
  }, 15_000, 'the call to start when both joined')
  return { operator, member, callId, pages, active }
}

/** Samples a page's inbound bytes until `untilMs`: each sample's time, and whether they grew since the one before. */
async function sampleInbound(page: Page, untilMs: number): Promise<Array<{ at: number; grew: boolean }>> {
  const samples: Array<{ at: number; grew: boolean }> = []
  let before = await readMediaStats(page)
  while (Date.now() < untilMs) {
    await sleep(100)
    const after = await readMediaStats(page).catch(() => before)
    samples.push({ at: Date.now(), grew: after.inbound.audio > before.inbound.audio || after.inbound.video > before.inbound.video })
    before = after
  }
  return samples
}

/** Media flowed up to the boundary and stopped within a second after it, as samples close enough to tell. */
function expectStoppedAt(side: string, samples: Array<{ at: number; grew: boolean }>, boundaryMs: number) {
  const around = samples.filter((s) => s.at >= boundaryMs - 1_000 && s.at <= boundaryMs + 2_000)
  const gaps = around.slice(1).map((s, i) => s.at - around[i]!.at)
  expect(Math.max(...gaps), `${side}: samples too far apart to tell`).toBeLessThan(1_000)
  const grown = samples.filter((s) => s.grew).map((s) => s.at)
  const lastGrowth = Math.max(...grown)
  expect(lastGrowth - boundaryMs, `${side}'s inbound media went on past the boundary`).toBeLessThan(1_000)
  expect(boundaryMs - lastGrowth, `${side}'s media had stopped long before the boundary`).toBeLessThan(1_500)
}

const settled = (callId: string, timeoutMs = 30_000) =>
  eventually(async () => {
    const row = await stack.db.call.findUniqueOrThrow({ where: { id: callId } })
    return row.status === 'settled' ? row : undefined
  }, timeoutMs, `call ${callId} to settle`)

describe('a video call the platform carries', () => {
  it('starts at the later join LiveKit reported, carries media both ways, and cuts it off at the unfunded boundary', async () => {
    const { member, callId, pages, active } = await videoCall(800)
    // The start is the moment both were connected, as LiveKit's signed webhooks carried it.
    expect(active.memberJoinedAt).not.toBeNull()
    expect(active.operatorJoinedAt).not.toBeNull()
    const joinedAtMs = Math.max(active.memberJoinedAt!.getTime(), active.operatorJoinedAt!.getTime())
    expect(active.startedAt.getTime()).toBe(joinedAtMs)
    expect((await walletBalance(stack.db, member.id))!.pendingDebitCents).toBeGreaterThanOrEqual(100)

    await Promise.all([waitForInboundMedia(pages.member, { intervalMs: 200 }), waitForInboundMedia(pages.operator, { intervalMs: 200 })])
    // 800 cents at 100 a period: eight periods; the ninth cannot be held, so the call ends on its boundary.
    const boundaryMs = joinedAtMs + 8 * active.periodMs
    const [memberSide, operatorSide] = await Promise.all([sampleInbound(pages.member, boundaryMs + 3_000), sampleInbound(pages.operator, boundaryMs + 3_000)])
    const ended = await settled(callId)
    expect(ended).toMatchObject({ endReason: 'funds_exhausted', billedMinutes: 8, chargedCents: 800n })
    expect(ended.endedAt!.getTime()).toBe(boundaryMs)
    // The charge, recomputed from the join time the webhook carried and the end, by the billing rule itself.
    const settings = { periodMs: ended.periodMs, graceMs: ended.graceMs }
    expect(billablePeriods(ended.endedAt!.getTime() - joinedAtMs, settings, 8) * ended.ratePerMinuteCents).toBe(Number(ended.chargedCents))
    // The media stopped within a second of the boundary on both sides: the server deleted the room.
    expectStoppedAt('member', memberSide, boundaryMs)
    expectStoppedAt('operator', operatorSide, boundaryMs)
    for (const page of Object.values(pages)) {
      await eventually(async () => ((await pageRoomState(page)).disconnected ? true : undefined), 5_000, 'the client to see the room closed')
    }
    expect((await walletBalance(stack.db, member.id))!).toMatchObject({ availableCents: 0, pendingDebitCents: 0 })
  })

  it('ends when a party leaves, billed to the moment LiveKit saw them go', async () => {
    const { callId, pages } = await videoCall(10_000)
    await waitForInboundMedia(pages.operator)
    await sleep(1_300)
    // The member closes their page.
    await pages.member.context().close()
    const ended = await settled(callId)
    expect(ended.endReason).toBe('member_left')
    expect(ended.memberLeftAt).not.toBeNull()
    expect(ended.endedAt!.getTime()).toBe(ended.memberLeftAt!.getTime())
    const elapsed = ended.endedAt!.getTime() - ended.startedAt.getTime()
    expect(ended.billedMinutes).toBe(billablePeriods(elapsed, { periodMs: ended.periodMs, graceMs: ended.graceMs }, Number.MAX_SAFE_INTEGER))
    expect(ended.chargedCents).toBe(BigInt(ended.billedMinutes! * 100))
    await eventually(async () => ((await pageRoomState(pages.operator)).disconnected ? true : undefined), 5_000, 'the operator to be disconnected')
  })

  it("ends when the operator's plugin process is killed, billed to when LiveKit saw it leave", async () => {
    // The operator's window in a Chromium process of its own, killed with SIGKILL mid-call.
    const server: BrowserServer = await chromium.launchServer({
      executablePath: process.env.CHROMIUM_PATH || DEFAULT_CHROMIUM_PATH,
      args: [...MEDIA_CHROMIUM_ARGS],
      headless: true,
    })
    const operatorBrowser = await chromium.connect(server.wsEndpoint())
    const { callId, pages } = await videoCall(10_000, { operatorBrowser })
    await waitForInboundMedia(pages.member)
    await sleep(1_200)
    const killedAt = Date.now()
    server.process().kill('SIGKILL')
    const ended = await settled(callId, 60_000)
    expect(ended.endReason).toBe('operator_left')
    expect(ended.endedAt!.getTime()).toBe(ended.operatorLeftAt!.getTime())
    // LiveKit noticed after the process died; the bill runs to that moment, not to whenever a plugin might say so.
    expect(ended.endedAt!.getTime()).toBeGreaterThanOrEqual(Math.floor(killedAt / 1000) * 1000)
    const elapsed = ended.endedAt!.getTime() - ended.startedAt.getTime()
    expect(ended.billedMinutes).toBe(billablePeriods(elapsed, { periodMs: ended.periodMs, graceMs: ended.graceMs }, Number.MAX_SAFE_INTEGER))
    await operatorBrowser.close().catch(() => undefined)
    await server.close().catch(() => undefined)
  })
})

describe("LiveKit's webhooks", () => {
  it('refuse a forged one with 401 and ignore a replayed one: neither starts, ends or changes a call', async () => {
    const { operator, callId, pages, active } = await videoCall(10_000)
    const joins = await webhooks.waitFor((received) => {
      const mine = received.filter((w) => w.body.includes(callId) && w.body.includes('participant_joined'))
      return mine.length >= 2 ? mine : undefined
    }, 10_000)
    const post = (body: string, authorization?: string) =>
      fetch(`${stack.url}/webhooks/livekit`, {
        method: 'POST',
        headers: { 'content-type': 'application/webhook+json', ...(authorization ? { authorization } : {}) },
        body,
      })
    // A real event replayed (the same event id): acknowledged, changes nothing.
    const replay = await post(joins[0]!.body, joins[0]!.authorization)
    expect(replay.status).toBe(200)
    expect(await replay.json()).toMatchObject({ applied: false, outcome: 'replayed' })
    // Forged: a participant_left for this call, unsigned, signed with another secret, or with the body changed.
    const left = joins[0]!.body.replace('participant_joined', 'participant_left')
    expect((await post(left)).status).toBe(401)
    expect((await post(left, joins[0]!.authorization)).status).toBe(401)
    const { AccessToken } = await import('livekit-server-sdk')
    const forger = new AccessToken(stack.config.LIVEKIT_API_KEY, 'not-our-secret-but-long-enough-to-sign-0123', {})
    expect((await post(left, `Bearer ${await forger.toJwt()}`)).status).toBe(401)
    await sleep(500)
    const row = await stack.db.call.findUniqueOrThrow({ where: { id: callId } })
    expect(row).toMatchObject({ status: 'active', startedAt: active.startedAt, memberLeftAt: null, operatorLeftAt: null })
    // The operator hangs up through the plugin API: the call settles and the room goes, so both are disconnected.
    const end = await call(stack.url, `/api/plugin/v1/calls/${callId}/end`, { token: operator.token, json: { reason: 'operator_hangup' } })
    expect(end.status, end.text).toBe(200)
    expect(end.body).toMatchObject({ status: 'settled', endReason: 'operator_hangup' })
    for (const page of Object.values(pages)) {
      await eventually(async () => ((await pageRoomState(page)).disconnected ? true : undefined), 5_000, 'the room to be closed')
    }
  })
})

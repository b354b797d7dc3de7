import { randomBytes, randomUUID } from 'node:crypto'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { walletBalance } from '../../activities/ledger/balances.js'
import { freePort } from '../../temporal/setup/dev-server.js'
import { startLiveKit, type LiveKitServer } from '../../temporal/setup/livekit.js'
import { billablePeriods } from '../../workflows/billing.js'
import { mediaJoinFor } from '../../web-remix/app/calls/call-media.server.js'
import type { PlatformServices } from '../../web-remix/app/plugin-api/services.server.js'
import { joinRoomInPage, launchMediaBrowser, newMediaContext, serveLiveKitTestPage, waitForInboundMedia, type LiveKitTestPage } from '../support/media-browser.js'
import { startWebStack, stopAfterLedgerCheck, type WebStack } from '../support/web-server.js'
import { askForCall, call, createMember, eventually, signedInOperator, sleep } from '../web-remix/plugin-client.js'

// A fault drill: the media server itself dies mid-call. No webhook will ever say anyone left; what the platform knows
// is what its media monitor last saw. The calls must end, billed to the last moment both were known connected, and
// nothing may be lost or charged twice (the ledger check at the end).
//
// This stack has a LiveKit of its own (the run's shared one must survive), started after the web so its webhooks go
// straight to this web server.

const API_KEY = 'drill-key'
const API_SECRET = randomBytes(32).toString('base64url')
const MEDIA_SCAN_MS = 500
const MEDIA_LOST_AFTER_MS = 3_000

let stack: WebStack
let liveKit: LiveKitServer
let browser: Browser
let testPage: LiveKitTestPage

beforeAll(async () => {
  const port = await freePort()
  const url = `ws://127.0.0.1:${port}`
  stack = await startWebStack({
    env: {
      LIVEKIT_URL: url,
      LIVEKIT_API_URL: `http://127.0.0.1:${port}`,
      LIVEKIT_API_KEY: API_KEY,
      LIVEKIT_API_SECRET: API_SECRET,
      MEDIA_SCAN_MS: String(MEDIA_SCAN_MS),
      MEDIA_LOST_AFTER_MS: String(MEDIA_LOST_AFTER_MS),
      HEARTBEAT_SCAN_MS: '250',
    },
  })
  liveKit = await startLiveKit({
    serverPath: inject('liveKitServerPath'),
    apiKey: API_KEY,
    apiSecret: API_SECRET,
    port,
    webhookUrls: [`${stack.url}/webhooks/livekit`],
    log: () => undefined,
  })
  ;[browser, testPage] = await Promise.all([launchMediaBrowser(), serveLiveKitTestPage()])
}, 180_000)

afterAll(async () => {
  await browser?.close()
  await testPage?.close()
  await liveKit?.stop()
  await stopAfterLedgerCheck(stack)
}, 90_000)

async function page(): Promise<Page> {
  return (await newMediaContext(browser, { origin: testPage.url })).newPage()
}

async function runningVideoCall() {
  const operator = await signedInOperator(stack.db, stack.url, { ratePerMinuteCents: 100 })
  const member = await createMember(stack.db, { fundedCents: 10_000 })
  const callId = randomUUID()
  const requestId = await askForCall(stack.db, member, operator, { channel: 'video' })
  const started = await call(stack.url, '/api/plugin/v1/calls', { token: operator.token, json: { callId, requestId } })
  expect(started.status, started.text).toBe(201)
  const services = { config: stack.config, db: stack.db } as unknown as PlatformServices
  const memberJoin = await mediaJoinFor(services, { id: callId, channel: 'video', status: 'connecting' }, member)
  const pages = [await page(), await page()] as const
  await joinRoomInPage(pages[0], testPage, { url: started.body.media.url, token: started.body.media.token })
  await joinRoomInPage(pages[1], testPage, { url: memberJoin!.url, token: memberJoin!.token })
  await eventually(async () => ((await stack.db.call.findUniqueOrThrow({ where: { id: callId } })).status === 'active' ? true : undefined), 15_000, 'the call to start')
  await Promise.all(pages.map((p) => waitForInboundMedia(p)))
  return { member, callId }
}

describe('LiveKit killed mid-call', () => {
  it('ends every call, billed to the last moment both parties were known connected, nothing lost or charged twice', async () => {
    const calls = [await runningVideoCall(), await runningVideoCall()]
    // Long enough that the media monitor has seen both parties a few times.
    await sleep(2_000)
    const killedAt = Date.now()
    process.kill(liveKit.pid, 'SIGKILL')
    await liveKit.exited

    for (const { member, callId } of calls) {
      const ended = await eventually(async () => {
        const row = await stack.db.call.findUniqueOrThrow({ where: { id: callId } })
        return row.status === 'settled' ? row : undefined
      }, 60_000, `call ${callId} to settle`)
      expect(ended.endReason).toBe('heartbeat_lost')
      // The last moment the monitor saw both in the room: never after the kill, and a recent scan (scans are
      // MEDIA_SCAN_MS apart on a quiet machine, seconds apart on a loaded one).
      const endedAt = ended.endedAt!.getTime()
      expect(endedAt).toBe(ended.lastHeartbeatAt.getTime())
      expect(endedAt).toBeLessThanOrEqual(killedAt)
      expect(endedAt).toBeGreaterThan(ended.startedAt.getTime())
      expect(killedAt - endedAt).toBeLessThan(10_000)
      const elapsed = endedAt - ended.startedAt.getTime()
      expect(ended.billedMinutes).toBe(billablePeriods(elapsed, { periodMs: ended.periodMs, graceMs: ended.graceMs }, Number.MAX_SAFE_INTEGER))
      expect(ended.chargedCents).toBe(BigInt(ended.billedMinutes! * ended.ratePerMinuteCents))
      // Nothing held any more: the periods reached after the last sighting were released, not charged.
      expect((await walletBalance(stack.db, member.id))!).toMatchObject({ pendingDebitCents: 0, availableCents: 10_000 - Number(ended.chargedCents) })
      expect(await stack.db.transfer.count({ where: { callId, status: 'pending' } })).toBe(0)
    }
  })
})

import { randomUUID } from 'node:crypto'
import type { Browser, BrowserContext } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createUser } from '../../activities/identity/users.js'
import { walletBalance } from '../../activities/ledger/balances.js'
import { expectAccessible, logInThroughForm, newContext } from '../support/browser.js'
import { testLiveKit } from '../support/livekit.js'
import { joinRoomInPage, launchMediaBrowser, newMediaContext, serveLiveKitTestPage, type LiveKitTestPage } from '../support/media-browser.js'
import { startWebStack, stopAfterLedgerCheck, type WebStack } from '../support/web-server.js'
import { call, eventually, fund, openEvents, PASSWORD, signedInOperator } from '../web-remix/plugin-client.js'

// A member whose browser refuses the camera and microphone (Chromium's prompt answering "Block"): the page says so
// and offers to try again or to join with audio only, never joins the room, and the call ends by itself when the
// connection deadline passes, with nothing held and nothing charged, though the operator was in the room all along.

// Long enough for the page, its accessibility check and both retries on a loaded machine before the deadline ends
// the call (at 8 s a full run once reached the deadline before "Try again" was pressed).
const CONNECT_TIMEOUT_MS = 20_000

let stack: WebStack
let denyingBrowser: Browser
let operatorBrowser: Browser
let testPage: LiveKitTestPage
const contexts: BrowserContext[] = []

beforeAll(async () => {
  ;[stack, denyingBrowser, operatorBrowser, testPage] = await Promise.all([
    startWebStack({ env: { CALL_CONNECT_TIMEOUT_MS: String(CONNECT_TIMEOUT_MS), BILLING_PERIOD_MS: '2000', GRACE_MS: '500' } }),
    launchMediaBrowser({ denyMediaPermission: true }),
    launchMediaBrowser(),
    serveLiveKitTestPage(),
  ])
})
afterAll(async () => {
  for (const context of contexts) await context.close()
  await Promise.allSettled([denyingBrowser?.close(), operatorBrowser?.close(), testPage?.close()])
  await stopAfterLedgerCheck(stack)
})

describe('a member whose browser refuses the camera and microphone', () => {
  it('is told so, can try again or go audio-only, and the call ends unconnected with nothing charged', { timeout: 120_000 }, async () => {
    const operator = await signedInOperator(stack.db, stack.url, { ratePerMinuteCents: 100 })
    expect((await call(stack.url, '/api/plugin/v1/presence', { token: operator.token, json: { status: 'online' } })).status).toBe(204)
    const plugin = await openEvents(stack.url, operator.token)
    const email = `denied-${randomUUID().slice(0, 8)}@example.test`
    const member = await createUser(stack.db, { role: 'member', email, password: PASSWORD, displayName: 'Dee Nied', emailVerified: true })
    await fund(stack.db, member.id, 1_000)
    try {
      const context = await newContext(denyingBrowser)
      contexts.push(context)
      const page = await context.newPage()
      await logInThroughForm(page, stack.url, email, PASSWORD)
      await page.goto(`${stack.url}/operators/${operator.id}`)
      await Promise.all([page.waitForURL(/\/calls\/requests\//), page.getByRole('button', { name: 'Video call' }).click()])

      const requested = JSON.parse((await plugin.next((event) => event.event === 'call.requested')).data)
      const callId = randomUUID()
      const started = await call(stack.url, '/api/plugin/v1/calls', { token: operator.token, json: { callId, requestId: requested.requestId } })
      expect(started.status).toBe(201)
      // The operator is in the room, ready.
      const operatorContext = await newMediaContext(operatorBrowser, { origin: testPage.url })
      contexts.push(operatorContext)
      await joinRoomInPage(await operatorContext.newPage(), testPage, { url: started.body.media.url, token: started.body.media.token })

      await page.waitForURL(new RegExp(`/calls/${callId}$`), { timeout: 30_000 })
      const blocked = page.getByTestId('media-blocked')
      await blocked.waitFor({ timeout: 20_000 })
      await expect(blocked.textContent()).resolves.toContain('Your browser did not allow this page to use your camera and microphone.')
      await expect(blocked.textContent()).resolves.toContain('nothing is charged')
      await expectAccessible(page)

      // Trying again and going audio-only meet the same refusal (the microphone is blocked too): still not in the room.
      await page.getByRole('button', { name: 'Try again' }).click()
      await blocked.waitFor()
      await page.getByRole('button', { name: 'Join with audio only' }).click()
      await expect(blocked.textContent()).resolves.toContain('use your microphone.')
      expect(await page.getByRole('button', { name: 'Join with audio only' }).count()).toBe(0)
      expect((await testLiveKit().listParticipants(started.body.media.room)).map((p) => p.identity)).toEqual([operator.id])
      expect((await stack.db.call.findUniqueOrThrow({ where: { id: callId } })).status).toBe('connecting')

      // The deadline passes: the call ends unconnected, and the page says so.
      const ended = page.getByTestId('ended')
      await ended.waitFor({ timeout: CONNECT_TIMEOUT_MS + 20_000 })
      await expect(ended.textContent()).resolves.toBe('The call did not connect in time, so it never started. Nothing was charged.')
      const row = await eventually(async () => {
        const current = await stack.db.call.findUniqueOrThrow({ where: { id: callId } })
        return current.status === 'settled' ? current : undefined
      })
      expect(row).toMatchObject({ endReason: 'not_connected', billedMinutes: 0, memberJoinedAt: null })
      expect(Number(row.chargedCents)).toBe(0)
      expect(await stack.db.transfer.count({ where: { callId } })).toBe(0)
      expect((await walletBalance(stack.db, member.id))?.availableCents).toBe(1_000)
      await expectAccessible(page)
    } finally {
      plugin.close()
    }
  })
})

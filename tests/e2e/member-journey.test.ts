import { randomUUID } from 'node:crypto'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { walletBalance } from '../../activities/ledger/balances.js'
import { expectAccessible, expectNoHorizontalScroll, launchBrowser, logInThroughForm, newContext, PHONE, screenshot } from '../support/browser.js'
import { payWith, startTopUp, topUpStatusShown } from '../support/top-up-in-browser.js'
import { startWebStack, stopAfterLedgerCheck, type WebStack } from '../support/web-server.js'
import { call, signedInOperator } from '../web-remix/plugin-client.js'

// The member's whole journey in Chromium against the real web server, worker, Temporal dev server and database:
// sign up, confirm the address from the outbox, top up with a test card, ask an operator for a call on their Discord
// (the operator's side driven through the plugin API as the plugin would), say it is connected, see the low-balance
// warning arrive in the page, top up in another tab while the call goes on, see the call end with the right amount in
// history, and rate it. (A video call in the platform's room: tests/e2e/member-live-call.test.ts.)
//
// Billing runs on a short clock with the production rules: 6-s periods at $2.00, and the warning when fewer than
// three more periods are funded. $10.00 funds five periods, so the warning comes at the third hold (about 12 s in)
// and the money would run out at the sixth boundary (30 s): time enough to top up in a second tab.

const RATE_CENTS = 200
const PERIOD_MS = 6_000

let stack: WebStack
let browser: Browser
beforeAll(async () => {
  ;[stack, browser] = await Promise.all([
    startWebStack({ env: { BILLING_PERIOD_MS: String(PERIOD_MS), LOW_BALANCE_PERIODS: '3', GRACE_MS: '1000' } }),
    launchBrowser(),
  ])
})
afterAll(async () => {
  await browser?.close()
  await stopAfterLedgerCheck(stack)
})

describe("a member's journey", () => {
  it('signs up, tops up, calls, keeps the call going with a top-up, sees it in history and rates it', { timeout: 420_000 }, async () => {
    const operator = await signedInOperator(stack.db, stack.url, { ratePerMinuteCents: RATE_CENTS })
    expect((await call(stack.url, '/api/plugin/v1/presence', { token: operator.token, json: { status: 'online' } })).status).toBe(204)
    // The operator also takes calls on Discord: this member calls them there.
    const handle = `journey-op-${randomUUID().slice(0, 6)}`
    expect((await call(stack.url, '/api/plugin/v1/link', { method: 'PUT', token: operator.token, json: { provider: 'discord', handle } })).status).toBe(200)

    const context = await newContext(browser, { viewport: PHONE })
    const page = await context.newPage()
    const email = `journey-${randomUUID().slice(0, 8)}@example.test`

    // Sign up and confirm the address from the outbox (the development mailbox).
    await page.goto(`${stack.url}/signup`)
    await page.getByLabel('Your name as others see it').fill('Jo Journey')
    await page.getByLabel('E-mail address').fill(email)
    await page.getByLabel('Password').fill('journey password')
    await page.getByRole('button', { name: 'Create my account' }).click()
    await page.getByRole('heading', { level: 1, name: 'Check your mail' }).waitFor()
    await page.goto(`${stack.url}/dev/mailbox?to=${encodeURIComponent(email)}`)
    await page.getByRole('link', { name: 'Confirm your e-mail address' }).click()
    await page.getByRole('link', { name: /verify-email/ }).click()
    await page.getByRole('heading', { level: 1, name: 'Address confirmed' }).waitFor()
    await logInThroughForm(page, stack.url, email, 'journey password')
    const member = await stack.db.user.findUniqueOrThrow({ where: { email } })

    // Top up $10.00 with the approving test card.
    await startTopUp(page, stack.url, { other: '10.00' })
    await payWith(page, '4242 4242 4242 4242')
    await topUpStatusShown(page, 'succeeded')
    await page.goto(`${stack.url}/wallet`)
    await screenshot(page, 'wallet')

    // The listing and the profile; "Call on Discord" asks the operator.
    await page.goto(stack.url)
    await page.locator(`[data-operator-id="${operator.id}"]`).waitFor()
    await screenshot(page, 'listing')
    await page.goto(`${stack.url}/operators/${operator.id}`)
    await expectAccessible(page)
    await screenshot(page, 'profile')
    const plugin = await import('../web-remix/plugin-client.js').then((client) => client.openEvents(stack.url, operator.token))
    try {
      await Promise.all([page.waitForURL(/\/calls\/requests\//), page.getByRole('button', { name: 'Call on Discord' }).click()])
      await page.getByText('sees your request in their app').waitFor()
      await expectAccessible(page)

      // The operator's plugin sees the request and starts the call.
      const requested = JSON.parse((await plugin.next((event) => event.event === 'call.requested')).data)
      expect(requested.memberId).toBe(member.id)
      const callId = randomUUID()
      const started = await call(stack.url, '/api/plugin/v1/calls', {
        token: operator.token,
        json: { callId, memberId: member.id, mode: 'per_minute', requestId: requested.requestId },
      })
      expect(started.status).toBe(201)
      const heartbeats = setInterval(() => void call(stack.url, `/api/plugin/v1/calls/${callId}/heartbeat`, { token: operator.token, method: 'POST' }), 2_000)
      try {
        // The waiting page follows to the call by itself; it shows where to call, and the meter starts when the
        // member says they are connected.
        await page.waitForURL(new RegExp(`/calls/${callId}$`), { timeout: 30_000 })
        await expect(page.getByTestId('outside-handle').textContent()).resolves.toBe(`Call ${operator.displayName} on Discord: ${handle}`)
        await page.getByRole('button', { name: 'We’re connected' }).click()
        await page.getByRole('heading', { level: 1, name: `On a call with ${operator.displayName}` }).waitFor({ timeout: 30_000 })

        // The warning arrives in the page when the workflow raises it, with its top-up button.
        await page.getByTestId('low-balance').waitFor({ timeout: 60_000 })
        await expectAccessible(page)
        await expectNoHorizontalScroll(page)
        await screenshot(page, 'live-call')
        const [topUpTab] = await Promise.all([context.waitForEvent('page'), page.getByRole('link', { name: /Top up now/ }).click()])

        // Top up in the other tab; the call goes on and the warning clears.
        await startTopUp(topUpTab, stack.url, { other: '10.00' })
        await payWith(topUpTab, '4242 4242 4242 4242')
        await topUpStatusShown(topUpTab, 'succeeded')
        await topUpTab.close()
        await page.getByTestId('low-balance').waitFor({ state: 'detached', timeout: 30_000 })
        // Past the boundary where the first $10.00 would have run out, the call is still on.
        const fundedUntil = started.body.fundedMinutes * PERIOD_MS
        const callRow = await stack.db.call.findUniqueOrThrow({ where: { id: callId } })
        const wait = callRow.startedAt.getTime() + fundedUntil + PERIOD_MS / 2 - Date.now()
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
        expect((await stack.db.call.findUniqueOrThrow({ where: { id: callId } })).status).toBe('active')
        expect(await page.getByTestId('ended').count()).toBe(0)
      } finally {
        clearInterval(heartbeats)
      }

      // The operator hangs up; the page shows the settled amount.
      const ended = await call(stack.url, `/api/plugin/v1/calls/${callId}/end`, { token: operator.token, json: { reason: 'operator_hangup' } })
      expect(ended.status).toBe(200)
      const { billedMinutes, chargedCents } = ended.body
      expect(billedMinutes).toBeGreaterThan(started.body.fundedMinutes)
      expect(chargedCents).toBe(billedMinutes * RATE_CENTS)
      const settledText = page.getByTestId('ended')
      await settledText.waitFor({ timeout: 30_000 })
      const dollars = `$${Math.floor(chargedCents / 100)}.${String(chargedCents % 100).padStart(2, '0')}`
      await expect(settledText.textContent()).resolves.toContain(`You paid ${dollars} for ${billedMinutes} minutes.`)
      expect((await walletBalance(stack.db, member.id))?.availableCents).toBe(2_000 - chargedCents)

      // History shows it with the amount; the member rates the call.
      await page.goto(`${stack.url}/calls`)
      const row = page.locator(`[data-call-id="${callId}"]`)
      await expect(row.textContent()).resolves.toContain(dollars)
      await expectAccessible(page)
      await screenshot(page, 'history')
      await page.goto(`${stack.url}/calls/${callId}`)
      await page.getByRole('radio', { name: '5 stars' }).check()
      await page.getByLabel(/Comment/).fill('Clear and kind.')
      await page.getByRole('button', { name: 'Send rating' }).click()
      await page.getByText('you rated this call 5 out of 5').waitFor()
      const rating = await stack.db.rating.findUniqueOrThrow({ where: { callId } })
      expect(rating).toMatchObject({ stars: 5, comment: 'Clear and kind.', memberId: member.id, operatorId: operator.id })
    } finally {
      plugin.close()
    }
    await context.close()
  })
})

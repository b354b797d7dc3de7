import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { checkLedger } from '../../activities/ledger/check.js'
import { walletBalance } from '../../activities/ledger/balances.js'
import { expectAccessible, expectNoHorizontalScroll, launchBrowser, logInThroughForm, newContext, PHONE, screenshot } from '../support/browser.js'
import { createMember } from '../support/db.js'
import { payWith, startTopUp, topUpStatusShown } from '../support/top-up-in-browser.js'
import { startWebStack, stopAfterLedgerCheck, type WebStack } from '../support/web-server.js'

// A member tops up in a real browser, on a phone-sized screen, with each of the sandbox's test cards: the wallet
// form, the provider's hosted page (and its second step), the return and the status page, against the real web
// server, worker, Temporal and database.

let stack: WebStack
let browser: Browser
beforeAll(async () => {
  ;[stack, browser] = await Promise.all([startWebStack(), launchBrowser()])
})
afterAll(async () => {
  await browser?.close()
  await stopAfterLedgerCheck(stack)
})

async function verifiedMember() {
  const member = await createMember(stack.db)
  await stack.db.user.update({ where: { id: member.id }, data: { emailVerifiedAt: new Date() } })
  return member
}

describe('topping up in the browser', () => {
  it('with the approving card, the 3-D-Secure card and the declining card', async () => {
    const member = await verifiedMember()
    const context = await newContext(browser, { viewport: PHONE })
    const page = await context.newPage()
    await logInThroughForm(page, stack.url, member.email, 'correct-horse')

    await page.goto(`${stack.url}/wallet`)
    await expectAccessible(page)
    await expectNoHorizontalScroll(page)

    // The approving card.
    await startTopUp(page, stack.url, { preset: '$25.00' })
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe('Pay perminute')
    await expect(page.locator('body').textContent()).resolves.toContain('4242 4242 4242 4242')
    await expectAccessible(page)
    await expectNoHorizontalScroll(page)
    await screenshot(page, 'sandbox-pay')
    await payWith(page, '4242 4242 4242 4242')
    await topUpStatusShown(page, 'succeeded')
    await expect(page.locator('[data-status]').textContent()).resolves.toContain('$25.00 was added to your wallet')
    await expectAccessible(page)
    await expectNoHorizontalScroll(page)

    // The card that needs a second step.
    await startTopUp(page, stack.url, { other: '12.50' })
    await payWith(page, '4000 0000 0000 3220')
    await page.waitForURL(/\/authenticate$/)
    await expectAccessible(page)
    await expectNoHorizontalScroll(page)
    await page.getByRole('button', { name: 'Confirm payment' }).click()
    await topUpStatusShown(page, 'succeeded')
    await expect(page.locator('[data-status]').textContent()).resolves.toContain('$12.50 was added to your wallet')

    // The declining card: nothing changes.
    const before = (await walletBalance(stack.db, member.id))!
    await startTopUp(page, stack.url, { preset: '$10.00' })
    await payWith(page, '4000 0000 0000 0002')
    await topUpStatusShown(page, 'declined')
    await expect(page.locator('[data-status]').textContent()).resolves.toContain('Nothing was charged')
    await expectAccessible(page)
    expect(await walletBalance(stack.db, member.id)).toEqual(before)
    expect(before.availableCents).toBe(3_750)

    await page.goto(`${stack.url}/wallet`)
    await expect(page.getByTestId('available').textContent()).resolves.toBe('$37.50')
    await expectAccessible(page)
    await expectNoHorizontalScroll(page)
    await screenshot(page, 'wallet')

    await page.goto(`${stack.url}/wallet/history`)
    await expect(page.locator('table.movements tbody tr').count()).resolves.toBe(2)
    await expectAccessible(page)
    await expectNoHorizontalScroll(page)
    expect((await checkLedger(stack.db)).violations).toEqual([])
    await context.close()
  }, 240_000)

  it('works without JavaScript: plain forms, and the status page checked again by a link', async () => {
    const member = await verifiedMember()
    const context = await newContext(browser, { viewport: PHONE, javaScriptEnabled: false })
    const page = await context.newPage()
    await logInThroughForm(page, stack.url, member.email, 'correct-horse')
    await page.goto(`${stack.url}/wallet`)
    await page.getByRole('radio', { name: 'Other amount' }).check()
    await page.getByLabel('Other amount, in dollars').fill('7')
    await Promise.all([page.waitForURL(/\/sandbox-pay\/checkout\//), page.getByRole('button', { name: 'Continue to payment' }).click()])
    await payWith(page, '4242424242424242')
    await page.waitForURL(/\/wallet\/topups\/[0-9a-f-]+\?returned=1$/)
    for (let attempt = 0; attempt < 60 && (await page.locator('[data-status="succeeded"]').count()) === 0; attempt++) {
      await page.waitForTimeout(500)
      if ((await page.getByRole('link', { name: 'Check again' }).count()) > 0) await page.getByRole('link', { name: 'Check again' }).click()
    }
    await expect(page.locator('[data-status]').textContent()).resolves.toContain('$7.00 was added to your wallet')
    expect((await walletBalance(stack.db, member.id))!.availableCents).toBe(700)
    await context.close()
  }, 120_000)
})

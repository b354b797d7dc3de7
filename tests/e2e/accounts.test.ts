import { randomUUID } from 'node:crypto'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  expectAccessible,
  expectNoHorizontalScroll,
  launchBrowser,
  logInThroughForm,
  newContext,
  PHONE,
  screenshot,
} from '../support/browser.js'
import { MAX_MAILS_PER_RECIPIENT } from '../../web-remix/app/auth/throttle.server.js'
import { ownAddress } from '../support/portal-client.js'
import { startWebStack, stopAfterLedgerCheck, type WebStack } from '../support/web-server.js'

// The server trusts X-Forwarded-For from loopback (TRUST_PROXY) and each browser sends an address of its own, so the
// throttles per address count only what that browser sends, not every other test file's forms on the same database.
describe('accounts in a real browser', () => {
  let stack: WebStack
  let browser: Browser
  beforeAll(async () => {
    ;[stack, browser] = await Promise.all([startWebStack({ worker: false, env: { TRUST_PROXY: 'loopback' } }), launchBrowser()])
  })
  afterAll(async () => {
    await browser?.close()
    await stopAfterLedgerCheck(stack)
  })

  it('signs a member up on a phone, confirms the address from the mailbox, logs out and back in', { timeout: 180_000 }, async () => {
    const context = await newContext(browser, { viewport: PHONE, headers: ownAddress() })
    const page = await context.newPage()
    const email = `browser-${randomUUID().slice(0, 8)}@example.test`

    await page.goto(`${stack.url}/signup`)
    await expectAccessible(page)
    await expectNoHorizontalScroll(page)
    await page.getByLabel('Your name as others see it').fill('Robin Browser')
    await page.getByLabel('E-mail address').fill(email)
    await page.getByLabel('Password').fill('browser password')
    await page.getByRole('button', { name: 'Create my account' }).click()
    // The same answer as for an address that has an account: check the mail, then log in.
    await page.getByRole('heading', { level: 1, name: 'Check your mail' }).waitFor()
    await page.getByRole('status').filter({ hasText: `We sent a mail to ${email}.` }).waitFor()
    await expectAccessible(page)
    await expectNoHorizontalScroll(page)

    await page.getByRole('link', { name: 'Mailbox' }).click()
    await page.getByLabel('Recipient').fill(email)
    await page.getByRole('button', { name: 'Filter' }).click()
    await expectAccessible(page)
    await page.getByRole('link', { name: 'Confirm your e-mail address' }).click()
    await page.getByRole('link', { name: /verify-email/ }).click()
    await page.getByRole('heading', { level: 1, name: 'Address confirmed' }).waitFor()

    await logInThroughForm(page, stack.url, email, 'browser password')
    expect(new URL(page.url()).pathname).toBe('/account')
    await page.getByText('(confirmed)', { exact: false }).waitFor()
    await expectAccessible(page)
    await screenshot(page, 'account')

    await page.getByRole('button', { name: 'Log out' }).click()
    await page.waitForURL(/\/login\?notice=logged-out/)
    await expectAccessible(page)
    await screenshot(page, 'login')
    await logInThroughForm(page, stack.url, email, 'browser password')
    expect(new URL(page.url()).pathname).toBe('/account')
    await page.getByText('(confirmed)', { exact: false }).waitFor()
    await expect(page.getByText('(not confirmed yet)').count()).resolves.toBe(0)
    await context.close()
  })

  it('shows a wrong password as an announced error next to the form, keyboard only', { timeout: 120_000 }, async () => {
    const context = await newContext(browser, { headers: ownAddress() })
    const page = await context.newPage()
    await page.goto(`${stack.url}/login`)
    // Tab order: skip link, brand, nav links…, then the form: reach the e-mail field by keyboard alone.
    await page.keyboard.press('Tab')
    await expect(page.evaluate(() => document.activeElement?.textContent)).resolves.toBe('Skip to content')
    await page.keyboard.press('Enter')
    for (let i = 0; i < 10; i++) {
      const focused = await page.evaluate(() => (document.activeElement as HTMLInputElement | null)?.name)
      if (focused === 'email') break
      await page.keyboard.press('Tab')
    }
    await page.keyboard.type(`nobody-${randomUUID().slice(0, 6)}@example.test`)
    await page.keyboard.press('Tab')
    await page.keyboard.type('wrong password')
    await page.keyboard.press('Enter')
    await page.getByRole('alert').filter({ hasText: 'Wrong e-mail address or password.' }).waitFor()
    await expectAccessible(page)
    await context.close()
  })

  it('says in words how long to wait when a form that sends mail is throttled, on a phone, keyboard only', { timeout: 120_000 }, async () => {
    const context = await newContext(browser, { viewport: PHONE, headers: ownAddress() })
    const page = await context.newPage()
    const email = `nobody-${randomUUID().slice(0, 6)}@example.test`
    for (let i = 0; i <= MAX_MAILS_PER_RECIPIENT; i++) {
      await page.goto(`${stack.url}/forgot-password`)
      await page.getByLabel('E-mail address').focus()
      await page.keyboard.type(email)
      await page.keyboard.press('Enter')
      if (i < MAX_MAILS_PER_RECIPIENT) await page.getByRole('status').filter({ hasText: 'If that address has an account' }).waitFor()
    }
    await page.getByRole('alert').filter({ hasText: /Try again in 1[45] minutes/ }).waitFor()
    // The form stays, so the person can come back to it.
    await page.getByLabel('E-mail address').waitFor()
    await expectAccessible(page)
    await expectNoHorizontalScroll(page)
    await screenshot(page, 'forgot-password-throttled')
    await context.close()
  })
})

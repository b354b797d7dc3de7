import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { expectAccessible, expectNoHorizontalScroll, launchBrowser, newContext, PHONE, takeCspViolations } from '../support/browser.js'
import { startWebStack, type WebStack } from '../support/web-server.js'

describe('the storefront in a real browser', () => {
  let stack: WebStack
  let browser: Browser
  beforeAll(async () => {
    ;[stack, browser] = await Promise.all([startWebStack({ worker: false }), launchBrowser()])
  })
  afterAll(async () => {
    await browser?.close()
    await stack?.stop()
  })

  it('renders the home page, passes axe-core and fits a phone', async () => {
    const context = await newContext(browser, { viewport: PHONE })
    const page = await context.newPage()
    const response = await page.goto(stack.url)
    expect(response?.status()).toBe(200)
    await expect(page.title()).resolves.not.toBe('')
    await expectAccessible(page)
    await expectNoHorizontalScroll(page)
    await context.close()
  })

  it('runs the page under its Content-Security-Policy: its own scripts work, an injected handler does not', async () => {
    const context = await newContext(browser)
    const page = await context.newPage()
    const response = await page.goto(stack.url)
    const headers = response!.headers()
    expect(headers['content-security-policy']).toMatch(/script-src 'self' 'nonce-[^']+'/)
    expect(headers['content-security-policy']).toMatch(/frame-ancestors 'none'/)
    expect(headers['x-content-type-options']).toBe('nosniff')
    expect(headers['referrer-policy']).toBe('strict-origin-when-cross-origin')
    // Hydrated: React answers the page's links (the router's own navigation: the same document, no full load).
    await page.evaluate(() => Object.assign(window, { sameDocument: true }))
    await page.getByRole('link', { name: 'Log in' }).click()
    await page.waitForURL(/\/login$/)
    await page.getByLabel('E-mail address').waitFor()
    expect(await page.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument)).toBe(true)
    expect(takeCspViolations()).toEqual([])
    // What an injection would add is refused, and the browser says so.
    await page.evaluate(() => document.body.insertAdjacentHTML('beforeend', '<img alt="" src="data:," onerror="document.title = \'pwned\'">'))
    await expect.poll(() => takeCspViolations().join('\n')).toMatch(/script-src-attr/)
    expect(await page.title()).not.toBe('pwned')
    await context.close()
    // The console's report of the same refusal may come after the event's.
    takeCspViolations()
  })
})

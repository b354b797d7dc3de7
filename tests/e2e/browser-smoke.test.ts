import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { expectAccessible, expectNoHorizontalScroll, launchBrowser, newContext, PHONE } from '../support/browser.js'
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
})

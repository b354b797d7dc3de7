import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { expectAccessible, expectNoHorizontalScroll, launchBrowser, logInThroughForm, newContext, PHONE, screenshot } from '../support/browser.js'
import { startWebStack, stopAfterLedgerCheck, type WebStack } from '../support/web-server.js'
import { call, createOperator, PASSWORD } from '../web-remix/plugin-client.js'

// The pages where people manage their credentials, as a person uses them on a phone: the plugin sign-ins of an
// operator (signing one out from the keyboard) and the change-password form.

describe('credential pages in a real browser', () => {
  let stack: WebStack
  let browser: Browser
  beforeAll(async () => {
    ;[stack, browser] = await Promise.all([startWebStack({ worker: false }), launchBrowser()])
  })
  afterAll(async () => {
    await browser?.close()
    await stopAfterLedgerCheck(stack)
  })

  it('lists where the plugin is signed in and signs one out from the keyboard, on a phone', async () => {
    const operator = await createOperator(stack.db)
    for (const deviceName of ['Studio desktop', 'A laptop with a rather long name for a small screen']) {
      expect((await call(stack.url, '/api/plugin/v1/sessions', { json: { login: operator.email, password: PASSWORD, deviceName } })).status).toBe(201)
    }
    const context = await newContext(browser, { viewport: PHONE })
    const page = await context.newPage()
    await logInThroughForm(page, stack.url, operator.email, PASSWORD)
    await page.goto(`${stack.url}/operator/plugin`)
    const table = page.getByRole('list', { name: 'Plugin sign-ins' })
    await expect(table.getByText('Studio desktop', { exact: true }).count()).resolves.toBe(1)
    await expectAccessible(page)
    await expectNoHorizontalScroll(page)
    await screenshot(page, 'operator-plugin-sign-ins')

    const signOut = page.getByRole('button', { name: /Sign out Studio desktop/ })
    await signOut.focus()
    await page.keyboard.press('Enter')
    await page.getByRole('status').filter({ hasText: 'Signed out' }).waitFor()
    await table.getByText('Studio desktop', { exact: true }).waitFor({ state: 'detached' })
    expect(await stack.db.pluginToken.count({ where: { userId: operator.id, revokedAt: null } })).toBe(1)
    await context.close()
  })

  it('changes the password through its labelled form, on a phone', async () => {
    const operator = await createOperator(stack.db)
    const context = await newContext(browser, { viewport: PHONE })
    const page = await context.newPage()
    await logInThroughForm(page, stack.url, operator.email, PASSWORD)
    await page.goto(`${stack.url}/account`)
    await Promise.all([page.waitForURL(/\/account\/password$/), page.getByRole('link', { name: 'Change your password' }).click()])
    await expectAccessible(page)
    await expectNoHorizontalScroll(page)

    await page.getByLabel('Current password').fill(PASSWORD)
    await page.getByLabel('New password').fill('password123')
    await page.getByRole('button', { name: 'Change the password' }).click()
    await page.getByText(/too easy to guess/).first().waitFor()
    await expect(page.getByLabel('New password').getAttribute('aria-invalid')).resolves.toBe('true')
    await expectAccessible(page)
    await screenshot(page, 'change-password')

    await page.getByLabel('Current password').fill(PASSWORD)
    await page.getByLabel('New password').fill('a calm new passphrase')
    await Promise.all([page.waitForURL(/notice=password-changed/), page.getByRole('button', { name: 'Change the password' }).click()])
    await page.getByRole('status').filter({ hasText: 'Your password is changed' }).waitFor()
    await context.close()
  })
})

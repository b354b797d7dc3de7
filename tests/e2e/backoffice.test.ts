import { WorkflowNotFoundError } from '@temporalio/client'
import { randomUUID } from 'node:crypto'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { accountIds } from '../../activities/ledger/accounts.js'
import { accountBalance } from '../../activities/ledger/balances.js'
import { createTransfer } from '../../activities/ledger/transfers.js'
import { getTemporalClient } from '../../temporal/client.js'
import { totpFor } from '../../web-remix/app/backoffice/second-factor.server.js'
import { expectAccessible, expectNoHorizontalScroll, launchBrowser, logInThroughForm, newContext, PHONE, screenshot } from '../support/browser.js'
import { callInput, waitFor, startAndConnect } from '../support/call-harness.js'
import { fundMember } from '../support/db.js'
import { startWebStack, stopAfterLedgerCheck, type WebStack } from '../support/web-server.js'
import { newUser, PASSWORD } from '../web-remix/backoffice-users.js'

// The back office in Debian's Chromium: an operator's profile and payout, an admin's second factor and approval, the
// admin portal refused from an address off the allow-list, a company disabling an operator mid-call, and a call's
// workflow opened in the Temporal UI. The stack trusts X-Forwarded-For from loopback, so a browser can come "from"
// another address.

describe('the back office in a real browser', () => {
  let stack: WebStack
  let browser: Browser
  beforeAll(async () => {
    ;[stack, browser] = await Promise.all([
      startWebStack({ env: { TRUST_PROXY: 'loopback', PAYOUT_MINIMUM_CENTS: '1000', EARNINGS_CLEARING_HOURS: '0' } }),
      launchBrowser(),
    ])
  })
  afterAll(async () => {
    await browser?.close()
    await stopAfterLedgerCheck(stack)
  })

  async function earn(accountId: string, cents: number) {
    await stack.db.$transaction((tx) =>
      createTransfer(tx, { id: `test-earning:${randomUUID()}`, debitAccountId: accountIds.adjustments, creditAccountId: accountId, amountCents: cents, code: 'test_earning', pending: false }),
    )
  }

  /** Logs an admin in and through the second factor, enrolling it from the key the page shows. */
  async function adminThroughTotp(page: Page, email: string) {
    await logInThroughForm(page, stack.url, email, PASSWORD)
    await page.getByRole('heading', { level: 1, name: 'Set up two-step verification' }).waitFor()
    await expectAccessible(page)
    const secret = (await page.getByTestId('totp-secret').textContent())!.trim()
    await page.getByLabel('6-digit code').fill(totpFor(secret, 'admin', 'perminute').generate())
    await page.getByRole('button', { name: 'Verify' }).click()
    await page.getByRole('heading', { level: 1, name: 'Your recovery codes' }).waitFor()
    await page.getByRole('link', { name: 'Continue to the admin portal' }).click()
    await page.getByRole('heading', { level: 1, name: 'Administration' }).waitFor()
  }

  it('an operator edits bio, tags, price and weekly hours at phone width, and the listing and profile show them', { timeout: 180_000 }, async () => {
    const operator = await newUser(stack.db, 'operator')
    const context = await newContext(browser, { viewport: PHONE, timezoneId: 'Europe/Paris' })
    const page = await context.newPage()
    await logInThroughForm(page, stack.url, operator.email, PASSWORD)
    await page.getByRole('heading', { level: 1, name: `Hello, ${operator.displayName}` }).waitFor()
    await page.getByRole('link', { name: 'Profile and price' }).click()
    await page.getByRole('heading', { level: 1, name: 'Your profile and price' }).waitFor()
    await page.getByLabel('Headline').fill('Night owl, patient listener')
    await page.getByLabel('Tags').fill('listening, night')
    await page.getByLabel('Price per minute').fill('3.40')
    await page.getByLabel('About you').fill('I **listen** without hurry.\n\n- evenings\n- weekends')

    // The preview renders the bio as the storefront will, before anything is saved.
    await page.getByRole('button', { name: 'Preview the bio', exact: true }).click()
    await page.getByRole('heading', { name: 'Preview (not saved yet)' }).waitFor()
    await page.getByRole('region', { name: 'Preview (not saved yet)' }).locator('strong', { hasText: 'listen' }).waitFor()
    expect((await stack.db.operator.findUniqueOrThrow({ where: { userId: operator.id } })).bioMarkdown).toBe('')
    await page.getByRole('button', { name: 'Save profile', exact: true }).click()
    await page.getByRole('status').filter({ hasText: 'Saved' }).waitFor()

    // Hours in the operator's own zone; a wrong day is named with its problem, by the field.
    await page.getByLabel('Your time zone').selectOption('America/New_York')
    await page.getByLabel('Monday').fill('09:00–12:00, 14:00–18:00')
    await page.getByLabel('Saturday').fill('22:00–02:00')
    await page.getByRole('button', { name: 'Save hours', exact: true }).click()
    await page.getByText('ends before it starts').waitFor()
    expect(await page.getByLabel('Saturday').getAttribute('aria-invalid')).toBe('true')
    await page.getByLabel('Saturday').fill('22:00–24:00')
    await page.getByRole('button', { name: 'Save hours', exact: true }).click()
    await page.getByRole('status').filter({ hasText: 'Your hours are saved, in America/New_York.' }).waitFor()
    expect(await page.getByLabel('Your time zone').inputValue()).toBe('America/New_York')
    await expectAccessible(page)
    await expectNoHorizontalScroll(page)
    await screenshot(page, 'operator-profile-editor')
    expect(await stack.db.operatorAvailability.count({ where: { operatorId: operator.id } })).toBe(3)

    // Searched by name: the listing pages through every operator the other test files made too.
    await page.goto(`${stack.url}/?q=${encodeURIComponent(operator.displayName)}`)
    const card = page.locator(`[data-operator-id="${operator.id}"]`)
    await card.getByText('Night owl, patient listener').waitFor()
    expect(await card.textContent()).toContain('3.40')
    await card.getByRole('link', { name: operator.displayName }).first().click()
    await page.getByRole('heading', { level: 1, name: operator.displayName }).waitFor()
    await page.locator('.bio strong', { hasText: 'listen' }).waitFor()
    await page.getByRole('list', { name: 'Tags' }).getByText('night').waitFor()
    // Monday 09:00 in New York is 15:00 in Paris (both on summer or both on winter time, but for a week or two).
    const hours = await page.locator('.availability-table tbody').textContent()
    expect(hours).toMatch(/1[45]:00–1[78]:00/)
    await expectAccessible(page)
    await expectNoHorizontalScroll(page)
    await screenshot(page, 'operator-public-profile')
    await context.close()
  })

  it('an operator requests a payout; an admin from an allowed address, after TOTP, approves it and the ledger shows it paid', { timeout: 240_000 }, async () => {
    const operator = await newUser(stack.db, 'operator')
    await earn(accountIds.operatorEarnings(operator.id), 8_000)
    const operatorContext = await newContext(browser)
    const operatorPage = await operatorContext.newPage()
    await logInThroughForm(operatorPage, stack.url, operator.email, PASSWORD)
    await operatorPage.getByTestId('available').getByText('$80.00').waitFor()
    await expectAccessible(operatorPage)
    await screenshot(operatorPage, 'operator-dashboard')
    await operatorPage.getByRole('link', { name: 'Request a payout' }).click()
    await operatorPage.getByLabel('Amount to pay out').fill('60.00')
    await operatorPage.getByRole('button', { name: 'Request payout' }).click()
    await operatorPage.getByRole('status').filter({ hasText: 'Payout of $60.00 requested' }).waitFor()
    const payout = await stack.db.payout.findFirstOrThrow({ where: { operatorId: operator.id } })
    expect(payout.status).toBe('requested')

    const admin = await newUser(stack.db, 'admin')
    const adminContext = await newContext(browser)
    const adminPage = await adminContext.newPage()
    await adminThroughTotp(adminPage, admin.email)
    await adminPage.getByRole('link', { name: 'Users' }).first().click()
    await adminPage.getByRole('heading', { level: 1, name: 'Users' }).waitFor()
    await expectAccessible(adminPage)
    await screenshot(adminPage, 'admin-users')
    await adminPage.getByRole('link', { name: 'Payouts' }).click()
    const row = adminPage.locator(`li[data-payout-id="${payout.id}"]`)
    await row.waitFor()
    await expectAccessible(adminPage)
    await screenshot(adminPage, 'admin-payout-queue')
    await row.getByRole('button', { name: 'Approve and pay' }).click()
    await adminPage.getByRole('status').filter({ hasText: 'Payout of $60.00' }).waitFor()
    await waitFor(async () => ((await stack.db.payout.findUniqueOrThrow({ where: { id: payout.id } })).status === 'paid' ? true : undefined), 20_000, 'paid')
    await adminPage.reload()
    await adminPage.locator(`tr[data-payout-id="${payout.id}"]`).getByText(/paid/).waitFor()
    expect((await stack.db.transfer.findUniqueOrThrow({ where: { id: `payout:${payout.id}` } })).status).toBe('posted')
    expect(await accountBalance(stack.db, accountIds.operatorEarnings(operator.id))).toMatchObject({ postedCents: 2_000 })

    await adminPage.getByRole('link', { name: 'Ledger check' }).click()
    await adminPage.getByRole('button', { name: 'Run the check' }).click()
    await adminPage.getByTestId('ledger-result').getByText('The ledger is consistent.').waitFor()
    await adminPage.getByRole('link', { name: 'Revenue' }).click()
    await adminPage.getByRole('heading', { level: 1, name: 'Revenue and statistics' }).waitFor()
    await expectAccessible(adminPage)
    await screenshot(adminPage, 'admin-revenue')
    await operatorPage.goto(`${stack.url}/operator/payouts`)
    await operatorPage.locator(`tr[data-payout-id="${payout.id}"]`).getByText('paid').waitFor()
    await operatorContext.close()

    // The same admin, signed in, from an address off the allow-list: 403.
    const outside = await browser.newContext({ extraHTTPHeaders: { 'X-Forwarded-For': '198.51.100.23' } })
    await outside.addCookies(await adminContext.cookies())
    const outsidePage = await outside.newPage()
    const refused = await outsidePage.goto(`${stack.url}/admin/payouts`)
    expect(refused?.status()).toBe(403)
    await outsidePage.getByText('not reachable from this network').waitFor()
    await outside.close()
    await adminContext.close()
  })

  it('a company disables an operator mid-call: the call is ended and settled', { timeout: 180_000 }, async () => {
    const company = await newUser(stack.db, 'company')
    const operator = await newUser(stack.db, 'operator', { companyId: company.companyId!, ratePerMinuteCents: 100 })
    const member = await newUser(stack.db, 'member')
    await fundMember(stack.db, member.id, 5_000)
    const temporal = await getTemporalClient({ address: stack.config.TEMPORAL_ADDRESS, namespace: stack.config.TEMPORAL_NAMESPACE })
    const input = await callInput(stack.db, stack.config, { memberId: member.id, operatorId: operator.id, ratePerMinuteCents: 100, companyId: company.companyId!, companyShareBps: 2_000 })
    expect((await startAndConnect(temporal, stack.config.TEMPORAL_TASK_QUEUE, input)).status).toBe('active')

    const context = await newContext(browser, { viewport: PHONE })
    const page = await context.newPage()
    await logInThroughForm(page, stack.url, company.email, PASSWORD)
    await page.getByRole('link', { name: operator.displayName }).click()
    await page.getByRole('heading', { level: 1, name: operator.displayName }).waitFor()
    await expectAccessible(page)
    await expectNoHorizontalScroll(page)
    await page.getByRole('button', { name: 'Disable the operator' }).click()
    await page.getByRole('status').filter({ hasText: 'call in progress was ended' }).waitFor({ timeout: 60_000 })
    const settled = await waitFor(async () => (await stack.db.call.findFirst({ where: { id: input.callId, status: 'settled' } })) ?? undefined, 20_000, 'settled')
    expect(settled.endReason).toBe('operator_disabled')
    await page.reload()
    await page.getByRole('button', { name: 'Enable the operator' }).waitFor()
    await context.close()
  })

  it("an admin follows a call's link to its workflow in the Temporal UI", { timeout: 180_000 }, async () => {
    const operator = await newUser(stack.db, 'operator', { ratePerMinuteCents: 100 })
    const member = await newUser(stack.db, 'member')
    await fundMember(stack.db, member.id, 5_000)
    const temporal = await getTemporalClient({ address: stack.config.TEMPORAL_ADDRESS, namespace: stack.config.TEMPORAL_NAMESPACE })
    const input = await callInput(stack.db, stack.config, { memberId: member.id, operatorId: operator.id, ratePerMinuteCents: 100 })
    expect((await startAndConnect(temporal, stack.config.TEMPORAL_TASK_QUEUE, input)).status).toBe('active')

    const admin = await newUser(stack.db, 'admin')
    const context = await newContext(browser)
    const page = await context.newPage()
    await adminThroughTotp(page, admin.email)
    await page.getByRole('link', { name: 'Calls' }).first().click()
    const link = page.locator(`tr[data-call-id="${input.callId}"]`).getByRole('link', { name: /Workflow/ })
    expect(await link.getAttribute('href')).toBe(`${stack.config.TEMPORAL_UI_URL}/namespaces/${stack.config.TEMPORAL_NAMESPACE}/workflows/call-${input.callId}`)
    const [ui] = await Promise.all([context.waitForEvent('page'), link.click()])
    await ui.waitForLoadState('domcontentloaded')
    expect(ui.url()).toContain(`/workflows/call-${input.callId}`)
    // The UI is a single-page app: its workflow page names the workflow once it has loaded it from the server.
    await ui.getByText(`call-${input.callId}`).first().waitFor({ timeout: 30_000 })
    await screenshot(ui, 'temporal-ui-call-workflow')
    // End the call; on a slow machine it may already have ended by itself (no plugin sends heartbeats here).
    await temporal.workflow
      .getHandle(`call-${input.callId}`)
      .signal('forceEnd', { reason: 'operator_disabled', requestedAtMs: Date.now() })
      .catch((error: unknown) => {
        if (!(error instanceof WorkflowNotFoundError)) throw error
      })
    await waitFor(async () => (await stack.db.call.findFirst({ where: { id: input.callId, status: 'settled' } })) ?? undefined, 20_000, 'settled')
    await context.close()
  })
})

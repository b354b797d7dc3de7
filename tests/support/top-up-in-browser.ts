import type { Page } from 'playwright-core'
import { expect } from 'vitest'

/** Topping up as a member does in the browser: the wallet form, the sandbox's hosted payment page, the return. */

export async function startTopUp(page: Page, baseUrl: string, amount: { preset: string } | { other: string }): Promise<void> {
  await page.goto(`${baseUrl}/wallet`)
  if ('preset' in amount) await page.getByRole('radio', { name: amount.preset, exact: true }).check()
  else {
    await page.getByLabel('Other amount, in dollars').fill(amount.other)
    await expect(page.getByRole('radio', { name: 'Other amount' }).isChecked()).resolves.toBe(true)
  }
  await Promise.all([page.waitForURL(/\/sandbox-pay\/checkout\//), page.getByRole('button', { name: 'Continue to payment' }).click()])
}

export async function payWith(page: Page, cardNumber: string): Promise<void> {
  await page.getByLabel('Card number').fill(cardNumber)
  await page.getByLabel('Expiry (MM/YY)').fill('12/34')
  await page.getByLabel('Security code').fill('123')
  await page.getByRole('button', { name: /^Pay / }).click()
}

export async function topUpStatusShown(page: Page, status: 'succeeded' | 'declined'): Promise<void> {
  await page.waitForURL(/\/wallet\/topups\/[0-9a-f-]+\?returned=1$/)
  await page.locator(`[data-status="${status}"]`).waitFor({ timeout: 30_000 })
}

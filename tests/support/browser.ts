import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import AxeBuilder from '@axe-core/playwright'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import { afterEach, expect } from 'vitest'
import { CHROMIUM_ARGS, DEFAULT_CHROMIUM_PATH } from '../../temporal/setup/chromium.js'

/**
 * A real browser for end-to-end tests: Debian's Chromium (installed by the global set-up) driven by playwright-core.
 * Screenshots go to .test-artifacts/screenshots/, which CI keeps and the README links to.
 *
 * Every page runs under the site's Content-Security-Policy, and whatever it refuses (a script, a style, a connection)
 * fails the test that loaded the page: the pages must work with the policy on, not merely load.
 */

const cspViolations: string[] = []

/** The policy violations seen since the last call, for a test that provokes one on purpose. */
export function takeCspViolations(): string[] {
  return cspViolations.splice(0)
}

afterEach(() => {
  const seen = takeCspViolations()
  expect(seen, 'Content-Security-Policy violations in the browser').toEqual([])
})

const repoRoot = fileURLToPath(new URL('../../', import.meta.url))
export const screenshotDir = join(repoRoot, '.test-artifacts', 'screenshots')

/** A phone's screen (an iPhone 13's CSS pixels) and a laptop's. */
export const PHONE = { width: 390, height: 844 } as const
export const DESKTOP = { width: 1280, height: 800 } as const

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || DEFAULT_CHROMIUM_PATH,
    args: [...CHROMIUM_ARGS],
    headless: true,
  })
}

export async function newContext(
  browser: Browser,
  options: { viewport?: { width: number; height: number }; timezoneId?: string; javaScriptEnabled?: boolean; headers?: Record<string, string> } = {},
): Promise<BrowserContext> {
  const context = await browser.newContext({
    viewport: options.viewport ?? DESKTOP,
    timezoneId: options.timezoneId,
    javaScriptEnabled: options.javaScriptEnabled ?? true,
    // Sent with every request: e.g. an X-Forwarded-For of its own, for a server that trusts its loopback proxy.
    extraHTTPHeaders: options.headers,
  })
  context.setDefaultTimeout(15_000)
  await watchPolicyViolations(context)
  return context
}

/**
 * Records every Content-Security-Policy violation of the context's pages, so that the test fails on it (the afterEach
 * above). newContext() does this; a context made another way (tests/support/media-browser.ts) calls it itself.
 */
export async function watchPolicyViolations(context: BrowserContext): Promise<void> {
  await context.exposeBinding('__reportCspViolation', (_source, text: string) => void cspViolations.push(text))
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (event) => {
      const report = (window as unknown as { __reportCspViolation: (text: string) => void }).__reportCspViolation
      report(`${location.pathname}: ${event.effectiveDirective} refused ${event.blockedURI || 'an inline resource'} (${event.sourceFile || 'the page'}:${event.lineNumber})`)
    })
  })
  // Chromium also says so in the console (for what happens before a listener could hear it).
  context.on('console', (message) => {
    if (message.type() === 'error' && /Content Security Policy/i.test(message.text())) cspViolations.push(`${message.location().url}: ${message.text()}`)
  })
}

/** Saves a full-page screenshot as .test-artifacts/screenshots/<name>.png. */
export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(screenshotDir, { recursive: true })
  const path = join(screenshotDir, `${name}.png`)
  await page.screenshot({ path, fullPage: true })
  return path
}

/** Runs axe-core on the page (WCAG 2.x A and AA rules) and fails the test on any violation, naming each. */
export async function expectAccessible(page: Page): Promise<void> {
  const result = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze()
  const violations = result.violations.map(
    (violation) => `${violation.id} (${violation.impact}): ${violation.help} — ${violation.nodes.map((node) => node.target.join(' ')).join(', ')}`,
  )
  expect(violations, `axe-core violations on ${page.url()}`).toEqual([])
}

/** Fails when the page is wider than its viewport (a phone would scroll sideways). */
export async function expectNoHorizontalScroll(page: Page): Promise<void> {
  const { scrollWidth, clientWidth } = await page.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    clientWidth: document.documentElement.clientWidth,
  }))
  expect(scrollWidth, `${page.url()} is ${scrollWidth}px wide in a ${clientWidth}px viewport`).toBeLessThanOrEqual(clientWidth)
}

/** Logs in through the real form, as a person would, and waits for the page after it. */
export async function logInThroughForm(page: Page, baseUrl: string, email: string, password: string): Promise<void> {
  await page.goto(new URL('/login', baseUrl).toString())
  await page.getByLabel('E-mail address').fill(email)
  await page.getByLabel('Password').fill(password)
  await Promise.all([page.waitForURL((url) => url.pathname !== '/login'), page.getByRole('button', { name: 'Log in' }).click()])
}

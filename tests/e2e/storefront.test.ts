import { randomUUID } from 'node:crypto'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { memberAsks } from '../support/call-harness.js'
import { createCallActivities } from '../../activities/calls.js'
import { billingSettingsFrom } from '../../temporal/calls.js'
import { defaultSettings } from '../../activities/settings.js'
import { expectAccessible, expectNoHorizontalScroll, launchBrowser, logInThroughForm, newContext, PHONE, screenshot } from '../support/browser.js'
import { createMember, createOperator } from '../support/db.js'
import { startWebStack, stopAfterLedgerCheck, type WebStack } from '../support/web-server.js'
import { call } from '../web-remix/plugin-client.js'

// The storefront in Debian's Chromium against the real web server and database: filters and pages through the plain
// GET form, presence changing in place, a profile with its media and reviews, a bio full of script that never runs,
// axe-core, a phone's width.

let stack: WebStack
let browser: Browser
const t = `e2e${randomUUID().slice(0, 6)}`
const operators: Array<{ id: string; email: string }> = []
let featured: { id: string; email: string }

beforeAll(async () => {
  ;[stack, browser] = await Promise.all([startWebStack({ worker: false }), launchBrowser()])
  // Fourteen operators share a tag of this run, so the test sees only its own whatever else the database holds.
  for (let i = 0; i < 14; i++) {
    const operator = await createOperator(stack.db, { ratePerMinuteCents: 100 + i * 25 })
    await stack.db.user.update({ where: { id: operator.id }, data: { displayName: `Avery ${String(i).padStart(2, '0')} ${t}` } })
    await stack.db.operator.update({ where: { userId: operator.id }, data: { tags: [t, i % 2 ? 'tarot' : 'coaching'], headline: `Headline ${i}` } })
    operators.push(operator)
  }
  featured = operators[13]!
  await stack.db.operator.update({
    where: { userId: featured.id },
    data: {
      timeZone: 'America/New_York',
      headline: 'Hostile bio, harmless page',
      videoUrl: '/media/operators/intro.webm',
      videoCaptionsUrl: '/media/operators/intro-captions.vtt',
      // Every way in we know of: each must come out as text or not at all.
      bioMarkdown: [
        '## About me',
        '**Plain Markdown** still works, with [a fine link](https://example.com).',
        '<script>window.__xss = "script"</script>',
        '<img src="x" onerror="window.__xss = \'img\'">',
        '<svg onload="window.__xss = \'svg\'"></svg>',
        '<iframe srcdoc="<script>parent.__xss = \'iframe\'</script>"></iframe>',
        '<details open ontoggle="window.__xss = \'details\'">x</details>',
        '[click me](javascript:window.__xss=\'link\')',
        '[or me](JaVaScRiPt:window.__xss=\'mixed\')',
        '<a href="javascript:window.__xss=\'anchor\'">anchor</a>',
        '![pic](x" onerror="window.__xss=\'md-img\')',
      ].join('\n\n'),
    },
  })
  await stack.db.operatorImage.createMany({
    data: [
      { id: randomUUID(), operatorId: featured.id, url: '/media/operators/sage-portrait.svg', altText: 'Portrait of the operator', position: 0 },
      { id: randomUUID(), operatorId: featured.id, url: '/media/operators/sage-desk.svg', altText: 'A quiet desk with a green leaf', position: 1 },
    ],
  })
  await stack.db.operatorAvailability.createMany({
    data: [1, 2, 3, 4, 5].map((weekday) => ({ id: randomUUID(), operatorId: featured.id, weekday, startMinute: 9 * 60, endMinute: 17 * 60 })),
  })
  // A real, billed call and its review.
  const member = await createMember(stack.db, { fundedCents: 1_000 })
  const activities = createCallActivities(stack.db)
  const callId = randomUUID()
  const startedAtMs = Date.now() - 600_000
  await activities.openCall({
    callId,
    memberId: member.id,
    operatorId: featured.id,
    companyId: null,
    mode: 'per_minute',
    prepaidMinutes: null,
    ratePerMinuteCents: 425,
    settings: billingSettingsFrom(defaultSettings(stack.config), null),
    requestHash: `test:${callId}`,
    consent: await memberAsks(stack.db, { memberId: member.id, operatorId: featured.id, ratePerMinuteCents: 425 }),
    startedAtMs,
  })
  await activities.settleCall({ callId, endReason: 'member_hangup', endedAtMs: startedAtMs + 90_000 })
  await stack.db.rating.create({ data: { id: randomUUID(), callId, memberId: member.id, operatorId: featured.id, stars: 5, comment: 'Calm, clear and <b>kind</b>.' } })
})
afterAll(async () => {
  await browser?.close()
  await stopAfterLedgerCheck(stack)
})

const cards = (page: Page) => page.locator('li.operator-card')
const presenceOf = (page: Page, operatorId: string) => page.locator(`li[data-operator-id="${operatorId}"] [data-presence]`)

async function setPresence(operator: { email: string }, status: 'online' | 'busy' | 'offline') {
  const session = await call(stack.url, '/api/plugin/v1/sessions', { method: 'POST', json: { login: operator.email, password: 'correct-horse' } })
  expect(session.status).toBe(201)
  const report = await call(stack.url, '/api/plugin/v1/presence', { method: 'POST', token: session.body.token, json: { status } })
  expect(report.status).toBe(204)
}

// Browser tests wait on a loaded machine: each may take well over the default minute there.
describe('the storefront in a real browser', { timeout: 240_000 }, () => {
  it('filters and pages through the GET form, with JavaScript and without', async () => {
    const context = await newContext(browser)
    const page = await context.newPage()
    await page.goto(`${stack.url}/?tag=${t}`)
    expect(await cards(page).count()).toBe(12)
    await expect(page.getByText('Page 1 of 2').isVisible()).resolves.toBe(true)
    await expectAccessible(page)

    // Price range through the form: $3.50 to $4.00 a minute is operators 10 to 12 (100 + i × 25 cents).
    await page.getByLabel('Min. $/min').fill('3.50')
    await page.getByLabel('Max. $/min').fill('4')
    await Promise.all([page.waitForURL(/min=3.50/), page.getByRole('button', { name: 'Search', exact: true }).click()])
    await page.waitForFunction(() => document.querySelectorAll('li.operator-card').length === 3)
    expect(new URL(page.url()).searchParams.getAll('tag')).toEqual([t])
    // And a tag on top: operators 11 (tarot) only among those.
    await page.getByLabel('tarot', { exact: true }).check()
    await Promise.all([page.waitForURL(/tag=tarot/), page.getByRole('button', { name: 'Search', exact: true }).click()])
    await page.waitForFunction(() => document.querySelectorAll('li.operator-card').length === 1)
    expect(await cards(page).first().getByRole('heading').textContent()).toBe(`Avery 11 ${t}`)

    // Pagination keeps the filters.
    await page.goto(`${stack.url}/?tag=${t}`)
    await Promise.all([page.waitForURL(/page=2/), page.getByRole('link', { name: 'Next page' }).click()])
    await page.waitForFunction(() => document.querySelectorAll('li.operator-card').length === 2)
    expect(new URL(page.url()).searchParams.get('tag')).toBe(t)
    await context.close()

    // Without JavaScript the same form still filters (a plain GET).
    const plain = await newContext(browser, { javaScriptEnabled: false })
    const noScript = await plain.newPage()
    await noScript.goto(`${stack.url}/?tag=${t}`)
    await noScript.getByLabel('Search by name or words').fill(`Avery 07 ${t}`)
    await Promise.all([noScript.waitForURL(/q=Avery/), noScript.getByRole('button', { name: 'Search', exact: true }).click()])
    expect(await cards(noScript).count()).toBe(1)
    await plain.close()
  })

  it('shows presence changes in place, without a reload', async () => {
    const context = await newContext(browser)
    const page = await context.newPage()
    const operator = operators[3]!
    await page.goto(`${stack.url}/?tag=${t}&q=${encodeURIComponent(`Avery 03 ${t}`)}`)
    await page.evaluate(() => ((window as unknown as { __sameDocument: boolean }).__sameDocument = true))
    expect(await presenceOf(page, operator.id).textContent()).toBe('Offline')
    await page.waitForTimeout(500) // let the stream connect; a change before it would arrive as its snapshot anyway
    for (const [status, text] of [
      ['online', 'Online'],
      ['busy', 'Busy'],
      ['offline', 'Offline'],
    ] as const) {
      await setPresence(operator, status)
      await page.locator(`li[data-operator-id="${operator.id}"] [data-presence="${status}"]`).waitFor()
      expect(await presenceOf(page, operator.id).textContent()).toBe(text)
    }
    // The same document all along: nothing reloaded.
    expect(await page.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument)).toBe(true)
    await setPresence(operator, 'online')
    await page.locator(`li[data-operator-id="${operator.id}"] [data-presence="online"]`).waitFor()
    await page.goto(`${stack.url}/?tag=${t}`)
    // Online first, and marked in words as well as colour.
    expect(await cards(page).first().getAttribute('data-operator-id')).toBe(operator.id)
    await screenshot(page, 'listing')
    await setPresence(operator, 'offline')
    await context.close()
  })

  it('shows a profile with media, hours in the visitor’s zone and reviews, and the hostile bio runs nothing', async () => {
    const context = await newContext(browser, { timezoneId: 'Asia/Tokyo' })
    const page = await context.newPage()
    const dialogs: string[] = []
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message())
      void dialog.dismiss()
    })
    await page.goto(`${stack.url}/operators/${featured.id}`)
    // The browser's zone arrives through the cookie, and the hours are shown in it.
    await page.getByText('Times are shown in Asia/Tokyo').waitFor()
    expect(await page.getByLabel('Time zone').inputValue()).toBe('Asia/Tokyo')
    expect(await page.locator('h1').count()).toBe(1)
    expect(await page.locator('h1').textContent()).toBe(`Avery 13 ${t}`)
    // Monday 09:00–17:00 in New York is 22:00 (or 23:00 in US winter) Monday to the next morning in Tokyo.
    expect(await page.locator('.availability-table').textContent()).toMatch(/2[23]:00–24:00/)

    // The bio: Markdown rendered, every hostile piece inert.
    const bio = page.locator('.bio')
    expect(await bio.locator('h3').textContent()).toBe('About me')
    expect(await bio.locator('strong').first().textContent()).toBe('Plain Markdown')
    expect(await bio.locator('script, iframe, img, svg, details, [onerror], [onload], [ontoggle]').count()).toBe(0)
    const hrefs = await bio.locator('a').evaluateAll((links) => links.map((a) => a.getAttribute('href') ?? ''))
    expect(hrefs.length).toBeGreaterThan(0)
    for (const href of hrefs) expect(href).toMatch(/^(https?:|mailto:)/)
    for (const link of await bio.locator('a').all()) await link.hover()
    await page.waitForTimeout(500)
    expect(await page.evaluate(() => (window as unknown as { __xss?: unknown }).__xss)).toBeUndefined()
    expect(dialogs).toEqual([])

    // Media: pictures with their text, and the video with controls and captions but no autoplay.
    expect(await page.getByRole('img', { name: 'A quiet desk with a green leaf' }).count()).toBe(1)
    const video = page.locator('video')
    expect(await video.getAttribute('controls')).not.toBeNull()
    expect(await video.getAttribute('autoplay')).toBeNull()
    expect(await video.evaluate((v: HTMLVideoElement) => v.paused)).toBe(true)
    expect(await video.locator('track[kind="captions"]').getAttribute('src')).toBe('/media/operators/intro-captions.vtt')

    // Price, rating and the review (its markup shown as text), and the member's three ways to talk.
    expect(await page.locator('.profile-head .price').textContent()).toBe('$4.25/min')
    expect(await page.getByText('Rated 5.0 out of 5 from 1 rating').count()).toBe(1)
    expect(await page.getByText('Calm, clear and <b>kind</b>.').count()).toBe(1)
    expect(await page.getByRole('button', { name: 'Call now' }).count()).toBe(1)
    expect(await page.getByRole('link', { name: 'Book a prepaid block' }).getAttribute('href')).toBe(`/calls/prepaid?operator=${featured.id}`)
    expect(await page.getByRole('link', { name: 'Schedule a call' }).getAttribute('href')).toBe(`/schedule/${featured.id}`)

    await expectAccessible(page)
    await screenshot(page, 'profile')
    await context.close()
  })

  it('lets a member propose a time in their zone, and the operator find it on their page', async () => {
    const member = await createMember(stack.db, { fundedCents: 5_000 })
    const context = await newContext(browser, { viewport: PHONE, timezoneId: 'America/New_York' })
    const page = await context.newPage()
    await logInThroughForm(page, stack.url, member.email, 'correct-horse')
    await page.goto(`${stack.url}/operators/${featured.id}`)
    await Promise.all([page.waitForURL(/\/schedule\//), page.getByRole('link', { name: 'Schedule a call' }).click()])
    await page.getByText('Shown in America/New_York').waitFor()
    expect(await page.getByLabel('Your time zone').inputValue()).toBe('America/New_York')
    await expectAccessible(page)
    await expectNoHorizontalScroll(page)
    // Next week's Wednesday, 10:00 in New York: inside the operator's hours.
    const now = new Date()
    const wednesday = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 7 + ((3 - now.getUTCDay() + 7) % 7), 15))
    await page.getByLabel('Date', { exact: true }).fill(wednesday.toISOString().slice(0, 10))
    await page.getByLabel('Time', { exact: true }).fill('10:00')
    await page.getByLabel('Minutes', { exact: true }).fill('15')
    await Promise.all([page.waitForURL(/\/schedule\?proposed=/), page.getByRole('button', { name: 'Propose this time' }).click()])
    await page.getByText('Your proposal is sent.').waitFor()
    expect(await page.locator('li[data-status="proposed"]').count()).toBe(1)
    await expectAccessible(page)
    await expectNoHorizontalScroll(page)
    await context.close()

    const desk = await newContext(browser, { viewport: PHONE })
    const operatorPage = await desk.newPage()
    await logInThroughForm(operatorPage, stack.url, featured.email, 'correct-horse')
    await operatorPage.goto(`${stack.url}/operator/schedule`)
    expect(await operatorPage.locator('li[data-status="proposed"]').count()).toBe(1)
    expect(await operatorPage.getByRole('button', { name: 'Accept' }).count()).toBe(1)
    await expectAccessible(operatorPage)
    await expectNoHorizontalScroll(operatorPage)
    await desk.close()
  })

  it('fits a phone: listing and profile', async () => {
    const context = await newContext(browser, { viewport: PHONE })
    const page = await context.newPage()
    for (const path of [`/?tag=${t}`, `/operators/${featured.id}`]) {
      await page.goto(`${stack.url}${path}`)
      await expectNoHorizontalScroll(page)
      await expectAccessible(page)
    }
    await context.close()
  })
})

import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCallActivities } from '../../activities/calls.js'
import { billingSettingsFrom } from '../../temporal/calls.js'
import { defaultSettings } from '../../activities/settings.js'
import { PAGE_SIZE } from '../../web-remix/app/storefront/listing-query.js'
import { memberAsks, waitFor } from '../support/call-harness.js'
import { createMember, createOperator } from '../support/db.js'
import { PortalClient } from '../support/portal-client.js'
import { startWebStack, stopAfterLedgerCheck, type WebStack } from '../support/web-server.js'
import { call } from './plugin-client.js'

// The storefront's loaders and actions over HTTP, against the real web server and database: the listing and its
// filters, profiles, the presence stream, rating a call and scheduling one.

let stack: WebStack
beforeAll(async () => {
  // Presence lasts 3 s after a report here, so its expiry can be watched.
  stack = await startWebStack({ env: { PRESENCE_TTL_MS: '3000', SCHEDULE_MIN_NOTICE_MS: '0' } })
})
afterAll(() => stopAfterLedgerCheck(stack))

const PASSWORD = 'correct-horse'
const tag = () => `t${randomUUID().slice(0, 8)}`
const cardIds = (html: string) => [...html.matchAll(/data-operator-id="([0-9a-f-]{36})"/g)].map((m) => m[1]!)

async function operatorWith(options: { tags?: string[]; rate?: number; name?: string; headline?: string; bio?: string } = {}) {
  const operator = await createOperator(stack.db, { ratePerMinuteCents: options.rate ?? 100 })
  await stack.db.operator.update({
    where: { userId: operator.id },
    data: { tags: options.tags ?? [], headline: options.headline ?? '', bioMarkdown: options.bio ?? '' },
  })
  if (options.name) await stack.db.user.update({ where: { id: operator.id }, data: { displayName: options.name } })
  return operator
}

async function signIn(email: string): Promise<string> {
  const response = await call(stack.url, '/api/plugin/v1/sessions', { method: 'POST', json: { login: email, password: PASSWORD } })
  expect(response.status).toBe(201)
  return response.body.token as string
}

/** A call that really happened: opened and settled through the call activities, billed `minutes`. */
async function settledCall(memberId: string, operatorId: string, minutes: number): Promise<string> {
  const activities = createCallActivities(stack.db)
  const callId = randomUUID()
  const settings = billingSettingsFrom(defaultSettings(stack.config), null)
  const startedAtMs = Date.now() - 60_000
  await activities.openCall({ callId, memberId, operatorId, companyId: null, mode: 'per_minute', prepaidMinutes: null, ratePerMinuteCents: 100, settings, requestHash: `test:${callId}`, consent: await memberAsks(stack.db, { memberId, operatorId, ratePerMinuteCents: 100 }), startedAtMs })
  const elapsed = minutes === 0 ? 0 : (minutes - 1) * settings.periodMs + Math.floor(settings.periodMs / 2)
  await activities.settleCall({ callId, endReason: 'member_hangup', endedAtMs: startedAtMs + elapsed })
  return callId
}

describe('the listing', () => {
  it('filters by tag, words, price and availability, pages through, and never lists a disabled operator', async () => {
    const t = tag()
    const cheap = await operatorWith({ tags: [t, 'astrology'], rate: 150, name: `Zelda ${t}`, headline: 'Stars and charts' })
    const dear = await operatorWith({ tags: [t], rate: 400, bio: 'I speak **Portuguese** fluently' })
    const disabled = await operatorWith({ tags: [t], rate: 200 })
    await stack.db.user.update({ where: { id: disabled.id }, data: { status: 'disabled' } })
    const client = new PortalClient(stack.url)

    expect(new Set(cardIds(await client.page(`/?tag=${t}`)))).toEqual(new Set([cheap.id, dear.id]))
    expect(cardIds(await client.page(`/?tag=${t}&tag=astrology`))).toEqual([cheap.id])
    expect(cardIds(await client.page(`/?tag=${t}&q=portuguese`))).toEqual([dear.id])
    expect(cardIds(await client.page(`/?tag=${t}&q=${encodeURIComponent(`zelda ${t}`)}`))).toEqual([cheap.id])
    expect(cardIds(await client.page(`/?tag=${t}&min=2&max=4.50`))).toEqual([dear.id])
    expect(cardIds(await client.page(`/?tag=${t}&max=%241.50`))).toEqual([cheap.id])
    // LIKE's wildcards are searched for as characters.
    expect(cardIds(await client.page(`/?tag=${t}&q=%25`))).toEqual([])
    expect(cardIds(await client.page(`/?tag=${t}&available=1`))).toEqual([])

    // Online first: the dearer operator goes online and leads the list, marked "Online" in words.
    await call(stack.url, '/api/plugin/v1/presence', { method: 'POST', token: await signIn(dear.email), json: { status: 'online' } })
    const html = await client.page(`/?tag=${t}`)
    expect(cardIds(html)).toEqual([dear.id, cheap.id])
    expect(cardIds(await client.page(`/?tag=${t}&available=1`))).toEqual([dear.id])
    expect(html).toMatch(/data-presence="online"[^>]*>.*?Online/s)
    expect(html).not.toContain(disabled.id)
    expect((await client.get(`/operators/${disabled.id}`)).status).toBe(404)
  })

  it('pages by twelve, keeping the filters in the links', async () => {
    const t = tag()
    const ids = []
    for (let i = 0; i < PAGE_SIZE + 2; i++) ids.push((await operatorWith({ tags: [t] })).id)
    const client = new PortalClient(stack.url)
    const first = await client.page(`/?tag=${t}`)
    const second = await client.page(`/?tag=${t}&page=2`)
    expect(cardIds(first)).toHaveLength(PAGE_SIZE)
    expect(cardIds(second)).toHaveLength(2)
    expect(new Set([...cardIds(first), ...cardIds(second)])).toEqual(new Set(ids))
    expect(first).toContain(`href="/?tag=${t}&amp;page=2"`)
    expect(first).toContain('Page 1 of 2')
    expect(second).toContain(`href="/?tag=${t}"`)
    expect(cardIds(await client.page(`/?tag=${t}&page=3`))).toEqual([])
  })

  it('ranks by rating after presence', async () => {
    const t = tag()
    const [plain, loved] = [await operatorWith({ tags: [t], name: 'Aaron Plain' }), await operatorWith({ tags: [t], name: 'Zoe Loved' })]
    const member = await createMember(stack.db, { fundedCents: 10_000 })
    for (let i = 0; i < 3; i++) {
      const callId = await settledCall(member.id, loved.id, 1)
      await stack.db.rating.create({ data: { id: randomUUID(), callId, memberId: member.id, operatorId: loved.id, stars: 5 } })
    }
    expect(cardIds(await new PortalClient(stack.url).page(`/?tag=${t}`))).toEqual([loved.id, plain.id])
  })
})

describe('a profile', () => {
  it('renders the Markdown bio sanitised, with tags, price, hours in the visitor’s zone and the member’s actions', async () => {
    const operator = await operatorWith({
      tags: ['tarot'],
      rate: 250,
      bio: '## About me\n**Bold** and [a link](https://example.com)\n\n<script>window.__xss = 1</script>\n<img src=x onerror="window.__xss=2">\n[click](javascript:window.__xss=3)\n<iframe src="https://evil.test"></iframe>',
    })
    await stack.db.operator.update({ where: { userId: operator.id }, data: { timeZone: 'America/New_York' } })
    await stack.db.operatorAvailability.create({ data: { id: randomUUID(), operatorId: operator.id, weekday: 1, startMinute: 540, endMinute: 1020 } })
    const client = new PortalClient(stack.url)
    const html = await client.page(`/operators/${operator.id}?tz=Europe/Paris`)
    const bio = /<div class="bio">(.*?)<\/div>/s.exec(html)![1]!
    expect(bio).toContain('<h3>About me</h3>')
    expect(bio).toContain('<strong>Bold</strong>')
    expect(bio).toContain('href="https://example.com"')
    // The hostile parts survive only as visible text: no element, no handler attribute, no script URL.
    expect(bio).not.toMatch(/<(script|iframe|img)\b/i)
    expect(bio).not.toMatch(/<[^>]+\son\w+=/i)
    expect(bio).not.toMatch(/href="\s*javascript:/i)
    expect(bio).toContain('&lt;script&gt;')
    expect(html).toContain('$2.50/min')
    expect(html).toContain('Times are shown in <strong>Europe/Paris</strong>')
    expect(html).toMatch(/action="\/calls\/request"/)
    expect(html).toContain(`href="/calls/prepaid?operator=${operator.id}"`)
    expect(html).toContain(`href="/schedule/${operator.id}"`)
    // Mondays 09:00–17:00 in New York are 15:00–23:00 in Paris most of the year, 14:00–22:00 around the DST changes.
    expect(html).toMatch(/(15:00–23:00|14:00–22:00)/)
    // The browser's zone from the cookie, and UTC without one.
    expect(await new PortalClient(stack.url).page(`/operators/${operator.id}`)).toContain('Times are shown in <strong>UTC</strong>')
    const fromCookie = await fetch(`${stack.url}/operators/${operator.id}`, { headers: { cookie: 'tz=Asia%2FTokyo' } })
    expect(await fromCookie.text()).toContain('Times are shown in <strong>Asia/Tokyo</strong>')
    expect((await client.get(`/operators/not-a-uuid`)).status).toBe(404)
  })
})

describe('the presence stream', () => {
  it('sends the current presence, then each change: online, busy during a call, offline when it expires', async () => {
    const operator = await operatorWith()
    const member = await createMember(stack.db, { fundedCents: 1_000 })
    const controller = new AbortController()
    const response = await fetch(`${stack.url}/storefront/presence-stream?ids=${operator.id}`, { signal: controller.signal })
    expect(response.headers.get('content-type')).toMatch(/text\/event-stream/)
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader()
    let buffer = ''
    const seen: string[] = []
    const next = async (presence: string) =>
      waitFor(
        async () => {
          while (!seen.includes(presence)) {
            const { value, done } = await reader.read()
            if (done) return undefined
            buffer += value
            for (const match of buffer.matchAll(/event: presence\ndata: (.*)\n\n/g)) {
              const change = JSON.parse(match[1]!) as { operatorId: string; presence: string }
              expect(change.operatorId).toBe(operator.id)
              seen.push(change.presence)
            }
            buffer = buffer.replace(/[\s\S]*\n\n/, '')
          }
          seen.splice(0, seen.indexOf(presence) + 1)
          return true
        },
        15_000,
        `presence ${presence}`,
      )
    try {
      await next('offline')
      const token = await signIn(operator.email)
      await call(stack.url, '/api/plugin/v1/presence', { method: 'POST', token, json: { status: 'online' } })
      await next('online')
      // A call opening turns them busy, its settlement back to online (the trigger on calls).
      const activities = createCallActivities(stack.db)
      const callId = randomUUID()
      await call(stack.url, '/api/plugin/v1/presence', { method: 'POST', token, json: { status: 'online' } })
      await activities.openCall({
        callId,
        memberId: member.id,
        operatorId: operator.id,
        companyId: null,
        mode: 'per_minute',
        prepaidMinutes: null,
        ratePerMinuteCents: 100,
        settings: billingSettingsFrom(defaultSettings(stack.config), null),
        requestHash: `test:${callId}`,
        consent: await memberAsks(stack.db, { memberId: member.id, operatorId: operator.id, ratePerMinuteCents: 100 }),
        startedAtMs: Date.now(),
      })
      await next('busy')
      await activities.settleCall({ callId, endReason: 'operator_hangup', endedAtMs: Date.now() })
      // Back to online (or straight to offline if the report expired meanwhile), then offline once it expires, which
      // writes nothing: the hub's sweep notices.
      await next('offline')
    } finally {
      controller.abort()
    }
  })
})

describe('rating a call', () => {
  it('takes one rating per billed call from its own member, shows it on the profile, and refuses the rest', async () => {
    const operator = await operatorWith()
    const member = await createMember(stack.db, { fundedCents: 1_000 })
    const other = await createMember(stack.db, { fundedCents: 1_000 })
    const billed = await settledCall(member.id, operator.id, 2)
    const free = await settledCall(member.id, operator.id, 0)
    const client = new PortalClient(stack.url)
    await client.logIn(member.email, PASSWORD)

    expect((await client.post(`/calls/${billed}/rate`, { stars: '4', comment: 'x' }, { csrf: false })).status).toBe(403)
    expect((await client.post(`/calls/${billed}/rate`, { stars: '9' })).status).toBe(422)
    expect((await client.post(`/calls/${billed}/rate`, { stars: '4', comment: 'y'.repeat(1001) })).status).toBe(422)
    expect((await client.post(`/calls/${free}/rate`, { stars: '4' })).status).toBe(403)
    const rated = await client.post(`/calls/${billed}/rate`, { stars: '4', comment: '  Kind and <b>clear</b>  ' })
    expect(rated.status).toBe(200)
    expect((await client.post(`/calls/${billed}/rate`, { stars: '5' })).status).toBe(409)
    expect(await stack.db.rating.findUnique({ where: { callId: billed } })).toMatchObject({ stars: 4, comment: 'Kind and <b>clear</b>', memberId: member.id, operatorId: operator.id })

    const stranger = new PortalClient(stack.url)
    await stranger.logIn(other.email, PASSWORD)
    expect((await stranger.post(`/calls/${billed}/rate`, { stars: '1' })).status).toBe(404)
    const asOperator = new PortalClient(stack.url)
    await asOperator.logIn(operator.email, PASSWORD)
    expect((await asOperator.post(`/calls/${billed}/rate`, { stars: '1' })).status).toBe(403)
    expect((await new PortalClient(stack.url).post(`/calls/${billed}/rate`, { stars: '1' }, { csrf: false })).status).toBe(302)

    const profile = await new PortalClient(stack.url).page(`/operators/${operator.id}`)
    expect(profile).toContain('Rated 4.0 out of 5 from 1 rating')
    // The comment is text: its markup is escaped, never rendered.
    expect(profile).toContain('Kind and &lt;b&gt;clear&lt;/b&gt;')
  })
})

describe('scheduling a call', () => {
  it('lets a member propose a time in their zone, the operator accept it, and the member cancel it', async () => {
    const operator = await operatorWith({ rate: 120 })
    // Every day, all day, in Tokyo.
    await stack.db.operator.update({ where: { userId: operator.id }, data: { timeZone: 'Asia/Tokyo' } })
    await stack.db.operatorAvailability.createMany({
      data: [1, 2, 3, 4, 5, 6, 7].map((weekday) => ({ id: randomUUID(), operatorId: operator.id, weekday, startMinute: 0, endMinute: 1440 })),
    })
    const member = await createMember(stack.db, { fundedCents: 10_000 })
    const client = new PortalClient(stack.url)
    await client.logIn(member.email, PASSWORD)
    expect(await client.page(`/schedule/${operator.id}`)).toContain('Propose a time')

    // Tomorrow 10:30 in Paris.
    const tomorrow = new Date(Date.now() + 24 * 3_600_000)
    const date = new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Paris', year: 'numeric', month: '2-digit', day: '2-digit' }).format(tomorrow)
    const proposed = await client.post(`/schedule/${operator.id}`, { date, time: '10:30', tz: 'Europe/Paris', minutes: '20', note: 'About my move' })
    expect(proposed.status).toBe(302)
    const booking = await stack.db.scheduledCall.findFirstOrThrow({ where: { memberId: member.id } })
    expect(booking).toMatchObject({ operatorId: operator.id, minutes: 20, memberTimeZone: 'Europe/Paris', ratePerMinuteCents: 120, status: 'proposed', note: 'About my move' })
    expect(new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Paris', hour: '2-digit', minute: '2-digit' }).format(booking.startsAt)).toBe('10:30')
    expect(proposed.headers.get('location')).toBe(`/schedule?proposed=${booking.id}`)
    expect((await client.post(`/schedule/${operator.id}`, { date, time: '10:30', tz: 'Mars/Base', minutes: '20' })).status).toBe(422)
    expect((await client.post(`/schedule/${operator.id}`, { date: '2001-01-01', time: '10:30', tz: 'UTC', minutes: '20' })).status).toBe(422)

    // The operator's page lists it; another operator cannot answer it.
    const desk = new PortalClient(stack.url)
    await desk.logIn(operator.email, PASSWORD)
    expect(await desk.page('/operator/schedule')).toContain(`data-booking-id="${booking.id}"`)
    const intruder = new PortalClient(stack.url)
    await intruder.logIn((await operatorWith()).email, PASSWORD)
    expect((await intruder.post('/operator/schedule', { scheduledCallId: booking.id, intent: 'accept' })).status).toBe(409)
    expect((await client.get('/operator/schedule')).status).toBe(403)
    const accepted = await desk.post('/operator/schedule', { scheduledCallId: booking.id, intent: 'accept' })
    expect(accepted.status).toBe(200)
    expect(await accepted.text()).toContain('Accepted: the member is told.')
    expect((await stack.db.scheduledCall.findUniqueOrThrow({ where: { id: booking.id } })).status).toBe('accepted')

    const cancelled = await client.post('/schedule', { scheduledCallId: booking.id })
    expect(cancelled.status).toBe(200)
    expect((await stack.db.scheduledCall.findUniqueOrThrow({ where: { id: booking.id } })).status).toBe('cancelled')
    expect(await stack.db.mailMessage.count({ where: { dedupeKey: { startsWith: `scheduled:${booking.id}:` } } })).toBe(2)
  })
})

import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createUser } from '../../activities/identity/users.js'
import { setSpendingCaps } from '../../activities/spending-caps.js'
import { PortalClient } from '../support/portal-client.js'
import { startWebStack, stopAfterLedgerCheck, type WebStack } from '../support/web-server.js'
import { billablePeriods } from '../../workflows/billing.js'
import { call, eventually, fund, openEvents, PASSWORD, signedInOperator, sleep } from './plugin-client.js'

// The member's side of a call over HTTP, against the real web server, worker, Temporal and database: asking for a
// call, the operator's plugin seeing and answering it, the live panel's figures, hanging up, history and CSV.

let stack: WebStack
beforeAll(async () => {
  stack = await startWebStack()
})
afterAll(() => stopAfterLedgerCheck(stack))

async function verifiedMember(fundedCents: number) {
  const email = `caller-${randomUUID().slice(0, 8)}@example.test`
  const member = await createUser(stack.db, { role: 'member', email, password: PASSWORD, displayName: `Caller ${email.slice(7, 11)}`, callingProvider: 'discord', callingHandle: `h-${randomUUID().slice(0, 8)}` })
  await stack.db.user.update({ where: { id: member.id }, data: { emailVerifiedAt: new Date() } })
  if (fundedCents) await fund(stack.db, member.id, fundedCents)
  const client = new PortalClient(stack.url)
  await client.logIn(email, PASSWORD)
  return { ...member, client }
}

async function onlineOperator(ratePerMinuteCents = 100) {
  const operator = await signedInOperator(stack.db, stack.url, { ratePerMinuteCents })
  expect((await call(stack.url, '/api/plugin/v1/presence', { token: operator.token, json: { status: 'online' } })).status).toBe(204)
  return operator
}

function requestIdFrom(response: Response): string {
  expect(response.status).toBe(302)
  const match = /^\/calls\/requests\/([0-9a-f-]{36})$/.exec(response.headers.get('location') ?? '')
  expect(match).not.toBeNull()
  return match![1]!
}

/** An online operator who also takes calls on Discord, linked through the plugin API. */
async function operatorOnDiscord(ratePerMinuteCents = 100) {
  const operator = await onlineOperator(ratePerMinuteCents)
  const handle = `op-${randomUUID().slice(0, 8)}`
  expect((await call(stack.url, '/api/plugin/v1/link', { method: 'PUT', token: operator.token, json: { provider: 'discord', handle } })).status).toBe(200)
  return { ...operator, handle }
}

/** The LiveKit join token the member's call page carries (in its loader data), decoded. */
function pageToken(html: string): { sub: string; video: Record<string, unknown>; exp: number } | null {
  const jwt = /eyJ[\w-]+\.(eyJ[\w-]+)\.[\w-]+/.exec(html)
  return jwt ? JSON.parse(Buffer.from(jwt[1]!, 'base64url').toString('utf8')) : null
}

describe('asking an operator for a call', () => {
  it('reaches the plugin as call.requested; the operator starts it and the member page follows to the live call', async () => {
    const operator = await operatorOnDiscord(100)
    const member = await verifiedMember(1_000)
    const plugin = await openEvents(stack.url, operator.token)
    const memberEvents = await openEvents(stack.url, null, { path: '/calls/events', cookie: member.client.cookieHeader() })
    try {
      const requestId = requestIdFrom(await member.client.post('/calls/request', { operatorId: operator.id, channel: 'outside' }))
      // A double click is the same request.
      expect(requestIdFrom(await member.client.post('/calls/request', { operatorId: operator.id, channel: 'outside' }))).toBe(requestId)

      const requested = await plugin.next((event) => event.event === 'call.requested')
      const payload = JSON.parse(requested.data)
      expect(payload).toMatchObject({ requestId, memberId: member.id, memberDisplayName: member.displayName, mode: 'per_minute', ratePerMinuteCents: 100, channel: 'outside' })
      const waitingPage = await member.client.page(`/calls/requests/${requestId}`)
      expect(waitingPage).toContain('sees your request in their app')
      expect(waitingPage).toContain('You asked for <!-- -->a call on Discord now<!-- --> at <!-- -->$1.00/min<!-- -->.')

      const callId = randomUUID()
      const started = await call(stack.url, '/api/plugin/v1/calls', { token: operator.token, json: { callId, memberId: member.id, mode: 'per_minute', requestId } })
      expect(started.status).toBe(201)
      expect(started.body).toMatchObject({ status: 'connecting', channel: 'outside', media: null })
      const startedEvent = await memberEvents.next((event) => event.event === 'call.started')
      expect(JSON.parse(startedEvent.data)).toEqual({ callId, requestId, scheduledCallId: null, operatorId: operator.id, channel: 'outside' })
      const waiting = await member.client.get(`/calls/requests/${requestId}`)
      expect(waiting.status).toBe(302)
      expect(waiting.headers.get('location')).toBe(`/calls/${callId}`)

      // Connecting: the page names the operator's app and handle, nothing is held, no room token.
      const connecting = await member.client.page(`/calls/${callId}`)
      expect(connecting).toContain(`<h1>Connecting to ${operator.displayName}</h1>`)
      expect(connecting).toContain(`Call <!-- -->${operator.displayName}<!-- --> on <!-- -->Discord<!-- -->: <span class="handle">${operator.handle}</span>`)
      expect(connecting).toContain('data-testid="charged">$0.00<')
      expect(pageToken(connecting)).toBeNull()
      expect((await call(stack.url, `/api/plugin/v1/calls/${callId}`, { token: operator.token })).body).toMatchObject({ status: 'connecting', heldCents: 0 })

      // The member says it is connected, on their page: the call starts then, and both sides hear of it.
      expect((await member.client.post(`/calls/${callId}`, { intent: 'connected' })).status).toBe(200)
      const connectedEvent = await memberEvents.next((event) => event.event === 'call.connected' && JSON.parse(event.data).callId === callId)
      const confirmedAt = (await stack.db.call.findUniqueOrThrow({ where: { id: callId } })).memberConfirmedAt!
      expect(JSON.parse(connectedEvent.data).startedAtMs).toBe(confirmedAt.getTime())
      await eventually(async () => ((await stack.db.call.findUniqueOrThrow({ where: { id: callId } })).status === 'active' ? true : undefined))
      // Said twice, it is not news.
      expect((await member.client.post(`/calls/${callId}`, { intent: 'connected' })).status).toBe(409)

      // The panel charges by the same rule as settlement: nothing within the grace time, then each started minute
      // that is held. Read past the grace time, its figure lies between the rule's before and after the page load.
      const opened = await stack.db.call.findUniqueOrThrow({ where: { id: callId } })
      const startedAtMs = opened.startedAt.getTime()
      await sleep(Math.max(0, startedAtMs + opened.graceMs + 50 - Date.now()))
      const chargedNow = async () => {
        const { heldPeriods } = await stack.db.call.findUniqueOrThrow({ where: { id: callId } })
        return 100 * billablePeriods(Date.now() - startedAtMs, { periodMs: opened.periodMs, graceMs: opened.graceMs }, heldPeriods)
      }
      const least = await chargedNow()
      const live = await member.client.page(`/calls/${callId}`)
      const most = await chargedNow()
      expect(live).toContain(`<h1>On a call with ${operator.displayName}</h1>`)
      const shown = /data-testid="charged">\$(\d+)\.(\d\d)</.exec(live)
      expect(shown, 'the charge so far').not.toBeNull()
      const shownCents = Number(shown![1]) * 100 + Number(shown![2])
      expect(least).toBeGreaterThanOrEqual(100)
      expect(shownCents).toBeGreaterThanOrEqual(least)
      expect(shownCents).toBeLessThanOrEqual(most)

      const hungUp = await member.client.post(`/calls/${callId}`, {})
      expect(hungUp.status).toBe(200)
      const settled = await memberEvents.next((event) => event.event === 'call.settled' && JSON.parse(event.data).callId === callId)
      const settlement = JSON.parse(settled.data)
      expect(settlement.endReason).toBe('member_hangup')
      // The split of the money is the operator's business: the member's stream does not carry it.
      expect(settlement).not.toHaveProperty('operatorEarningsCents')
      expect(settlement).not.toHaveProperty('commissionCents')
      const ended = await member.client.page(`/calls/${callId}`)
      expect(ended).toContain('You hung up.')

      const row = await stack.db.call.findUniqueOrThrow({ where: { id: callId } })
      const history = await member.client.page('/calls')
      expect(history).toContain(`data-call-id="${callId}"`)
      const csv = await member.client.get('/calls.csv')
      expect(csv.headers.get('content-type')).toBe('text/csv; charset=utf-8')
      const lines = (await csv.text()).trim().split('\r\n')
      expect(lines[0]).toBe('call_id,started_at,ended_at,operator,mode,status,rate_per_minute_cents,billed_minutes,charged_cents,end_reason')
      expect(lines).toContain(
        [callId, row.startedAt.toISOString(), row.endedAt!.toISOString(), operator.displayName, 'per_minute', 'settled', '100', String(row.billedMinutes), String(row.chargedCents), 'member_hangup'].join(','),
      )
    } finally {
      plugin.close()
      memberEvents.close()
    }
  })

  it('lets the operator decline, and tells the member', async () => {
    const operator = await onlineOperator()
    const member = await verifiedMember(500)
    const memberEvents = await openEvents(stack.url, null, { path: '/calls/events', cookie: member.client.cookieHeader() })
    try {
      const requestId = requestIdFrom(await member.client.post('/calls/request', { operatorId: operator.id }))
      const declined = await call(stack.url, `/api/plugin/v1/call-requests/${requestId}/decline`, { token: operator.token, method: 'POST' })
      expect(declined.status).toBe(204)
      await memberEvents.next((event) => event.event === 'call.request_declined' && JSON.parse(event.data).requestId === requestId)
      expect(await member.client.page(`/calls/requests/${requestId}`)).toContain('cannot take the call now. Nothing was charged.')
      // Starting the declined request is refused; another operator cannot even see it.
      const late = await call(stack.url, '/api/plugin/v1/calls', { token: operator.token, json: { callId: randomUUID(), memberId: member.id, mode: 'per_minute', requestId } })
      expect(late.status).toBe(409)
      expect(late.body.error).toBe('call_request_closed')
      const other = await onlineOperator()
      const foreign = await call(stack.url, `/api/plugin/v1/call-requests/${requestId}/decline`, { token: other.token, method: 'POST' })
      expect(foreign.status).toBe(404)
      expect(foreign.body.error).toBe('call_request_not_found')
    } finally {
      memberEvents.close()
    }
  })

  it('refuses with a clear reason: an offline operator, too little money, an unconfirmed address, no CSRF token', async () => {
    const offline = await signedInOperator(stack.db, stack.url, { ratePerMinuteCents: 100 })
    expect((await call(stack.url, '/api/plugin/v1/presence', { token: offline.token, json: { status: 'offline' } })).status).toBe(204)
    const member = await verifiedMember(50)
    const whileOffline = await member.client.post('/calls/request', { operatorId: offline.id })
    expect(whileOffline.status).toBe(409)
    expect(await whileOffline.text()).toContain('is offline right now')

    const operator = await onlineOperator(100)
    const poor = await member.client.post('/calls/request', { operatorId: operator.id })
    expect(poor.status).toBe(402)
    const poorPage = await poor.text()
    expect(poorPage).toContain('Your balance does not cover one minute with this operator.')
    expect(poorPage).toContain('You need <!-- -->$0.50<!-- --> more.')

    const email = `unverified-${randomUUID().slice(0, 8)}@example.test`
    const unverified = await createUser(stack.db, { role: 'member', email, password: PASSWORD, displayName: 'Unverified' })
    await fund(stack.db, unverified.id, 1_000)
    const client = new PortalClient(stack.url)
    await client.logIn(email, PASSWORD)
    const refused = await client.post('/calls/request', { operatorId: operator.id })
    expect(refused.status).toBe(302)
    expect(refused.headers.get('location')).toBe('/account?notice=verify-first')

    const capped = await verifiedMember(10_000)
    await setSpendingCaps(stack.db, capped.id, { dailyCents: 50, monthlyCents: null, timeZone: 'UTC' })
    const overCap = await capped.client.post('/calls/request', { operatorId: operator.id })
    expect(overCap.status).toBe(403)
    expect(await overCap.text()).toContain('You have reached your daily spending cap of $0.50')

    const noToken = await member.client.post('/calls/request', { operatorId: operator.id }, { csrf: false })
    expect(noToken.status).toBe(403)
    expect(await stack.db.callRequest.count({ where: { memberId: { in: [member.id, unverified.id, capped.id] } } })).toBe(0)
  })

  it('never shows a member another member’s call, request or CSV rows', async () => {
    const operator = await onlineOperator()
    const owner = await verifiedMember(1_000)
    const requestId = requestIdFrom(await owner.client.post('/calls/request', { operatorId: operator.id }))
    const callId = randomUUID()
    expect((await call(stack.url, '/api/plugin/v1/calls', { token: operator.token, json: { callId, requestId } })).status).toBe(201)
    expect((await stack.db.callRequest.findUniqueOrThrow({ where: { id: requestId } })).callId).toBe(callId)

    const stranger = await verifiedMember(0)
    expect((await stranger.client.get(`/calls/${callId}`)).status).toBe(404)
    expect((await stranger.client.get(`/calls/requests/${requestId}`)).status).toBe(404)
    expect((await stranger.client.post(`/calls/${callId}`, {})).status).toBe(404)
    expect(await (await stranger.client.get('/calls.csv')).text()).not.toContain(callId)
    expect(await stranger.client.page('/calls')).not.toContain(callId)
    // Nor can they say another member's call is connected.
    expect((await stranger.client.post(`/calls/${callId}`, { intent: 'connected' })).status).toBe(404)
    // An operator (not a member) is refused the member's pages.
    const operatorClient = new PortalClient(stack.url)
    await operatorClient.logIn(operator.email, PASSWORD)
    expect((await operatorClient.get(`/calls/${callId}`)).status).toBe(403)

    expect((await call(stack.url, `/api/plugin/v1/calls/${callId}/end`, { token: operator.token, json: { reason: 'operator_hangup' } })).status).toBe(200)
  })

  it('connects an audio or video call in the platform: the page carries a token for its own room only; hanging up while connecting costs nothing', async () => {
    const operator = await onlineOperator(100)
    const member = await verifiedMember(1_000)
    const memberEvents = await openEvents(stack.url, null, { path: '/calls/events', cookie: member.client.cookieHeader() })
    try {
      for (const channel of ['audio', 'video'] as const) {
        const requestId = requestIdFrom(await member.client.post('/calls/request', { operatorId: operator.id, channel }))
        expect((await stack.db.callRequest.findUniqueOrThrow({ where: { id: requestId } })).channel).toBe(channel)
        const callId = randomUUID()
        const started = await call(stack.url, '/api/plugin/v1/calls', { token: operator.token, json: { callId, requestId } })
        expect(started.body).toMatchObject({ status: 'connecting', channel })

        const response = await member.client.get(`/calls/${callId}`)
        expect(response.status).toBe(200)
        expect(response.headers.get('cache-control')).toBe('private, no-store')
        const page = await response.text()
        expect(page).toContain(`<h1>Connecting to ${operator.displayName}</h1>`)
        expect(page).toContain('data-testid="connecting"')
        expect(page).not.toContain('data-testid="minutes-left"')
        // The member's own token, for this call's room, as the member, good for MEDIA_TOKEN_TTL_S.
        const token = pageToken(page)
        expect(token).toMatchObject({ sub: member.id, video: { room: `call-${callId}`, roomJoin: true } })
        expect(token!.video).not.toHaveProperty('roomAdmin')
        expect(token!.exp * 1000).toBeLessThanOrEqual(Date.now() + stack.config.MEDIA_TOKEN_TTL_S * 1000 + 5_000)
        // A fresh one on each load.
        expect(pageToken(await member.client.page(`/calls/${callId}`))).not.toBeNull()
        // Not an outside call: there is nothing to confirm.
        expect((await member.client.post(`/calls/${callId}`, { intent: 'connected' })).status).toBe(409)
        expect((await member.client.post(`/calls/${callId}`, { intent: 'dance' })).status).toBe(400)

        // Hung up before both joined: settled unbilled, and the page has no token any more.
        expect((await member.client.post(`/calls/${callId}`, { intent: 'hangup' })).status).toBe(200)
        await memberEvents.next((event) => event.event === 'call.settled' && JSON.parse(event.data).callId === callId)
        const row = await stack.db.call.findUniqueOrThrow({ where: { id: callId } })
        expect(row).toMatchObject({ status: 'settled', endReason: 'member_hangup', billedMinutes: 0 })
        expect(Number(row.chargedCents)).toBe(0)
        expect(await stack.db.transfer.count({ where: { callId } })).toBe(0)
        const ended = await member.client.page(`/calls/${callId}`)
        expect(ended).toContain('data-testid="ended">You hung up.<!-- --> <!-- -->Nothing was charged.<')
        expect(pageToken(ended)).toBeNull()
      }
    } finally {
      memberEvents.close()
    }
  })

  it('refuses a channel that does not exist, and an outside app the operator has not linked', async () => {
    const operator = await onlineOperator(100)
    const member = await verifiedMember(1_000)
    const bogus = await member.client.post('/calls/request', { operatorId: operator.id, channel: 'carrier-pigeon' })
    expect(bogus.status).toBe(400)
    expect(await bogus.text()).toContain('Choose an audio call, a video call or the operator’s own app.')
    const unlinked = await member.client.post('/calls/request', { operatorId: operator.id, channel: 'outside' })
    expect(unlinked.status).toBe(400)
    expect(await unlinked.text()).toContain('takes calls only here on the platform')
    expect(await stack.db.callRequest.count({ where: { memberId: member.id } })).toBe(0)

    // The profile offers the outside app only where there is one, and never shows the handle.
    const profile = await member.client.page(`/operators/${operator.id}`)
    expect(profile).toMatch(/<button [^>]*value="audio"[^>]*>Call now<\/button>/)
    expect(profile).toMatch(/<button [^>]*value="video"[^>]*>Video call<\/button>/)
    expect(profile).not.toContain('value="outside"')
    const linked = await operatorOnDiscord(100)
    const linkedProfile = await member.client.page(`/operators/${linked.id}`)
    expect(linkedProfile).toMatch(/<button [^>]*value="outside"[^>]*>Call on Discord<\/button>/)
    expect(linkedProfile).not.toContain(linked.handle)
    // The prepaid block page offers the same choice, and the request keeps both the block and the channel.
    const prepaidPage = await member.client.page(`/calls/prepaid?operator=${linked.id}`)
    for (const [value, label] of [['audio', 'An audio call'], ['video', 'A video call'], ['outside', 'Call on Discord']]) {
      expect(prepaidPage).toMatch(new RegExp(`<button [^>]*value="${value}"[^>]*>${label}</button>`))
    }
    const block = requestIdFrom(await member.client.post('/calls/request', { operatorId: linked.id, mode: 'prepaid', prepaidMinutes: '5', channel: 'video' }))
    expect(await stack.db.callRequest.findUniqueOrThrow({ where: { id: block } })).toMatchObject({ mode: 'prepaid', prepaidMinutes: 5, channel: 'video' })
    expect(await member.client.page(`/calls/requests/${block}`)).toContain('You asked for <!-- -->a video call, a prepaid block of 5 minutes,<!-- --> at <!-- -->$1.00/min<!-- -->.')
    // A form that names no channel (one from before the choice) asks for an audio call.
    const plain = requestIdFrom(await member.client.post('/calls/request', { operatorId: linked.id }))
    expect((await stack.db.callRequest.findUniqueOrThrow({ where: { id: plain } })).channel).toBe('audio')
  })
})

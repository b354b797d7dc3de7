import { randomUUID } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { checkLedger } from '../../../activities/ledger/check.js'
import {
  EventStreamParser,
  isCallEnded,
  isEvent,
  isPlatformApiError,
  PlatformApi,
  PlatformApiError,
  type ResponseTiming,
  type ServerSentMessage,
} from '../../../plugin/src/core/platform-api.js'
import { TokenVerifier } from 'livekit-server-sdk'
import { startWebStack, type WebStack } from '../../support/web-server.js'
import { askForCall, createMember, createOperator, memberConfirms, PASSWORD, sleep } from '../../web-remix/plugin-client.js'

// The plugin's HTTP client against the real stack (web, worker, Temporal, PostgreSQL) with 1-s billing periods.

let stack: WebStack

beforeAll(async () => {
  stack = await startWebStack()
}, 180_000)

afterAll(async () => {
  if (!stack) return
  try {
    expect((await checkLedger(stack.db)).violations).toEqual([])
  } finally {
    await stack.stop()
  }
}, 60_000)

/** Reads an event iterator in the background, so a test can wait for what it expects to arrive. */
function collect(iterator: AsyncIterable<ServerSentMessage>) {
  const messages: ServerSentMessage[] = []
  let failure: unknown
  const done = (async () => {
    try {
      for await (const message of iterator) messages.push(message)
    } catch (error) {
      failure = error
    }
  })()
  return {
    messages,
    done,
    async next(match: (message: ServerSentMessage) => boolean, timeoutMs = 15_000): Promise<ServerSentMessage> {
      const deadline = Date.now() + timeoutMs
      for (;;) {
        const found = messages.find(match)
        if (found) return found
        if (failure) throw failure
        if (Date.now() > deadline) throw new Error(`no matching event within ${timeoutMs} ms; got ${JSON.stringify(messages)}`)
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
    },
  }
}

async function expectApiError(promise: Promise<unknown>, status: number, code: string): Promise<PlatformApiError> {
  const error = await promise.then(
    () => {
      throw new Error(`expected ${status} ${code}, but the request succeeded`)
    },
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(PlatformApiError)
  expect({ status: (error as PlatformApiError).status, code: (error as PlatformApiError).code }).toEqual({ status, code })
  expect((error as PlatformApiError).message).not.toBe('')
  return error as PlatformApiError
}

async function signedIn(options: { ratePerMinuteCents?: number } = {}) {
  const operator = await createOperator(stack.db, options)
  const timings: ResponseTiming[] = []
  const api = new PlatformApi({ baseUrl: stack.url, onResponse: (timing) => timings.push(timing) })
  const session = await api.login(operator.email, PASSWORD)
  return { operator, api, session, timings }
}

describe('PlatformApi against the platform', () => {
  it('signs in, starts a call, keeps it alive, hears its events and ends it with the settlement', async () => {
    const { operator, api, session, timings } = await signedIn({ ratePerMinuteCents: 100 })
    expect(session.operator).toEqual({ id: operator.id, displayName: operator.displayName, ratePerMinuteCents: 100 })
    expect(api.token).toBe(session.token)

    const handle = `plugin-core-${randomUUID().slice(0, 8)}`
    expect(await api.link('discord', handle)).toEqual({ provider: 'discord', handle })
    await api.presence('online')

    // 300 cents at 100 a period: after the second hold only one period is funded, so the member is warned.
    const member = await createMember(stack.db, { fundedCents: 300 })
    const requestId = await askForCall(stack.db, member, operator)
    const summary = await api.lookupMember(member.handle)
    expect(summary).toMatchObject({ id: member.id, availableCents: 300, fundedMinutes: 3, paidCalls: 0, request: { requestId, ratePerMinuteCents: 100 } })

    const streamStop = new AbortController()
    const events = collect(api.events(streamStop.signal))

    const callId = randomUUID()
    const started = await api.startCall({ callId, requestId, memberId: member.id, mode: 'per_minute' })
    // Accepted, not started: a call on the operator's outside app starts when the member confirms it is connected.
    expect(started).toEqual({ callId, workflowId: `call-${callId}`, status: 'connecting', channel: 'outside', ratePerMinuteCents: 100, fundedMinutes: 3, media: null })
    // The plugin may retry a start it never saw answered: the same request answers with the same call.
    expect(await api.startCall({ callId, requestId, memberId: member.id, mode: 'per_minute' })).toEqual(started)
    // Nothing is held while it connects; heartbeats are answered.
    expect(await api.getCall(callId)).toMatchObject({ status: 'connecting', channel: 'outside', elapsedSeconds: 0, heldCents: 0, memberAvailableCents: 300 })
    await api.heartbeat(callId)

    await memberConfirms(stack, member, callId)
    const connected = await events.next((m) => isEvent(m, 'call.connected') && m.data.callId === callId)
    if (!isEvent(connected, 'call.connected')) throw new Error('not a call.connected event')
    expect(connected.data.startedAtMs).toBeGreaterThan(0)

    await api.heartbeat(callId)
    const view = await api.getCall(callId)
    expect(view).toMatchObject({ callId, status: 'active' })
    // Started at the member's confirmation, as the platform saw it.
    expect(Date.parse(view.startedAt)).toBe(connected.data.startedAtMs)
    // One period is held at least (two once the second has begun, on a slow machine); what is held is not available.
    expect([100, 200]).toContain(view.heldCents)
    expect(view.heldCents + view.memberAvailableCents).toBe(300)

    const low = await events.next((m) => isEvent(m, 'call.low_balance') && m.data.callId === callId)
    expect(low.data).toEqual({ callId, availableCents: 100, minutesLeft: 1, ratePerMinuteCents: 100 })
    expect(low.id).toMatch(/^\d+$/)
    await api.heartbeat(callId)
    // The warning follows the second hold, which is made a little ahead of its period (ADR 045): end once the second
    // period has begun, so that two are billed however quickly the warning came.
    await sleep(Date.parse(view.startedAt) + stack.config.BILLING_PERIOD_MS + 50 - Date.now())

    const settlement = await api.endCall(callId, 'operator_hangup')
    if (settlement.status !== 'settled') throw new Error(`expected a settlement, got ${JSON.stringify(settlement)}`)
    expect(settlement.billedMinutes).toBeGreaterThanOrEqual(2)
    expect(settlement).toMatchObject({ callId, endReason: 'operator_hangup', chargedCents: settlement.billedMinutes * 100 })
    expect(Number.isSafeInteger(settlement.operatorEarningsCents)).toBe(true)

    const settled = await events.next((m) => isEvent(m, 'call.settled') && m.data.callId === callId)
    if (!isEvent(settled, 'call.settled')) throw new Error('not a call.settled event')
    expect(settled.data).toMatchObject({ chargedCents: settlement.chargedCents, billedMinutes: settlement.billedMinutes })
    expect(BigInt(settled.id!)).toBeGreaterThan(BigInt(low.id!))

    // Ended: a heartbeat now tells the plugin to hang up, and ending again answers the same settlement.
    const gone = await expectApiError(api.heartbeat(callId), 410, 'call_ended')
    expect(isCallEnded(gone)).toBe(true)
    expect(await api.endCall(callId, 'operator_hangup')).toEqual(settlement)
    expect(await api.getCall(callId)).toMatchObject({ status: 'settled', chargedCents: settlement.chargedCents, endReason: 'operator_hangup' })

    streamStop.abort()
    await events.done
    // Aborting ends the iteration quietly: no error for the plugin to handle.
    expect(events.messages.every((m) => typeof m.event === 'string')).toBe(true)

    // Resuming after the low-balance event replays what came after it, and nothing before it.
    const resumeStop = new AbortController()
    const resumed = collect(api.events(resumeStop.signal, { lastEventId: low.id }))
    const replayed = await resumed.next((m) => isEvent(m, 'call.settled') && m.data.callId === callId)
    expect(replayed.id).toBe(settled.id)
    expect(resumed.messages.some((m) => m.id === low.id)).toBe(false)
    resumeStop.abort()
    await resumed.done

    // Every request was reported to the hook with its route template and status.
    const seen = new Set(timings.map((t) => `${t.method} ${t.route} ${t.status}`))
    for (const expected of [
      'POST /sessions 201',
      'PUT /link 200',
      'POST /presence 204',
      'GET /members/lookup 200',
      'POST /calls 201',
      'POST /calls 200',
      'POST /calls/:callId/heartbeat 204',
      'POST /calls/:callId/heartbeat 410',
      'GET /calls/:callId 200',
      'POST /calls/:callId/end 200',
      'GET /events 200',
    ]) {
      expect(seen).toContain(expected)
    }
    expect(timings.every((t) => t.ms >= 0 && !t.route.includes(callId))).toBe(true)

    await api.logout()
    expect(api.token).toBeNull()
  }, 60_000)

  it('brings every refusal through as a PlatformApiError with its status and code', async () => {
    const { operator, api } = await signedIn({ ratePerMinuteCents: 100 })

    await expectApiError(new PlatformApi({ baseUrl: stack.url }).login(operator.email, 'not-the-password'), 401, 'invalid_credentials')
    const member = await createMember(stack.db, { fundedCents: 1_000 })
    // A member's right password is answered like a wrong one: the plugin never confirms a password that is not an operator's.
    await expectApiError(new PlatformApi({ baseUrl: stack.url }).login(member.email, PASSWORD), 401, 'invalid_credentials')
    await expectApiError(new PlatformApi({ baseUrl: stack.url }).getCall(randomUUID()), 401, 'unauthorized')

    await expectApiError(api.lookupMember(`nobody-${randomUUID()}`), 404, 'member_not_found')
    const broke = await createMember(stack.db, { fundedCents: 99 })
    const refused = await expectApiError(api.startCall({ callId: randomUUID(), requestId: await askForCall(stack.db, broke, operator) }), 402, 'insufficient_funds')
    expect(isPlatformApiError(refused, 'insufficient_funds')).toBe(true)
    await expectApiError(api.startCall({ callId: randomUUID(), requestId: randomUUID() }), 404, 'call_request_not_found')
    const requestId = await askForCall(stack.db, member, operator)
    await expectApiError(api.startCall({ callId: randomUUID(), requestId, ratePerMinuteCents: 5_000 }), 409, 'call_terms_mismatch')
    // A body the contract does not allow (the client's types would refuse it; a third-party tool's might not).
    await expectApiError(api.startCall({ callId: 'not-a-uuid', requestId }), 422, 'invalid_body')
    await expectApiError(api.startCall({ callId: randomUUID(), memberId: member.id, mode: 'per_minute' } as never), 403, 'call_request_required')

    const callId = randomUUID()
    await api.startCall({ callId, requestId })
    await expectApiError(api.startCall({ callId: randomUUID(), requestId: await askForCall(stack.db, member, operator) }), 409, 'operator_busy')
    // A call on an outside app has no room to join.
    await expectApiError(api.mediaToken(callId), 409, 'no_media')
    await expectApiError(api.startCall({ callId, requestId, mode: 'prepaid', prepaidMinutes: 2 }), 409, 'call_id_conflict')

    // Another operator's call does not exist for this one.
    const other = await signedIn()
    await expectApiError(other.api.getCall(callId), 404, 'call_not_found')
    await expectApiError(other.api.heartbeat(callId), 404, 'call_not_found')
    await expectApiError(other.api.endCall(callId, 'other'), 404, 'call_not_found')
    await expectApiError(other.api.mediaToken(callId), 404, 'call_not_found')

    const settlement = await api.endCall(callId, 'member_hangup')
    expect(settlement.status).toBe('settled')
    await expectApiError(api.heartbeat(callId), 410, 'call_ended')

    // The event stream refuses a malformed cursor at once instead of retrying it forever.
    await expectApiError(
      (async () => {
        for await (const message of api.events(new AbortController().signal, { lastEventId: 'not-an-id' })) void message
      })(),
      400,
      'invalid_last_event_id',
    )

    // A token revoked by logout is refused from then on, and a client without one is refused the same way.
    const revoked = new PlatformApi({ baseUrl: stack.url, token: api.token })
    await api.logout()
    await expectApiError(revoked.presence('online'), 401, 'unauthorized')
    await expectApiError(api.presence('online'), 401, 'unauthorized')
  }, 60_000)
})

describe('PlatformApi and the calls in the platform’s room', () => {
  it('gives a video call’s room join, a fresh token on asking, for that room only, and none once it is over', async () => {
    const { operator, api } = await signedIn({ ratePerMinuteCents: 100 })
    const member = await createMember(stack.db, { fundedCents: 500 })
    const callId = randomUUID()
    const started = await api.startCall({ callId, requestId: await askForCall(stack.db, member, operator, { channel: 'video' }) })
    expect(started).toMatchObject({ callId, status: 'connecting', channel: 'video' })
    const verifier = new TokenVerifier(stack.config.LIVEKIT_API_KEY, stack.config.LIVEKIT_API_SECRET)
    const joins = [started.media!, await api.mediaToken(callId)]
    for (const media of joins) {
      expect(media).toMatchObject({ url: stack.config.LIVEKIT_URL, room: `call-${callId}`, identity: operator.id })
      expect(Date.parse(media.expiresAt)).toBeGreaterThan(Date.now())
      // Signed by the platform's LiveKit key, for this room and this operator only.
      const claims = await verifier.verify(media.token)
      expect(claims).toMatchObject({ sub: operator.id, video: { room: `call-${callId}`, roomJoin: true } })
      expect(claims.video).not.toHaveProperty('roomAdmin')
    }

    // Another operator has no such call; a hang-up before anyone joined costs nothing, and the room is gone.
    await expectApiError((await signedIn()).api.mediaToken(callId), 404, 'call_not_found')
    const ended = await api.endCall(callId, 'operator_hangup')
    expect(ended).toMatchObject({ status: 'settled', billedMinutes: 0, chargedCents: 0, endReason: 'operator_hangup' })
    await expectApiError(api.mediaToken(callId), 409, 'no_media')
  }, 60_000)
})

describe('PlatformApi without a platform', () => {
  let server: Server
  let origin: string
  let answer: (request: import('node:http').IncomingMessage, response: import('node:http').ServerResponse) => void = () => undefined

  beforeAll(async () => {
    server = createServer((request, response) => answer(request, response))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(async () => {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  })

  it('names the failures that are not answers of the API', async () => {
    // Nothing listens on a port that was just closed.
    const closed = createServer()
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve))
    const port = (closed.address() as AddressInfo).port
    await new Promise((resolve) => closed.close(resolve))
    const timings: ResponseTiming[] = []
    const unreachable = new PlatformApi({ baseUrl: `http://127.0.0.1:${port}`, onResponse: (t) => timings.push(t) })
    await expectApiError(unreachable.presence('online'), 0, 'network_error')
    expect(timings).toEqual([{ method: 'POST', route: '/presence', status: 0, ms: expect.any(Number) }])

    answer = () => undefined // never answers
    await expectApiError(new PlatformApi({ baseUrl: origin, timeoutMs: 200 }).presence('online'), 0, 'timeout')

    answer = (_request, response) => response.writeHead(502, { 'content-type': 'text/html' }).end('<h1>Bad gateway</h1>')
    const proxyError = await expectApiError(new PlatformApi({ baseUrl: origin }).presence('online'), 502, 'http_502')
    expect(proxyError.message).toContain('Bad gateway')

    // Money that is not whole cents is refused rather than passed on to the plugin.
    answer = (_request, response) =>
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ callId: 'x', status: 'settled', chargedCents: 1.5, operatorEarningsCents: 1 }))
    await expectApiError(new PlatformApi({ baseUrl: origin }).endCall(randomUUID(), 'other'), 0, 'invalid_response')

    // A room join that is not one (an address other than ws:// or wss://, no token) is refused too.
    const join = { url: 'wss://media.perminute.example', room: 'call-x', identity: 'op', token: 't', expiresAt: new Date().toISOString() }
    answer = (_request, response) =>
      response.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ callId: 'x', status: 'connecting', channel: 'video', ratePerMinuteCents: 100, fundedMinutes: 1, media: { ...join, url: 'https://media.perminute.example' } }))
    await expectApiError(new PlatformApi({ baseUrl: origin }).startCall({ callId: randomUUID(), requestId: randomUUID() }), 0, 'invalid_response')
    answer = (_request, response) => response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ media: { ...join, token: undefined } }))
    await expectApiError(new PlatformApi({ baseUrl: origin }).mediaToken(randomUUID()), 0, 'invalid_response')
    answer = (_request, response) => response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ media: join }))
    expect(await new PlatformApi({ baseUrl: origin }).mediaToken(randomUUID())).toEqual(join)
  })

  it('reconnects a dropped event stream with Last-Event-ID and resumes after the last event', async () => {
    const seenCursors: Array<string | undefined> = []
    answer = (request, response) => {
      const cursor = request.headers['last-event-id'] as string | undefined
      seenCursors.push(cursor)
      response.writeHead(200, { 'content-type': 'text/event-stream' })
      if (cursor === undefined) {
        // The server asks for a quick retry, sends one event, then drops the connection.
        response.end('retry: 10\n: connected\n\nid: 7\nevent: call.ending\ndata: {"callId":"c1","reason":"funds_exhausted","endedAtMs":1}\n\n')
      } else {
        response.write(`id: 8\nevent: call.settled\ndata: {"callId":"c1"}\n\n`)
      }
    }
    const stop = new AbortController()
    const received: ServerSentMessage[] = []
    for await (const message of new PlatformApi({ baseUrl: origin, token: 'x'.repeat(43) }).events(stop.signal)) {
      received.push(message)
      if (received.length === 2) stop.abort()
    }
    expect(received.map((m) => [m.id, m.event])).toEqual([
      ['7', 'call.ending'],
      ['8', 'call.settled'],
    ])
    expect(received[0]!.data).toEqual({ callId: 'c1', reason: 'funds_exhausted', endedAtMs: 1 })
    expect(seenCursors).toEqual([undefined, '7'])
  })
})

describe('EventStreamParser', () => {
  it('parses the text/event-stream format whatever the chunking', () => {
    const stream =
      '\uFEFF: connected\r\nretry: 2000\r\n\r\nid: 1\nevent: call.low_balance\ndata: {"a":\ndata: 1}\n\n' +
      'id: 2\revent: call.settled\rdata: plain text\r\rdata:no space\n\n: ping\n\nid: 3\n\n'
    // Every way of cutting it into two chunks (CRLF split in the middle included) gives the same messages.
    for (let cut = 0; cut <= stream.length; cut++) {
      const parser = new EventStreamParser()
      const messages = [...parser.push(stream.slice(0, cut)), ...parser.push(stream.slice(cut))]
      expect(messages.map((m) => ({ id: m.id, event: m.event, data: m.data }))).toEqual([
        { id: '1', event: 'call.low_balance', data: { a: 1 } },
        { id: '2', event: 'call.settled', data: 'plain text' },
        { id: '2', event: 'message', data: 'no space' },
      ])
      expect(parser.retryMs).toBe(2000)
      // An id without data dispatches nothing but still moves the resume cursor.
      expect(parser.lastEventId).toBe('3')
    }
  })
})

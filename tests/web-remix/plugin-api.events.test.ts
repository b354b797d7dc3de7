import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startWebStack, stopAfterLedgerCheck, type WebStack } from '../support/web-server.js'
import { askForCall, call, memberConfirms, createMember, fund, openEvents, signedInOperator, sleep, type EventStream, type ServerSentEvent } from './plugin-client.js'

// GET /api/plugin/v1/events: the outbox, streamed to the operator's plugin over Server-Sent Events.


let stack: WebStack
const streams: EventStream[] = []

beforeAll(async () => {
  stack = await startWebStack()
}, 180_000)

afterAll(async () => {
  for (const stream of streams) stream.close()
  await stopAfterLedgerCheck(stack)
}, 60_000)

async function open(token: string, options: { lastEventId?: string } = {}) {
  const stream = await openEvents(stack.url, token, options)
  streams.push(stream)
  return stream
}

const ofCall = (callId: string, type: string) => (event: ServerSentEvent) => event.event === type && JSON.parse(event.data).callId === callId

describe('GET /api/plugin/v1/events', () => {
  it('streams call.low_balance, then call.ending and call.settled when the funds run out', async () => {
    const operator = await signedInOperator(stack.db, stack.url, { ratePerMinuteCents: 100 })
    const bystander = await signedInOperator(stack.db, stack.url)
    const member = await createMember(stack.db, { fundedCents: 250 })
    const stream = await open(operator.token)
    const otherStream = await open(bystander.token)
    expect(stream.status).toBe(200)
    expect(stream.contentType).toMatch(/^text\/event-stream/)

    const callId = randomUUID()
    const started = await call(stack.url, '/api/plugin/v1/calls', {
      json: { callId, requestId: await askForCall(stack.db, member, operator) },
      token: operator.token,
    })
    expect(started.status, started.text).toBe(201)
    await memberConfirms(stack, member, callId)
    // 250 cents at 100 a minute: one period held, one more funded.
    expect(started.body.fundedMinutes).toBe(2)

    // After the first hold 150 cents remain: fewer than 2 further periods, so the member is warned at once.
    const low = await stream.next(ofCall(callId, 'call.low_balance'))
    expect(JSON.parse(low.data)).toEqual({ callId, availableCents: 150, minutesLeft: 1, ratePerMinuteCents: 100 })
    expect(low.id).toMatch(/^\d+$/)

    // Period 3's hold fails at 2 s: the platform ends the call and settles the two periods used.
    const ending = await stream.next(ofCall(callId, 'call.ending'))
    expect(JSON.parse(ending.data)).toEqual({ callId, reason: 'funds_exhausted', endedAtMs: expect.any(Number) })
    const settled = await stream.next(ofCall(callId, 'call.settled'))
    const settlement = JSON.parse(settled.data)
    expect(settlement).toMatchObject({
      callId,
      status: 'settled',
      billedMinutes: 2,
      chargedCents: 200,
      endReason: 'funds_exhausted',
    })
    expect(settlement.commissionCents + settlement.companyShareCents + settlement.operatorEarningsCents).toBe(200)
    expect(BigInt(low.id!) < BigInt(ending.id!) && BigInt(ending.id!) < BigInt(settled.id!)).toBe(true)

    // The plugin is told to hang up, and ending it now returns the platform's settlement.
    const beat = await call(stack.url, `/api/plugin/v1/calls/${callId}/heartbeat`, { method: 'POST', token: operator.token })
    expect(beat.status).toBe(410)
    const ended = await call(stack.url, `/api/plugin/v1/calls/${callId}/end`, { json: { reason: 'operator_hangup' }, token: operator.token })
    expect(ended.status).toBe(200)
    expect(ended.body).toEqual({
      callId,
      status: 'settled',
      billedMinutes: 2,
      chargedCents: 200,
      operatorEarningsCents: settlement.operatorEarningsCents,
      endReason: 'funds_exhausted',
    })

    // Another operator's stream heard none of it.
    await sleep(200)
    expect(otherStream.events.filter((event) => event.data.includes(callId))).toEqual([])
    // Each event arrived once.
    expect(stream.events.filter((event) => event.data.includes(callId)).map((event) => event.event)).toEqual([
      'call.connected',
      'call.low_balance',
      'call.ending',
      'call.settled',
    ])

    // A plugin that reconnects with Last-Event-ID gets what it missed, and only that.
    const resumed = await open(operator.token, { lastEventId: low.id! })
    await resumed.next(ofCall(callId, 'call.settled'))
    expect(resumed.events.map((event) => [event.id, event.event])).toEqual([
      [ending.id, 'call.ending'],
      [settled.id, 'call.settled'],
    ])
    expect(resumed.events.map((event) => event.data)).toEqual([ending.data, settled.data])
  })

  it('streams call.low_balance_cleared when the member tops up during the call', async () => {
    const operator = await signedInOperator(stack.db, stack.url, { ratePerMinuteCents: 100 })
    const member = await createMember(stack.db, { fundedCents: 150 })
    const stream = await open(operator.token)
    const callId = randomUUID()
    expect((await call(stack.url, '/api/plugin/v1/calls', { json: { callId, requestId: await askForCall(stack.db, member, operator) }, token: operator.token })).status).toBe(201)
    await memberConfirms(stack, member, callId)
    await stream.next(ofCall(callId, 'call.low_balance'))
    const lowView = await call(stack.url, `/api/plugin/v1/calls/${callId}`, { token: operator.token })
    expect(lowView.body.lowBalance).toBe(true)

    await fund(stack.db, member.id, 1_000)
    const cleared = await stream.next(ofCall(callId, 'call.low_balance_cleared'))
    expect(JSON.parse(cleared.data)).toMatchObject({ callId, ratePerMinuteCents: 100 })
    const view = await call(stack.url, `/api/plugin/v1/calls/${callId}`, { token: operator.token })
    expect(view.body.lowBalance).toBe(false)

    const ended = await call(stack.url, `/api/plugin/v1/calls/${callId}/end`, { json: { reason: 'member_hangup' }, token: operator.token })
    expect(ended.status).toBe(200)
    const settled = await stream.next(ofCall(callId, 'call.settled'))
    expect(JSON.parse(settled.data)).toMatchObject({ callId, endReason: 'member_hangup', chargedCents: ended.body.chargedCents })
    // A call the plugin ended itself has no call.ending event: the plugin already knows.
    expect(stream.events.some(ofCall(callId, 'call.ending'))).toBe(false)
  })

  it('needs a token, and keeps streams of one operator apart from another’s', async () => {
    const response = await call(stack.url, '/api/plugin/v1/events')
    expect(response.status).toBe(401)
    expect(response.body).toMatchObject({ error: 'unauthorized' })

    // Replaying from the beginning gives only this operator's events.
    const operator = await signedInOperator(stack.db, stack.url)
    const replay = await open(operator.token, { lastEventId: '0' })
    await sleep(500)
    expect(replay.status).toBe(200)
    expect(replay.events).toEqual([])
    expect(replay.comments).toContain('connected')
  })
})

import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import { walletBalance } from '../../activities/ledger/balances.js'
import { setSpendingCaps } from '../../activities/spending-caps.js'
import { splitCharge } from '../../workflows/billing.js'
import { hashToken } from '../../web-remix/app/plugin-api/auth.server.js'
import { createHeartbeatRecorder } from '../../web-remix/app/plugin-api/heartbeat.server.js'
import { startWebStack, stopAfterLedgerCheck, type WebStack } from '../support/web-server.js'
import { askForCall, call, createMember, eventually, fund, memberConfirms, signedInOperator, sleep, type ApiResponse } from './plugin-client.js'

// The call endpoints over real HTTP, with a real worker and 1-second billing periods.


let stack: WebStack

beforeAll(async () => {
  // Settlement normally takes well under a second; 3 s keeps the 202 test short.
  stack = await startWebStack({ env: { SETTLE_WAIT_MS: '3000' } })
}, 180_000)

afterAll(() => stopAfterLedgerCheck(stack), 60_000)

type Operator = Awaited<ReturnType<typeof signedInOperator>>

function expectError(response: ApiResponse, status: number, error: string) {
  expect(response.status, response.text).toBe(status)
  expect(response.body).toEqual({ error, message: expect.any(String) })
}

/** The member's request to this operator (the consent a start answers), at these terms. */
const ask = (operator: Operator, member: { id: string }, terms: { mode?: 'per_minute' | 'prepaid'; prepaidMinutes?: number } = {}) =>
  askForCall(stack.db, member, operator, terms)
const startCall = (operator: Operator, json: unknown) => call(stack.url, '/api/plugin/v1/calls', { json, token: operator.token })
/** Accepted (201, connecting), then started by the member's confirmation: a call on an outside app, running. */
async function startConnected(operator: Operator, member: Member, json: { callId: string } & Record<string, unknown>) {
  const started = await startCall(operator, json)
  expect(started.status, started.text).toBe(201)
  await memberConfirms(stack, member, json.callId)
  return started
}
type Member = Awaited<ReturnType<typeof createMember>>
const endCall = (operator: Operator, callId: string, reason = 'operator_hangup') =>
  call(stack.url, `/api/plugin/v1/calls/${callId}/end`, { json: { reason }, token: operator.token })
const heartbeat = (operator: Operator, callId: string) =>
  call(stack.url, `/api/plugin/v1/calls/${callId}/heartbeat`, { method: 'POST', token: operator.token })
const getCall = (operator: Operator, callId: string) => call(stack.url, `/api/plugin/v1/calls/${callId}`, { token: operator.token })

/** Waits until the call holds `cents` (the workflow has started that many cents' worth of periods). */
const heldReaches = (operator: Operator, callId: string, cents: number) =>
  eventually(async () => {
    const view = await getCall(operator, callId)
    return view.body.heldCents >= cents ? view.body : undefined
  }, 10_000, `call ${callId} to hold ${cents}`)

describe('a per-minute call from start to settlement', () => {
  it('starts (201), replays (200), refuses a reused id (409), beats (204), ends (200), then 410', async () => {
    const operator = await signedInOperator(stack.db, stack.url, { ratePerMinuteCents: 100 })
    const member = await createMember(stack.db, { fundedCents: 1_000 })
    const callId = randomUUID()
    const request = { callId, requestId: await ask(operator, member), memberId: member.id, mode: 'per_minute' }

    const started = await startCall(operator, request)
    expect(started.status, started.text).toBe(201)
    // Accepted: nothing is held until the member confirms the call is connected (a call on an outside app).
    expect(started.body).toEqual({
      callId,
      workflowId: `call-${callId}`,
      status: 'connecting',
      channel: 'outside',
      ratePerMinuteCents: 100,
      fundedMinutes: 10,
      media: null,
    })
    expect((await walletBalance(stack.db, member.id))!.pendingDebitCents).toBe(0)

    // The same request again: the same answer, nothing new started or held.
    const replay = await startCall(operator, request)
    expect(replay.status).toBe(200)
    expect(replay.body).toEqual(started.body)
    await memberConfirms(stack, member, callId)
    // Upper-case spelling of the same ids is the same request.
    const shouted = await startCall(operator, { ...request, callId: callId.toUpperCase(), requestId: request.requestId.toUpperCase(), memberId: member.id.toUpperCase() })
    expect(shouted.status).toBe(200)
    // The same call, now running.
    const running = { ...started.body, status: 'active' }
    expect(shouted.body).toEqual(running)

    expectError(await startCall(operator, { ...request, mode: 'prepaid', prepaidMinutes: 2 }), 409, 'call_id_conflict')
    const otherMember = await createMember(stack.db, { fundedCents: 1_000 })
    expectError(await startCall(operator, { ...request, memberId: otherMember.id }), 409, 'call_id_conflict')
    // One call at a time.
    expectError(await startCall(operator, { callId: randomUUID(), requestId: await ask(operator, otherMember) }), 409, 'operator_busy')

    const beat = await heartbeat(operator, callId)
    expect(beat.status).toBe(204)
    expect(beat.text).toBe('')

    const live = await getCall(operator, callId)
    expect(live.status).toBe(200)
    expect(live.body).toEqual({
      callId,
      status: 'active',
      channel: 'outside',
      startedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      elapsedSeconds: expect.any(Number),
      billedMinutes: expect.any(Number),
      chargedCents: expect.any(Number),
      heldCents: expect.any(Number),
      memberAvailableCents: expect.any(Number),
      lowBalance: false,
    })
    expect(live.body.heldCents + live.body.memberAvailableCents).toBe(1_000)

    // End once period 2 is held: at least two started periods are charged (three if the machine is slow enough
    // for period 3 to begin before the end arrives), exactly by the rate, split to the cent.
    await heldReaches(operator, callId, 200)
    const ended = await endCall(operator, callId)
    expect(ended.status, ended.text).toBe(200)
    const billed = ended.body.billedMinutes as number
    expect(billed).toBeGreaterThanOrEqual(2)
    const split = splitCharge(billed * 100, stack.config.PLATFORM_COMMISSION_BPS, 0)
    expect(ended.body).toEqual({
      callId,
      status: 'settled',
      billedMinutes: billed,
      chargedCents: billed * 100,
      operatorEarningsCents: split.operatorEarningsCents,
      endReason: 'operator_hangup',
    })

    // Ending again (with any reason) returns the same settlement.
    const again = await endCall(operator, callId, 'member_hangup')
    expect(again.status).toBe(200)
    expect(again.body).toEqual(ended.body)

    expectError(await heartbeat(operator, callId), 410, 'call_ended')

    const settled = await getCall(operator, callId)
    expect(settled.body).toMatchObject({
      callId,
      status: 'settled',
      billedMinutes: billed,
      chargedCents: billed * 100,
      heldCents: 0,
      memberAvailableCents: 1_000 - billed * 100,
      lowBalance: false,
      endReason: 'operator_hangup',
    })
    expect(settled.body.elapsedSeconds).toBeGreaterThanOrEqual(1)

    // Replaying the start of a settled call still answers its first answer, and starts nothing.
    const late = await startCall(operator, request)
    expect(late.status).toBe(200)
    expect(late.body).toEqual({ ...started.body, status: 'settled' })
    expect((await walletBalance(stack.db, member.id))!.availableCents).toBe(1_000 - billed * 100)

    // The operator is free again.
    const nextId = randomUUID()
    const next = await startConnected(operator, otherMember, { callId: nextId, requestId: await ask(operator, otherMember) })
    expect((await endCall(operator, next.body.callId)).status).toBe(200)
  })

  it('bills a prepaid block up front and releases what was not used', async () => {
    const operator = await signedInOperator(stack.db, stack.url, { ratePerMinuteCents: 120 })
    const member = await createMember(stack.db, { fundedCents: 1_000 })
    const callId = randomUUID()
    const requestId = await ask(operator, member, { mode: 'prepaid', prepaidMinutes: 3 })
    const started = await startConnected(operator, member, { callId, requestId, memberId: member.id, mode: 'prepaid', prepaidMinutes: 3 })
    expect(started.body).toMatchObject({ status: 'connecting', ratePerMinuteCents: 120, fundedMinutes: 3 })
    const live = await getCall(operator, callId)
    expect(live.body).toMatchObject({ heldCents: 360, memberAvailableCents: 640 })

    // Into the second minute of three: two (or, on a slow machine, three) are charged, the rest is released.
    await sleep(1_300)
    const ended = await endCall(operator, callId, 'member_hangup')
    expect(ended.status).toBe(200)
    const billed = ended.body.billedMinutes as number
    expect([2, 3]).toContain(billed)
    expect(ended.body).toMatchObject({ status: 'settled', chargedCents: billed * 120, endReason: 'member_hangup' })
    expect((await walletBalance(stack.db, member.id))!).toMatchObject({ availableCents: 1_000 - billed * 120, pendingDebitCents: 0 })
  })

  it('answers 202 {status: "ending"} while settlement waits on the worker, then 200', async () => {
    const operator = await signedInOperator(stack.db, stack.url)
    const member = await createMember(stack.db, { fundedCents: 1_000 })
    const callId = randomUUID()
    await startConnected(operator, member, { callId, requestId: await ask(operator, member) })

    await stack.stopWorker()
    try {
      const pending = await endCall(operator, callId)
      expect(pending.status).toBe(202)
      expect(pending.body).toEqual({ status: 'ending' })
    } finally {
      await stack.startWorker()
    }
    const settled = await eventually(async () => {
      const response = await endCall(operator, callId)
      return response.status === 200 ? response : undefined
    }, 20_000, 'the call to settle')
    expect(settled.body).toMatchObject({ callId, status: 'settled', endReason: 'operator_hangup' })
  })
})

describe('heartbeats', () => {
  it('never wait for the worker: answered while the call’s row is locked, recorded by the next one', async () => {
    const operator = await signedInOperator(stack.db, stack.url)
    const member = await createMember(stack.db, { fundedCents: 1_000 })
    const callId = randomUUID()
    await startConnected(operator, member, { callId, requestId: await ask(operator, member) })
    const lastBeat = async () => (await stack.db.call.findUniqueOrThrow({ where: { id: callId } })).lastHeartbeatAt.getTime()
    const before = await lastBeat()

    // The worker's way of holding a call (a hold, a settlement): the row locked in an open transaction. The heartbeat
    // is answered before the lock is let go; had it waited, this transaction would never end.
    const answered = await stack.db.$transaction(async (tx) => {
      await tx.$queryRaw`SELECT id FROM calls WHERE id = ${callId}::uuid FOR UPDATE`
      return heartbeat(operator, callId)
    }, { timeout: 20_000 })
    expect(answered.status).toBe(204)
    expect(await lastBeat()).toBe(before)

    await sleep(20)
    expect((await heartbeat(operator, callId)).status).toBe(204)
    expect(await lastBeat()).toBeGreaterThan(before)
    expect((await endCall(operator, callId)).status).toBe(200)
    expectError(await heartbeat(operator, callId), 410, 'call_ended')
  })
})

describe('the heartbeat in front of Remix', () => {
  it('records an ordinary heartbeat in one statement and leaves every other case to the route', async () => {
    const operator = await signedInOperator(stack.db, stack.url)
    const member = await createMember(stack.db, { fundedCents: 1_000 })
    const callId = randomUUID()
    await startConnected(operator, member, { callId, requestId: await ask(operator, member) })
    const recorder = createHeartbeatRecorder(stack.config.DATABASE_URL, { maxConnections: 1 })
    onTestFinished(() => recorder.close())
    const bearer = `Bearer ${operator.token}`
    const tokenHash = hashToken(operator.token)
    const lastBeat = async () => (await stack.db.call.findUniqueOrThrow({ where: { id: callId } })).lastHeartbeatAt.getTime()
    const setTokenUsedAt = (at: Date) => stack.db.$executeRaw`UPDATE plugin_tokens SET last_used_at = ${at} WHERE token_hash = ${tokenHash}`

    // A token unused for a minute: the fast path declines, the route answers 204 and records the token's use.
    await setTokenUsedAt(new Date(Date.now() - 120_000))
    expect(await recorder.record(bearer, callId)).toBe(false)
    expect((await heartbeat(operator, callId)).status).toBe(204)
    const used = await stack.db.$queryRaw<{ fresh: boolean }[]>`
      SELECT last_used_at > now() - interval '10 seconds' AS fresh FROM plugin_tokens WHERE token_hash = ${tokenHash}`
    expect(used[0]!.fresh).toBe(true)

    // The ordinary case: recorded here.
    const before = await lastBeat()
    await sleep(20)
    expect(await recorder.record(bearer, callId)).toBe(true)
    expect(await lastBeat()).toBeGreaterThan(before)

    // Malformed ids and tokens, another operator's token, a disabled operator: declined here, answered by the route.
    expect(await recorder.record(bearer, 'not-a-uuid')).toBe(false)
    expect(await recorder.record('Bearer short', callId)).toBe(false)
    expect(await recorder.record(undefined, callId)).toBe(false)
    const intruder = await signedInOperator(stack.db, stack.url)
    await heartbeat(intruder, randomUUID()) // records the intruder's token use, so only the call's owner differs
    expect(await recorder.record(`Bearer ${intruder.token}`, callId)).toBe(false)
    expectError(await heartbeat(intruder, callId), 404, 'call_not_found')
    await stack.db.user.update({ where: { id: operator.id }, data: { status: 'disabled' } })
    expect(await recorder.record(bearer, callId)).toBe(false)
    expectError(await heartbeat(operator, callId), 403, 'account_disabled')
    await stack.db.user.update({ where: { id: operator.id }, data: { status: 'active' } })

    // A revoked token and an ended call.
    expect((await endCall(operator, callId)).status).toBe(200)
    expect(await recorder.record(bearer, callId)).toBe(false)
    expectError(await heartbeat(operator, callId), 410, 'call_ended')
    await stack.db.$executeRaw`UPDATE plugin_tokens SET revoked_at = now() WHERE token_hash = ${tokenHash}`
    expectError(await heartbeat(operator, callId), 401, 'unauthorized')
  })
})

describe('refusals', () => {
  it('402 when the wallet does not cover the first minute, and nothing is reserved', async () => {
    const operator = await signedInOperator(stack.db, stack.url, { ratePerMinuteCents: 100 })
    const member = await createMember(stack.db, { fundedCents: 99 })
    const before = await walletBalance(stack.db, member.id)
    const callId = randomUUID()
    expectError(await startCall(operator, { callId, requestId: await ask(operator, member) }), 402, 'insufficient_funds')
    // A prepaid block must be covered in full.
    await fund(stack.db, member.id, 200)
    expectError(
      await startCall(operator, { callId: randomUUID(), requestId: await ask(operator, member, { mode: 'prepaid', prepaidMinutes: 3 }) }),
      402,
      'insufficient_funds',
    )

    expect(await walletBalance(stack.db, member.id)).toEqual({ ...before, postedCents: 299, availableCents: 299 })
    expect(await stack.db.call.count({ where: { memberId: member.id } })).toBe(0)
    expect(await stack.db.transfer.count({ where: { callId } })).toBe(0)
    // The operator is not left busy: a call the member can afford starts.
    await startConnected(operator, member, { callId, requestId: await ask(operator, member) })
    expect((await endCall(operator, callId)).status).toBe(200)
  })

  it('402 spending_cap when the first minute would pass the member’s own cap, and nothing is reserved', async () => {
    const operator = await signedInOperator(stack.db, stack.url, { ratePerMinuteCents: 100 })
    const member = await createMember(stack.db, { fundedCents: 1_000 })
    await setSpendingCaps(stack.db, member.id, { dailyCents: null, monthlyCents: 250, timeZone: 'UTC' })
    // A block of three minutes passes the monthly cap; nothing is held for it.
    const callId = randomUUID()
    expectError(await startCall(operator, { callId, requestId: await ask(operator, member, { mode: 'prepaid', prepaidMinutes: 3 }) }), 402, 'spending_cap')
    expect((await walletBalance(stack.db, member.id))?.availableCents).toBe(1_000)
    expect(await stack.db.call.count({ where: { memberId: member.id } })).toBe(0)
    // Within the cap, a call starts.
    const allowed = randomUUID()
    await startConnected(operator, member, { callId: allowed, requestId: await ask(operator, member, { mode: 'prepaid', prepaidMinutes: 2 }) })
    expect((await endCall(operator, allowed)).status).toBe(200)
  })

  it('404 for a member who is no longer active', async () => {
    const operator = await signedInOperator(stack.db, stack.url)
    const member = await createMember(stack.db, { fundedCents: 1_000 })
    const requestId = await ask(operator, member)
    await stack.db.user.update({ where: { id: member.id }, data: { status: 'disabled' } })
    expectError(await startCall(operator, { callId: randomUUID(), requestId }), 404, 'member_not_found')
  })

  it('422 for malformed bodies', async () => {
    const operator = await signedInOperator(stack.db, stack.url)
    const member = await createMember(stack.db, { fundedCents: 1_000 })
    const valid = { callId: randomUUID(), requestId: await ask(operator, member), memberId: member.id, mode: 'per_minute' }
    const bodies: unknown[] = [
      {},
      null,
      [],
      'call',
      42,
      { ...valid, callId: 'not-a-uuid' },
      { ...valid, callId: 7 },
      { ...valid, memberId: `${member.id}x` },
      { ...valid, mode: 'free' },
      { ...valid, mode: 'prepaid' },
      { ...valid, mode: 'prepaid', prepaidMinutes: 0 },
      { ...valid, mode: 'prepaid', prepaidMinutes: -1 },
      { ...valid, mode: 'prepaid', prepaidMinutes: 1.5 },
      { ...valid, mode: 'prepaid', prepaidMinutes: '3' },
      { ...valid, mode: 'prepaid', prepaidMinutes: 1e9 },
      { ...valid, prepaidMinutes: 3 },
      { ...valid, requestId: 'not-a-uuid' },
      { ...valid, scheduledCallId: randomUUID() },
      { ...valid, ratePerMinuteCents: 0 },
      { ...valid, ratePerMinuteCents: 1.5 },
    ]
    for (const json of bodies) expectError(await startCall(operator, json), 422, 'invalid_body')
    for (const raw of ['{"callId":', '', 'undefined', '\u0000']) {
      expectError(await call(stack.url, '/api/plugin/v1/calls', { raw, token: operator.token }), 422, 'invalid_json')
    }
    expect(await stack.db.call.count({ where: { operatorId: operator.id } })).toBe(0)
  })
})

describe('authorization: an operator never sees another operator’s call', () => {
  it('answers 404 to GET, heartbeat and end, and 409 to a start that reuses the id', async () => {
    const owner = await signedInOperator(stack.db, stack.url)
    const intruder = await signedInOperator(stack.db, stack.url)
    const member = await createMember(stack.db, { fundedCents: 1_000 })
    const callId = randomUUID()
    const request = { callId, requestId: await ask(owner, member), memberId: member.id, mode: 'per_minute' }
    await startConnected(owner, member, request)

    const unknown = await getCall(intruder, randomUUID())
    const foreign = await getCall(intruder, callId)
    expectError(foreign, 404, 'call_not_found')
    // Indistinguishable from a call that does not exist.
    expect(foreign.body).toEqual(unknown.body)
    expectError(await heartbeat(intruder, callId), 404, 'call_not_found')
    expectError(await endCall(intruder, callId), 404, 'call_not_found')
    // The very same body from another operator is another request: refused without saying whose the id is.
    expectError(await startCall(intruder, request), 409, 'call_id_conflict')

    // The owner's call went on untouched.
    const view = await getCall(owner, callId)
    expect(view.body.status).toBe('active')
    const ended = await endCall(owner, callId)
    expect(ended.body).toMatchObject({ status: 'settled', endReason: 'operator_hangup' })
    expectError(await endCall(intruder, callId), 404, 'call_not_found')
  })

  it('answers 404 for unknown and malformed call ids', async () => {
    const operator = await signedInOperator(stack.db, stack.url)
    for (const id of [randomUUID(), 'not-a-uuid', '1', `${randomUUID()}0`]) {
      expectError(await getCall(operator, id), 404, 'call_not_found')
      expectError(await heartbeat(operator, id), 404, 'call_not_found')
      expectError(await endCall(operator, id), 404, 'call_not_found')
    }
  })
})

describe('no input, however malformed, yields a 500', () => {
  it('answers every request in the table with its 4xx and a JSON error', async () => {
    const operator = await signedInOperator(stack.db, stack.url)
    const member = await createMember(stack.db, { fundedCents: 1_000 })
    const token = operator.token
    const uuid = randomUUID()
    const huge = JSON.stringify({ callId: uuid, memberId: member.id, mode: 'per_minute', padding: 'x'.repeat(70 * 1024) })
    const deep = `${'['.repeat(5_000)}${']'.repeat(5_000)}`
    const chunkedHuge = () =>
      new ReadableStream<Uint8Array>({
        start(controller) {
          for (let i = 0; i < 20; i++) controller.enqueue(new TextEncoder().encode(' '.repeat(8 * 1024)))
          controller.close()
        },
      })

    const table: Array<{ name: string; status: number; send: () => Promise<{ status: number; text: string; body?: unknown }> }> = [
      { name: 'body over 64 KiB', status: 413, send: () => call(stack.url, '/api/plugin/v1/calls', { raw: huge, token }) },
      {
        name: 'chunked body over 64 KiB',
        status: 413,
        send: async () => {
          const response = await fetch(`${stack.url}/api/plugin/v1/calls`, {
            method: 'POST',
            headers: { authorization: `Bearer ${token}` },
            body: chunkedHuge(),
            duplex: 'half',
          } as RequestInit)
          const text = await response.text()
          return { status: response.status, text, body: JSON.parse(text) }
        },
      },
      { name: 'deeply nested JSON', status: 422, send: () => call(stack.url, '/api/plugin/v1/calls', { raw: deep, token }) },
      { name: 'invalid UTF-8', status: 422, send: () => call(stack.url, '/api/plugin/v1/calls', { raw: new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]), token }) },
      { name: 'NUL in a login', status: 422, send: () => call(stack.url, '/api/plugin/v1/sessions', { json: { login: 'a\u0000@example.test', password: 'x' } }) },
      { name: 'password of 2000 characters', status: 422, send: () => call(stack.url, '/api/plugin/v1/sessions', { json: { login: 'a@example.test', password: 'x'.repeat(2000) } }) },
      { name: 'sessions with a form body', status: 422, send: () => call(stack.url, '/api/plugin/v1/sessions', { raw: 'login=a&password=b', headers: { 'content-type': 'application/x-www-form-urlencoded' } }) },
      { name: 'NUL in a handle', status: 422, send: () => call(stack.url, '/api/plugin/v1/link', { method: 'PUT', json: { provider: 'sip', handle: 'a\u0000b' }, token }) },
      { name: 'provider of the wrong type', status: 422, send: () => call(stack.url, '/api/plugin/v1/link', { method: 'PUT', json: { provider: 1, handle: 'a' }, token }) },
      { name: 'NUL in a lookup', status: 422, send: () => call(stack.url, '/api/plugin/v1/members/lookup?handle=%00', { token }) },
      { name: 'lookup handle too long', status: 422, send: () => call(stack.url, `/api/plugin/v1/members/lookup?handle=${'h'.repeat(500)}`, { token }) },
      { name: 'presence with a number', status: 422, send: () => call(stack.url, '/api/plugin/v1/presence', { json: { status: 1 }, token }) },
      { name: 'end with a platform reason', status: 422, send: () => call(stack.url, `/api/plugin/v1/calls/${uuid}/end`, { json: { reason: 'funds_exhausted' }, token }) },
      { name: 'end without a body', status: 422, send: () => call(stack.url, `/api/plugin/v1/calls/${uuid}/end`, { method: 'POST', token }) },
      { name: 'call id that is not a uuid', status: 404, send: () => call(stack.url, "/api/plugin/v1/calls/1'%20OR%201=1", { token }) },
      { name: 'call id with a NUL', status: 404, send: () => call(stack.url, '/api/plugin/v1/calls/%00', { token }) },
      { name: 'broken percent-encoding', status: 400, send: () => call(stack.url, '/api/plugin/v1/calls/%E0%A4%A', { token }) },
      { name: 'single-fetch suffix', status: 404, send: () => call(stack.url, `/api/plugin/v1/calls/${uuid}.data`, { token }) },
      { name: 'legacy _data query', status: 404, send: () => call(stack.url, '/api/plugin/v1/events?_data=routes%2Fapi.plugin.v1.events', { token }) },
      { name: 'unknown endpoint', status: 404, send: () => call(stack.url, '/api/plugin/v1/wallets', { token }) },
      { name: 'GET on an action', status: 405, send: () => call(stack.url, '/api/plugin/v1/calls', { token }) },
      { name: 'PUT on a loader', status: 405, send: () => call(stack.url, `/api/plugin/v1/calls/${uuid}`, { method: 'PUT', json: {}, token }) },
      { name: 'DELETE on sessions', status: 405, send: () => call(stack.url, '/api/plugin/v1/sessions', { method: 'DELETE' }) },
      { name: 'Last-Event-ID not a number', status: 400, send: () => call(stack.url, '/api/plugin/v1/events', { token, headers: { 'last-event-id': 'abc' } }) },
      { name: 'Last-Event-ID too large', status: 400, send: () => call(stack.url, '/api/plugin/v1/events', { token, headers: { 'last-event-id': '9'.repeat(25) } }) },
      { name: 'a token of 10 000 characters', status: 401, send: () => call(stack.url, '/api/plugin/v1/presence', { json: { status: 'online' }, headers: { authorization: `Bearer ${'a'.repeat(10_000)}` } }) },
      { name: 'a token with odd characters', status: 401, send: () => call(stack.url, '/api/plugin/v1/presence', { json: { status: 'online' }, headers: { authorization: `Bearer ${'é'.repeat(43)}` } }) },
    ]

    const failures: string[] = []
    for (const row of table) {
      const response = await row.send()
      const json = response.body as { error?: unknown; message?: unknown } | undefined
      if (response.status !== row.status || typeof json?.error !== 'string' || typeof json?.message !== 'string') {
        failures.push(`${row.name}: expected ${row.status}, got ${response.status} ${response.text.slice(0, 200)}`)
      }
    }
    expect(failures).toEqual([])
  })
})

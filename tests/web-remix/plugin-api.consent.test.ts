import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { walletBalance } from '../../activities/ledger/balances.js'
import { startWebStack, stopAfterLedgerCheck, type WebStack } from '../support/web-server.js'
import { askForCall, call, createMember, createOperator, memberConfirms, PASSWORD, signedInOperator, type ApiResponse } from './plugin-client.js'

// The attacks of the security review on consent (docs/decisions/046), replayed over real HTTP against a real worker:
// an operator starting calls nobody asked for, at terms nobody agreed to, and reading strangers' wallets.

let stack: WebStack

beforeAll(async () => {
  stack = await startWebStack()
}, 180_000)

afterAll(() => stopAfterLedgerCheck(stack), 60_000)

type Operator = Awaited<ReturnType<typeof signedInOperator>>

function expectError(response: ApiResponse, status: number, error: string) {
  expect(response.status, response.text).toBe(status)
  expect(response.body).toEqual({ error, message: expect.any(String) })
}

const api = (operator: Operator, path: string, json?: unknown) => call(stack.url, `/api/plugin/v1${path}`, { token: operator.token, json })
const lookup = (operator: Operator, handle: string) => api(operator, `/members/lookup?handle=${encodeURIComponent(handle)}`)
const end = (operator: Operator, callId: string) => api(operator, `/calls/${callId}/end`, { reason: 'operator_hangup' })

async function expectNothingHeld(memberId: string, fundedCents: number) {
  expect(await walletBalance(stack.db, memberId)).toMatchObject({ availableCents: fundedCents, pendingDebitCents: 0 })
  expect(await stack.db.call.count({ where: { memberId } })).toBe(0)
}

describe('no call without the member’s request', () => {
  it('refuses a start that answers no request (403 call_request_required) and reserves nothing', async () => {
    const operator = await signedInOperator(stack.db, stack.url, { ratePerMinuteCents: 1_400 })
    const member = await createMember(stack.db, { fundedCents: 10_000 })
    expectError(await api(operator, '/calls', { callId: randomUUID(), memberId: member.id, mode: 'per_minute' }), 403, 'call_request_required')
    expectError(
      await api(operator, '/calls', { callId: randomUUID(), memberId: member.id, mode: 'prepaid', prepaidMinutes: 5 }),
      403,
      'call_request_required',
    )
    await expectNothingHeld(member.id, 10_000)
  })

  it("refuses another operator's request as unknown, and a closed one as closed", async () => {
    const operator = await signedInOperator(stack.db, stack.url)
    const rival = await signedInOperator(stack.db, stack.url)
    const member = await createMember(stack.db, { fundedCents: 10_000 })
    const toRival = await askForCall(stack.db, member, rival)
    expectError(await api(operator, '/calls', { callId: randomUUID(), requestId: toRival }), 404, 'call_request_not_found')
    expectError(await api(operator, '/calls', { callId: randomUUID(), requestId: randomUUID() }), 404, 'call_request_not_found')
    const cancelled = await askForCall(stack.db, member, operator)
    await stack.db.callRequest.update({ where: { id: cancelled }, data: { status: 'cancelled' } })
    expectError(await api(operator, '/calls', { callId: randomUUID(), requestId: cancelled }), 409, 'call_request_closed')
    const expired = await askForCall(stack.db, member, operator)
    await stack.db.callRequest.update({ where: { id: expired }, data: { expiresAt: new Date(Date.now() - 1_000) } })
    expectError(await api(operator, '/calls', { callId: randomUUID(), requestId: expired }), 409, 'call_request_closed')
    // A booking that is not due is not a consent to call now.
    expectError(await api(operator, '/calls', { callId: randomUUID(), scheduledCallId: randomUUID() }), 404, 'scheduled_call_not_found')
    await expectNothingHeld(member.id, 10_000)
  })

  it('answers a request once: a second call on it is refused', async () => {
    const operator = await signedInOperator(stack.db, stack.url)
    const member = await createMember(stack.db, { fundedCents: 10_000 })
    const requestId = await askForCall(stack.db, member, operator)
    const first = await api(operator, '/calls', { callId: randomUUID(), requestId })
    expect(first.status, first.text).toBe(201)
    expect(await stack.db.callRequest.findUniqueOrThrow({ where: { id: requestId } })).toMatchObject({ status: 'accepted', callId: first.body.callId })
    expect((await end(operator, first.body.callId)).status).toBe(200)
    expectError(await api(operator, '/calls', { callId: randomUUID(), requestId }), 409, 'call_request_closed')
  })
})

describe("the member's terms are the call's terms", () => {
  it('bills at the price asked for after the operator raised it, and refuses a body that disagrees', async () => {
    const operator = await signedInOperator(stack.db, stack.url, { ratePerMinuteCents: 10 })
    const member = await createMember(stack.db, { fundedCents: 10_000 })
    const requestId = await askForCall(stack.db, member, operator)
    // The operator raises the price to $14.00/min after the member asked at $0.10/min.
    await stack.db.operator.update({ where: { userId: operator.id }, data: { ratePerMinuteCents: 1_400 } })
    expectError(await api(operator, '/calls', { callId: randomUUID(), requestId, ratePerMinuteCents: 1_400 }), 409, 'call_terms_mismatch')
    expectError(await api(operator, '/calls', { callId: randomUUID(), requestId, mode: 'prepaid', prepaidMinutes: 1_440 }), 409, 'call_terms_mismatch')
    expectError(await api(operator, '/calls', { callId: randomUUID(), requestId, memberId: (await createMember(stack.db)).id }), 409, 'call_terms_mismatch')
    await expectNothingHeld(member.id, 10_000)

    const started = await api(operator, '/calls', { callId: randomUUID(), requestId, memberId: member.id, mode: 'per_minute' })
    expect(started.status, started.text).toBe(201)
    expect(started.body.ratePerMinuteCents).toBe(10)
    await memberConfirms(stack, member, started.body.callId)
    const row = await stack.db.call.findUniqueOrThrow({ where: { id: started.body.callId } })
    expect(row).toMatchObject({ ratePerMinuteCents: 10, mode: 'per_minute', prepaidMinutes: null })
    expect((await walletBalance(stack.db, member.id))?.pendingDebitCents).toBe(10)
    const ended = await end(operator, started.body.callId)
    expect(ended.body).toMatchObject({ status: 'settled', chargedCents: 0 })
  })

  it('holds the block the member booked, not a larger one', async () => {
    const operator = await signedInOperator(stack.db, stack.url, { ratePerMinuteCents: 100 })
    const member = await createMember(stack.db, { fundedCents: 10_000 })
    const requestId = await askForCall(stack.db, member, operator, { mode: 'prepaid', prepaidMinutes: 5 })
    expectError(await api(operator, '/calls', { callId: randomUUID(), requestId, mode: 'prepaid', prepaidMinutes: 60 }), 409, 'call_terms_mismatch')
    expectError(await api(operator, '/calls', { callId: randomUUID(), requestId, mode: 'per_minute' }), 409, 'call_terms_mismatch')
    const started = await api(operator, '/calls', { callId: randomUUID(), requestId })
    expect(started.status, started.text).toBe(201)
    expect(started.body).toMatchObject({ ratePerMinuteCents: 100, fundedMinutes: 5 })
    await memberConfirms(stack, member, started.body.callId)
    expect((await walletBalance(stack.db, member.id))?.pendingDebitCents).toBe(500)
    expect((await end(operator, started.body.callId)).status).toBe(200)
  })
})

describe('what an operator may learn about a member', () => {
  it('answers a look-up only for a member who asked this operator for a call; otherwise as an unknown handle', async () => {
    const operator = await signedInOperator(stack.db, stack.url, { ratePerMinuteCents: 200 })
    const member = await createMember(stack.db, { fundedCents: 1_000 })
    const unknown = await lookup(operator, `nobody-${randomUUID()}`)
    expectError(unknown, 404, 'member_not_found')
    const stranger = await lookup(operator, member.handle)
    expectError(stranger, 404, 'member_not_found')
    expect(stranger.body).toEqual(unknown.body)

    // Asked another operator: still a stranger to this one.
    await askForCall(stack.db, member, await createOperator(stack.db))
    expectError(await lookup(operator, member.handle), 404, 'member_not_found')

    const requestId = await askForCall(stack.db, member, operator)
    const known = await lookup(operator, member.handle)
    expect(known.status, known.text).toBe(200)
    expect(known.body.member).toMatchObject({
      id: member.id,
      availableCents: 1_000,
      fundedMinutes: 5,
      request: { requestId, mode: 'per_minute', prepaidMinutes: null, ratePerMinuteCents: 200 },
      booking: null,
    })
    // Once the request is answered (or lapses), the member is a stranger again.
    const started = await api(operator, '/calls', { callId: randomUUID(), requestId })
    expect(started.status).toBe(201)
    expectError(await lookup(operator, member.handle), 404, 'member_not_found')
    expect((await end(operator, started.body.callId)).status).toBe(200)
  })
})

describe('operators bill only from a confirmed address', () => {
  it('refuses the plugin sign-in of an operator whose e-mail is not confirmed (403 email_not_verified)', async () => {
    const operator = await createOperator(stack.db)
    await stack.db.user.update({ where: { id: operator.id }, data: { emailVerifiedAt: null } })
    expectError(await call(stack.url, '/api/plugin/v1/sessions', { json: { login: operator.email, password: PASSWORD } }), 403, 'email_not_verified')
    expect(await stack.db.pluginToken.count({ where: { userId: operator.id } })).toBe(0)
  })

  it('refuses a token of an operator whose address is no longer confirmed', async () => {
    const operator = await signedInOperator(stack.db, stack.url)
    await stack.db.user.update({ where: { id: operator.id }, data: { emailVerifiedAt: null } })
    expectError(await api(operator, '/presence', { status: 'online' }), 403, 'email_not_verified')
  })
})

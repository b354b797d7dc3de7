import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createUser } from '../../activities/identity/users.js'
import { PortalClient } from '../support/portal-client.js'
import { startWebStack, stopAfterLedgerCheck, type WebStack } from '../support/web-server.js'
import { askForCall, call, eventually, fund, openEvents, PASSWORD, signedInOperator, type ApiResponse, type EventStream, type ServerSentEvent } from './plugin-client.js'

// Text chat in a call (docs/decisions/065-call-chat.md), over real HTTP against the web server, worker, Temporal and
// database: the operator's plugin API and the member's call page route, both streams, and the refusals.

let stack: WebStack
const streams: EventStream[] = []

beforeAll(async () => {
  stack = await startWebStack()
}, 180_000)

afterAll(async () => {
  for (const stream of streams) stream.close()
  await stopAfterLedgerCheck(stack)
}, 60_000)

type Operator = Awaited<ReturnType<typeof signedInOperator>>
type Member = Awaited<ReturnType<typeof verifiedMember>>

async function verifiedMember(fundedCents = 1_000) {
  const email = `chatter-${randomUUID().slice(0, 8)}@example.test`
  const member = await createUser(stack.db, { role: 'member', email, password: PASSWORD, displayName: `Chatter ${email.slice(8, 12)}` })
  await stack.db.user.update({ where: { id: member.id }, data: { emailVerifiedAt: new Date() } })
  await fund(stack.db, member.id, fundedCents)
  const client = new PortalClient(stack.url)
  await client.logIn(email, PASSWORD)
  return { ...member, client }
}

/** The operator answers the member's request: a call on an outside app, connecting (nothing billed). */
async function acceptedCall(operator: Operator, member: Member): Promise<string> {
  const callId = randomUUID()
  const started = await call(stack.url, '/api/plugin/v1/calls', { token: operator.token, json: { callId, requestId: await askForCall(stack.db, member, operator) } })
  expect(started.status, started.text).toBe(201)
  return callId
}

const operatorSends = (operator: Operator, callId: string, json: unknown) =>
  call(stack.url, `/api/plugin/v1/calls/${callId}/messages`, { token: operator.token, json })
const operatorReads = (operator: Operator, callId: string) => call(stack.url, `/api/plugin/v1/calls/${callId}/messages`, { token: operator.token })
const history = (operator: Operator, memberId: string) => call(stack.url, `/api/plugin/v1/members/${memberId}/messages`, { token: operator.token })

/** Hangs up a call still connecting (it settles with nothing charged) and waits until it is settled. */
async function settle(operator: Operator, callId: string) {
  const ended = await call(stack.url, `/api/plugin/v1/calls/${callId}/end`, { token: operator.token, json: { reason: 'operator_hangup' } })
  expect([200, 202], ended.text).toContain(ended.status)
  await eventually(async () => ((await stack.db.call.findUniqueOrThrow({ where: { id: callId } })).status === 'settled' ? true : undefined), 15_000, 'settlement')
}

function expectError(response: ApiResponse, status: number, error: string) {
  expect(response.status, response.text).toBe(status)
  expect(response.body).toEqual({ error, message: expect.any(String) })
}

const messageOf = (callId: string, from: string) => (event: ServerSentEvent) =>
  event.event === 'call.message' && JSON.parse(event.data).callId === callId && JSON.parse(event.data).from === from

async function open(token: string | null, options: { path?: string; cookie?: string } = {}) {
  const stream = await openEvents(stack.url, token, options)
  streams.push(stream)
  expect(stream.status).toBe(200)
  return stream
}

describe('chat in a call', () => {
  it('goes both ways, live on both streams, and is kept with the call', async () => {
    const operator = await signedInOperator(stack.db, stack.url)
    const bystander = await signedInOperator(stack.db, stack.url)
    const member = await verifiedMember()
    const plugin = await open(operator.token)
    const otherPlugin = await open(bystander.token)
    const page = await open(null, { path: '/calls/events', cookie: member.client.cookieHeader() })
    const callId = await acceptedCall(operator, member)

    const sent = await operatorSends(operator, callId, { body: '  Hello, can you hear me?  ' })
    expect(sent.status, sent.text).toBe(201)
    expect(sent.body).toEqual({
      message: { id: expect.stringMatching(/^[0-9a-f-]{36}$/), callId, from: 'operator', body: 'Hello, can you hear me?', sentAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT.*Z$/) },
    })
    // The member's page hears it at once, as it was stored.
    const heard = await page.next(messageOf(callId, 'operator'))
    expect(JSON.parse(heard.data)).toEqual(sent.body.message)

    // The member answers from the call page (a form with its CSRF token).
    const answer = await member.client.post(`/calls/${callId}/messages`, { body: 'Yes, loud and clear' })
    expect(answer.status).toBe(200)
    const answered = await answer.json()
    expect(answered).toMatchObject({ ok: true, message: { callId, from: 'member', body: 'Yes, loud and clear' } })
    const received = await plugin.next(messageOf(callId, 'member'))
    expect(JSON.parse(received.data)).toEqual(answered.message)
    // Each side's stream has both messages (its own too), and nobody else's has any.
    await plugin.next(messageOf(callId, 'operator'))
    await page.next(messageOf(callId, 'member'))
    expect(otherPlugin.events.filter((event) => event.data.includes(callId))).toEqual([])

    // Kept with the call, in order, for both.
    const listed = await operatorReads(operator, callId)
    expect(listed.status).toBe(200)
    expect(listed.body.messages).toEqual([sent.body.message, answered.message])
    const memberList = await member.client.get(`/calls/${callId}/messages`)
    expect(memberList.status).toBe(200)
    expect((await memberList.json()).messages).toEqual([sent.body.message, answered.message])
    // The call page carries the conversation when it loads.
    const html = await member.client.page(`/calls/${callId}`)
    expect(html).toContain('Hello, can you hear me?')
    expect(html).toContain('Yes, loud and clear')

    // Without CSRF the member's form is refused, and nothing is written.
    expect((await member.client.post(`/calls/${callId}/messages`, { body: 'forged' }, { csrf: false })).status).toBe(403)
    expect(await stack.db.callMessage.count({ where: { callId } })).toBe(2)
    await settle(operator, callId)
  })

  it('is for the two parties only: another operator or member finds no call', async () => {
    const operator = await signedInOperator(stack.db, stack.url)
    const stranger = await signedInOperator(stack.db, stack.url)
    const member = await verifiedMember()
    const otherMember = await verifiedMember()
    const callId = await acceptedCall(operator, member)
    expect((await operatorSends(operator, callId, { body: 'private' })).status).toBe(201)

    expectError(await operatorSends(stranger, callId, { body: 'let me in' }), 404, 'call_not_found')
    expectError(await operatorReads(stranger, callId), 404, 'call_not_found')
    // Exactly like a call nobody has.
    const unknown = randomUUID()
    expectError(await operatorSends(operator, unknown, { body: 'anyone?' }), 404, 'call_not_found')
    expectError(await operatorReads(operator, unknown), 404, 'call_not_found')
    expectError(await operatorReads(operator, 'not-a-call'), 404, 'call_not_found')

    expect((await otherMember.client.post(`/calls/${callId}/messages`, { body: 'let me in' })).status).toBe(404)
    expect((await otherMember.client.get(`/calls/${callId}/messages`)).status).toBe(404)
    expect((await call(stack.url, `/api/plugin/v1/calls/${callId}/messages`, { json: { body: 'no token' } })).status).toBe(401)
    expect((await stack.db.callMessage.findMany({ where: { callId }, select: { body: true } })).map((m) => m.body)).toEqual(['private'])
    await settle(operator, callId)
  })

  it('refuses malformed messages (422) and writes nothing', async () => {
    const operator = await signedInOperator(stack.db, stack.url)
    const member = await verifiedMember()
    const callId = await acceptedCall(operator, member)
    for (const json of [{}, { body: '' }, { body: ' \n\t ' }, { body: 'x'.repeat(1001) }, { body: 42 }, { body: ['hi'] }, { body: 'nul\u0000byte' }, 'hi']) {
      expectError(await operatorSends(operator, callId, json), 422, 'invalid_body')
    }
    expectError(await call(stack.url, `/api/plugin/v1/calls/${callId}/messages`, { token: operator.token, raw: '{"body":' }), 422, 'invalid_json')
    // 1000 characters is the limit, counted after trimming.
    expect((await operatorSends(operator, callId, { body: ` ${'é'.repeat(1000)} ` })).status).toBe(201)
    expect((await member.client.post(`/calls/${callId}/messages`, { body: '   ' })).status).toBe(422)
    expect((await member.client.post(`/calls/${callId}/messages`, { body: 'y'.repeat(1001) })).status).toBe(422)
    expect(await stack.db.callMessage.count({ where: { callId } })).toBe(1)
    await settle(operator, callId)
  })

  it('limits each side to 20 messages a minute in a call (429 with Retry-After)', async () => {
    const operator = await signedInOperator(stack.db, stack.url)
    const member = await verifiedMember()
    const callId = await acceptedCall(operator, member)
    // Sent all at once: the limit holds under concurrency too.
    const answers = await Promise.all(Array.from({ length: 24 }, (_, k) => operatorSends(operator, callId, { body: `message ${k}` })))
    expect(answers.filter((answer) => answer.status === 201)).toHaveLength(20)
    const refused = answers.filter((answer) => answer.status !== 201)
    expect(refused).toHaveLength(4)
    for (const answer of refused) {
      expectError(answer, 429, 'too_many_messages')
      expect(Number(answer.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
      expect(Number(answer.headers.get('retry-after'))).toBeLessThanOrEqual(60)
    }
    // The limit is per author: the member can still write.
    const memberAnswer = await member.client.post(`/calls/${callId}/messages`, { body: 'my turn' })
    expect(memberAnswer.status).toBe(200)
    expect(await stack.db.callMessage.count({ where: { callId } })).toBe(21)
    await settle(operator, callId)
  })

  it('closes when the call is settled (409 call_ended); the messages stay readable', async () => {
    const operator = await signedInOperator(stack.db, stack.url)
    const member = await verifiedMember()
    const callId = await acceptedCall(operator, member)
    expect((await operatorSends(operator, callId, { body: 'one moment' })).status).toBe(201)
    await settle(operator, callId)
    expectError(await operatorSends(operator, callId, { body: 'too late' }), 409, 'call_ended')
    expect((await member.client.post(`/calls/${callId}/messages`, { body: 'too late' })).status).toBe(409)
    expect((await operatorReads(operator, callId)).body.messages.map((m: { body: string }) => m.body)).toEqual(['one moment'])
  })
})

describe('a member’s earlier messages, for the operator', () => {
  it('shows the operator what they and this member wrote in earlier calls, and nobody else’s', async () => {
    const operator = await signedInOperator(stack.db, stack.url)
    const other = await signedInOperator(stack.db, stack.url)
    const member = await verifiedMember()
    const first = await acceptedCall(operator, member)
    expect((await operatorSends(operator, first, { body: 'See you next week' })).status).toBe(201)
    expect((await member.client.post(`/calls/${first}/messages`, { body: 'Bye!' })).status).toBe(200)
    await settle(operator, first)

    // The member's call with another operator stays between them.
    const elsewhere = await acceptedCall(other, member)
    expect((await operatorSends(other, elsewhere, { body: 'not for the first operator' })).status).toBe(201)
    await settle(other, elsewhere)

    // The member calls again: the operator sees the earlier conversation, marked with its call.
    const second = await acceptedCall(operator, member)
    const earlier = await history(operator, member.id)
    expect(earlier.status, earlier.text).toBe(200)
    const startedAt = (await stack.db.call.findUniqueOrThrow({ where: { id: first } })).startedAt.toISOString()
    expect(earlier.body).toEqual({
      member: { id: member.id, displayName: member.displayName },
      messages: [
        expect.objectContaining({ callId: first, from: 'operator', body: 'See you next week', callStartedAt: startedAt }),
        expect.objectContaining({ callId: first, from: 'member', body: 'Bye!', callStartedAt: startedAt }),
      ],
    })
    await settle(operator, second)

    // An operator this member never called (nor asks) cannot read it: 404, exactly like an unknown id.
    const stranger = await signedInOperator(stack.db, stack.url)
    expectError(await history(stranger, member.id), 404, 'member_not_found')
    expectError(await history(operator, randomUUID()), 404, 'member_not_found')
    expectError(await history(operator, 'not-an-id'), 404, 'member_not_found')
    // An operator is no member: their id finds nothing either.
    expectError(await history(other, operator.id), 404, 'member_not_found')
    // A member asking the stranger for a call now is known to them (with nothing between them yet).
    await askForCall(stack.db, member, stranger)
    expect((await history(stranger, member.id)).body).toEqual({ member: { id: member.id, displayName: member.displayName }, messages: [] })
  })
})

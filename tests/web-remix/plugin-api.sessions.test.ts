import { createHash, randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createUser } from '../../activities/identity/users.js'
import { MAX_FAILURES_PER_ACCOUNT, MAX_FAILURES_PER_ADDRESS } from '../../web-remix/app/auth/throttle.server.js'
import { ownAddress, PortalClient } from '../support/portal-client.js'
import { startWebStack, stopAfterLedgerCheck, type WebStack } from '../support/web-server.js'
import { askForCall, call, memberConfirms, createMember, createOperator, PASSWORD, signedInOperator, signIn, sleep, type ApiResponse } from './plugin-client.js'

// Signing in and out, linking the calling account, presence (and the profiles page that shows it), member lookup.
// The server trusts X-Forwarded-For from loopback (TRUST_PROXY), so that the sign-in throttle's tests each come from
// an address of their own.

let stack: WebStack

beforeAll(async () => {
  stack = await startWebStack({ env: { TRUST_PROXY: 'loopback' } })
}, 180_000)

afterAll(() => stopAfterLedgerCheck(stack), 60_000)

const sessions = '/api/plugin/v1/sessions'

function expectError(response: ApiResponse, status: number, error: string) {
  expect(response.status).toBe(status)
  expect(response.body).toEqual({ error, message: expect.any(String) })
}

describe('POST /api/plugin/v1/sessions', () => {
  it('gives an active operator a token (201) and stores only its hash', async () => {
    const operator = await createOperator(stack.db, { ratePerMinuteCents: 250 })
    const response = await call(stack.url, sessions, { json: { login: operator.email, password: PASSWORD } })
    expect(response.status).toBe(201)
    expect(response.body).toEqual({
      token: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      expiresAt: expect.any(String),
      expiresInSeconds: expect.any(Number),
      operator: { id: operator.id, displayName: operator.displayName, ratePerMinuteCents: 250 },
    })
    const token = response.body.token as string
    const stored = await stack.db.pluginToken.findMany({ where: { userId: operator.id } })
    expect(stored.map((row) => row.tokenHash)).toEqual([createHash('sha256').update(token).digest('hex')])
    expect(stored[0]!.revokedAt).toBeNull()
  })

  it('takes the login in any case', async () => {
    const operator = await createOperator(stack.db)
    const response = await call(stack.url, sessions, { json: { login: `  ${operator.email.toUpperCase()} `, password: PASSWORD } })
    expect(response.status).toBe(201)
  })

  it('answers 401 with the same message for an unknown login and a wrong password', async () => {
    const operator = await createOperator(stack.db)
    const wrongPassword = await call(stack.url, sessions, { json: { login: operator.email, password: 'not-the-password' } })
    const unknownLogin = await call(stack.url, sessions, { json: { login: 'nobody@example.test', password: PASSWORD } })
    expectError(wrongPassword, 401, 'invalid_credentials')
    expect(unknownLogin.status).toBe(401)
    expect(unknownLogin.body).toEqual(wrongPassword.body)
  })

  it("answers a member's or an admin's right password exactly like a wrong one, so it confirms no password", async () => {
    const member = await createMember(stack.db)
    const admin = await createUser(stack.db, { role: 'admin', email: `admin-${randomUUID().slice(0, 8)}@example.test`, password: PASSWORD, displayName: 'Admin' })
    const headers = ownAddress()
    const wrong = await call(stack.url, sessions, { json: { login: member.email, password: 'wrong-password' }, headers })
    expectError(wrong, 401, 'invalid_credentials')
    for (const login of [member.email, admin.email]) {
      const right = await call(stack.url, sessions, { json: { login, password: PASSWORD }, headers })
      expect(right.status, login).toBe(401)
      expect(right.body, login).toEqual(wrong.body)
    }
    // And it counts as a failure, as a wrong password does: the throttle tells nothing either.
    const statuses = []
    for (let i = 0; i < MAX_FAILURES_PER_ACCOUNT; i++) statuses.push((await call(stack.url, sessions, { json: { login: admin.email, password: PASSWORD }, headers })).status)
    expect(statuses).toEqual([...Array(MAX_FAILURES_PER_ACCOUNT - 1).fill(401), 429])
  })

  it('tells a disabled operator, whose password it is, that the account is disabled (403)', async () => {
    const disabled = await createOperator(stack.db, { status: 'disabled' })
    expectError(await call(stack.url, sessions, { json: { login: disabled.email, password: PASSWORD }, headers: ownAddress() }), 403, 'account_disabled')
    expectError(await call(stack.url, sessions, { json: { login: disabled.email, password: 'wrong-password' }, headers: ownAddress() }), 401, 'invalid_credentials')
  })

  it("is throttled with the portal's log-in: 30 wrong passwords get 5 answers, then 429 with Retry-After", async () => {
    const admin = await createUser(stack.db, { role: 'admin', email: `admin-${randomUUID().slice(0, 8)}@example.test`, password: PASSWORD, displayName: 'Admin' })
    const headers = ownAddress()
    const answers: ApiResponse[] = []
    for (let i = 0; i < 30; i++) answers.push(await call(stack.url, sessions, { json: { login: admin.email, password: `guess-${i}` }, headers }))
    expect(answers.map((a) => a.status)).toEqual([...Array(MAX_FAILURES_PER_ACCOUNT).fill(401), ...Array(30 - MAX_FAILURES_PER_ACCOUNT).fill(429)])
    const refused = answers.at(-1)!
    expectError(refused, 429, 'too_many_attempts')
    expect(refused.body.message).toMatch(/^too many failed sign-ins for this account; try again in 1[45] minutes$/)
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(14 * 60)
    expect(Number(refused.headers.get('retry-after'))).toBeLessThanOrEqual(15 * 60)
    // The same account, from elsewhere and with the right password: the portal's form waits too, and the plugin.
    const portal = await new PortalClient(stack.url, ownAddress()).post('/login', { email: admin.email, password: PASSWORD })
    expect(portal.status).toBe(429)
    expectError(await call(stack.url, sessions, { json: { login: admin.email, password: PASSWORD }, headers: ownAddress() }), 429, 'too_many_attempts')
  })

  it('counts 40 sign-ins sent at once one by one: at most the limits get through', async () => {
    const operator = await createOperator(stack.db)
    const headers = ownAddress()
    const oneAccount = await Promise.all(
      Array.from({ length: 40 }, (_, i) => call(stack.url, sessions, { json: { login: operator.email, password: `guess-${i}` }, headers }).then((a) => a.status)),
    )
    expect(oneAccount.filter((status) => status === 401)).toHaveLength(MAX_FAILURES_PER_ACCOUNT)
    expect(oneAccount.filter((status) => status === 429)).toHaveLength(40 - MAX_FAILURES_PER_ACCOUNT)

    const elsewhere = ownAddress()
    const manyAccounts = await Promise.all(
      Array.from({ length: 40 }, () => call(stack.url, sessions, { json: { login: `nobody-${randomUUID()}@example.test`, password: 'a guess' }, headers: elsewhere })),
    )
    expect(manyAccounts.filter((a) => a.status === 401)).toHaveLength(MAX_FAILURES_PER_ADDRESS)
    const refused = manyAccounts.filter((a) => a.status === 429)
    expect(refused).toHaveLength(40 - MAX_FAILURES_PER_ADDRESS)
    expect(refused[0]!.body.message).toMatch(/^too many failed sign-ins from this network; try again in 1[45] minutes$/)
  })

  it('answers 422 to a malformed sign-in', async () => {
    expectError(await call(stack.url, sessions, { json: { login: 'x@example.test' } }), 422, 'invalid_body')
    expectError(await call(stack.url, sessions, { json: { login: 42, password: PASSWORD } }), 422, 'invalid_body')
    expectError(await call(stack.url, sessions, { raw: 'login=a&password=b' }), 422, 'invalid_json')
  })
})

describe('bearer tokens', () => {
  it('DELETE /sessions/current revokes the token (204); it is refused from then on (401)', async () => {
    const operator = await signedInOperator(stack.db, stack.url)
    const presence = { json: { status: 'online' }, token: operator.token }
    expect((await call(stack.url, '/api/plugin/v1/presence', presence)).status).toBe(204)

    const signOut = await call(stack.url, `${sessions}/current`, { method: 'DELETE', token: operator.token })
    expect(signOut.status).toBe(204)
    expect(signOut.text).toBe('')

    expectError(await call(stack.url, '/api/plugin/v1/presence', presence), 401, 'unauthorized')
    expectError(await call(stack.url, `${sessions}/current`, { method: 'DELETE', token: operator.token }), 401, 'unauthorized')
    // Another session of the same operator is not affected.
    const second = await signIn(stack.url, operator.email)
    expect((await call(stack.url, '/api/plugin/v1/presence', { json: { status: 'offline' }, token: second })).status).toBe(204)
  })

  it('answers 401 without a token, with a malformed one, or with an unknown one', async () => {
    const missing = await call(stack.url, '/api/plugin/v1/presence', { json: { status: 'online' } })
    expectError(missing, 401, 'unauthorized')
    expect(missing.headers.get('www-authenticate')).toMatch(/^Bearer/)
    for (const authorization of ['Bearer', 'Bearer short', `Basic ${Buffer.from('a:b').toString('base64')}`, `Bearer ${'A'.repeat(43)}`, `bearer ${'A'.repeat(43)} x`]) {
      const response = await call(stack.url, '/api/plugin/v1/presence', { json: { status: 'online' }, headers: { authorization } })
      expectError(response, 401, 'unauthorized')
    }
  })

  it('refuses the token of an operator disabled after signing in (403)', async () => {
    const operator = await signedInOperator(stack.db, stack.url)
    await stack.db.user.update({ where: { id: operator.id }, data: { status: 'disabled' } })
    expectError(await call(stack.url, '/api/plugin/v1/presence', { json: { status: 'online' }, token: operator.token }), 403, 'account_disabled')
  })
})

describe('PUT /api/plugin/v1/link', () => {
  it("links the operator's calling account and keeps a handle to one account", async () => {
    const operator = await signedInOperator(stack.db, stack.url)
    const handle = `op-${operator.id.slice(0, 8)}`
    const linked = await call(stack.url, '/api/plugin/v1/link', { method: 'PUT', json: { provider: 'discord', handle: ` ${handle} ` }, token: operator.token })
    expect(linked.status).toBe(200)
    expect(linked.body).toEqual({ provider: 'discord', handle })
    const user = await stack.db.user.findUniqueOrThrow({ where: { id: operator.id } })
    expect([user.callingProvider, user.callingHandle]).toEqual(['discord', handle])

    // Linking the same handle again is fine; moving to another provider too.
    const again = await call(stack.url, '/api/plugin/v1/link', { method: 'PUT', json: { provider: 'zoom', handle }, token: operator.token })
    expect(again.status).toBe(200)

    const other = await signedInOperator(stack.db, stack.url)
    expectError(await call(stack.url, '/api/plugin/v1/link', { method: 'PUT', json: { provider: 'zoom', handle }, token: other.token }), 409, 'handle_taken')
    const member = await createMember(stack.db)
    expectError(
      await call(stack.url, '/api/plugin/v1/link', { method: 'PUT', json: { provider: 'discord', handle: member.handle }, token: other.token }),
      409,
      'handle_taken',
    )
  })

  it('answers 422 to an unknown provider or a handle that is empty or too long', async () => {
    const operator = await signedInOperator(stack.db, stack.url)
    for (const json of [
      { provider: 'skype', handle: 'someone' },
      { provider: 'discord', handle: '' },
      { provider: 'discord', handle: '   ' },
      { provider: 'discord', handle: 'x'.repeat(201) },
      { provider: 'discord' },
      { handle: 'someone' },
    ]) {
      expectError(await call(stack.url, '/api/plugin/v1/link', { method: 'PUT', json, token: operator.token }), 422, 'invalid_body')
    }
    const longest = operator.id.padEnd(200, 'x')
    const linked = await call(stack.url, '/api/plugin/v1/link', { method: 'PUT', json: { provider: 'other', handle: longest }, token: operator.token })
    expect(linked.status).toBe(200)
  })
})

describe('POST /api/plugin/v1/presence and the profiles page', () => {
  // The listing pages by twelve among every operator of the test database, so each look is at this operator's profile,
  // whose presence is computed as the listing's.
  const shownPresence = async (operatorId: string) => {
    const page = await call(stack.url, `/operators/${operatorId}`)
    expect(page.status).toBe(200)
    const match = new RegExp(`data-operator-id="${operatorId}"[\\s\\S]*?data-presence="(\\w+)"`).exec(page.text)
    return match?.[1]
  }

  it('shows online, busy and offline, and online only until it expires', async () => {
    const operator = await signedInOperator(stack.db, stack.url, { ratePerMinuteCents: 1_999, headline: 'Tarot & astrology' })
    const report = (status: string) => call(stack.url, '/api/plugin/v1/presence', { json: { status }, token: operator.token })

    expect(await shownPresence(operator.id)).toBe('offline')
    const page = await call(stack.url, `/?q=${encodeURIComponent(operator.displayName)}`)
    expect(page.text).toContain(operator.displayName)
    expect(page.text).toContain('$19.99/min')
    expect(page.text).toContain('Tarot &amp; astrology')

    const before = Date.now()
    expect((await report('online')).status).toBe(204)
    const row = await stack.db.operator.findUniqueOrThrow({ where: { userId: operator.id } })
    expect(row.presence).toBe('online')
    const ttl = row.presenceExpiresAt!.getTime() - before
    expect(ttl).toBeGreaterThan(stack.config.PRESENCE_TTL_MS - 5_000)
    expect(ttl).toBeLessThan(stack.config.PRESENCE_TTL_MS + 5_000)
    expect(await shownPresence(operator.id)).toBe('online')

    expect((await report('busy')).status).toBe(204)
    expect(await shownPresence(operator.id)).toBe('busy')

    expect((await report('online')).status).toBe(204)
    await stack.db.operator.update({ where: { userId: operator.id }, data: { presenceExpiresAt: new Date(Date.now() - 1_000) } })
    expect(await shownPresence(operator.id)).toBe('offline')

    expect((await report('online')).status).toBe(204)
    expect((await report('offline')).status).toBe(204)
    const offline = await stack.db.operator.findUniqueOrThrow({ where: { userId: operator.id } })
    expect([offline.presence, offline.presenceExpiresAt]).toEqual(['offline', null])
    expect(await shownPresence(operator.id)).toBe('offline')
  })

  it('serves the page with its client assets, and a 404 page for what does not exist', async () => {
    const page = await call(stack.url, '/')
    expect(page.headers.get('content-type')).toMatch(/^text\/html/)
    const script = /<script[^>]+src="(\/assets\/[^"]+\.js)"/.exec(page.text) ?? /import\("(\/assets\/[^"]+\.js)"\)/.exec(page.text)
    expect(script, 'the page loads its client bundle').not.toBeNull()
    const asset = await fetch(`${stack.url}${script![1]}`)
    expect(asset.status).toBe(200)
    expect(asset.headers.get('content-type')).toMatch(/javascript/)
    expect(asset.headers.get('cache-control')).toMatch(/immutable/)
    await asset.arrayBuffer()

    const missing = await call(stack.url, '/no-such-page')
    expect(missing.status).toBe(404)
    expect(missing.text).toContain('404')
  })

  it('answers 422 to an unknown status', async () => {
    const operator = await signedInOperator(stack.db, stack.url)
    for (const json of [{ status: 'away' }, { status: null }, {}, ['online']]) {
      expectError(await call(stack.url, '/api/plugin/v1/presence', { json, token: operator.token }), 422, 'invalid_body')
    }
  })
})

describe('GET /api/plugin/v1/members/lookup', () => {
  const lookup = (token: string, handle: string) =>
    call(stack.url, `/api/plugin/v1/members/lookup?handle=${encodeURIComponent(handle)}`, { token })

  it("summarises a member for the operator: balance, minutes at the operator's price, spending", async () => {
    const operator = await signedInOperator(stack.db, stack.url, { ratePerMinuteCents: 150 })
    const member = await createMember(stack.db, { fundedCents: 1_234 })
    // The member is asking this operator for a call (docs/decisions/046).
    const requestId = await askForCall(stack.db, member, operator)
    const response = await lookup(operator.token, member.handle)
    expect(response.status).toBe(200)
    const request = await stack.db.callRequest.findUniqueOrThrow({ where: { id: requestId } })
    expect(response.body).toEqual({
      member: {
        id: member.id,
        displayName: member.displayName,
        availableCents: 1_234,
        fundedMinutes: 8,
        averageSpendCents: 0,
        paidCalls: 0,
        rating: { average: null, count: 0 },
        request: {
          requestId,
          mode: 'per_minute',
          prepaidMinutes: null,
          ratePerMinuteCents: 150,
          channel: 'outside',
          requestedAt: request.createdAt.toISOString(),
          expiresAt: request.expiresAt.toISOString(),
        },
        booking: null,
      },
    })
  })

  it('averages what the member paid over settled calls that were charged', async () => {
    const operator = await signedInOperator(stack.db, stack.url, { ratePerMinuteCents: 100 })
    const member = await createMember(stack.db, { fundedCents: 5_000 })
    const settlements: Array<{ billedMinutes: number; chargedCents: number }> = []
    for (const lengthMs of [600, 1_400]) {
      const callId = crypto.randomUUID()
      const requestId = await askForCall(stack.db, member, operator)
      const started = await call(stack.url, '/api/plugin/v1/calls', { json: { callId, requestId }, token: operator.token })
      expect(started.status).toBe(201)
      await memberConfirms(stack, member, callId)
      await sleep(lengthMs)
      const ended = await call(stack.url, `/api/plugin/v1/calls/${callId}/end`, { json: { reason: 'member_hangup' }, token: operator.token })
      expect(ended.status).toBe(200)
      settlements.push(ended.body)
    }
    const paid = settlements.filter((s) => s.billedMinutes > 0)
    expect(paid.length).toBeGreaterThan(0)
    const charged = paid.reduce((sum, s) => sum + s.chargedCents, 0)

    await askForCall(stack.db, member, operator)
    const response = await lookup(operator.token, member.handle)
    expect(response.status).toBe(200)
    expect(response.body.member).toMatchObject({
      availableCents: 5_000 - settlements.reduce((sum, s) => sum + s.chargedCents, 0),
      paidCalls: paid.length,
      averageSpendCents: Math.round(charged / paid.length),
    })
  })

  it('answers 404 for a handle that is not a member’s, 422 without a handle', async () => {
    const operator = await signedInOperator(stack.db, stack.url)
    const other = await createOperator(stack.db)
    await stack.db.user.update({ where: { id: other.id }, data: { callingProvider: 'sip', callingHandle: `sip-${other.id}` } })
    expectError(await lookup(operator.token, 'no-such-handle'), 404, 'member_not_found')
    expectError(await lookup(operator.token, `sip-${other.id}`), 404, 'member_not_found')
    expectError(await call(stack.url, '/api/plugin/v1/members/lookup', { token: operator.token }), 422, 'invalid_query')
    expectError(await lookup(operator.token, ''), 422, 'invalid_query')
  })
})

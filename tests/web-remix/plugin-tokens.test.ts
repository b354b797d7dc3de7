import { createHash } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { latestMailLink, PortalClient } from '../support/portal-client.js'
import { startWebStack, stopAfterLedgerCheck, type WebStack } from '../support/web-server.js'
import { newUser, signedInAdmin } from './backoffice-users.js'
import { call, createOperator, PASSWORD, signIn, sleep, type ApiResponse } from './plugin-client.js'
import { emitTestEvent, endsWithin, probeStream, type StreamProbe } from './stream-probe.js'

// Plugin tokens as an attacker holding one would try them: after they expire, after a password reset, after the
// operator revoked them from the portal, after a renewal replaced them; and the event stream such a token opened.

let stack: WebStack
const probes: StreamProbe[] = []

beforeAll(async () => {
  stack = await startWebStack({ worker: false })
}, 180_000)

afterAll(async () => {
  for (const probe of probes) probe.close()
  await stopAfterLedgerCheck(stack)
}, 60_000)

const presence = (token: string) => call(stack.url, '/api/plugin/v1/presence', { json: { status: 'offline' }, token })
const hashOf = (token: string) => createHash('sha256').update(token).digest('hex')

function expectUnauthorized(response: ApiResponse) {
  expect(response.status, response.text).toBe(401)
  expect(response.body).toMatchObject({ error: 'unauthorized' })
}

async function signInAs(email: string, deviceName?: string): Promise<ApiResponse> {
  return call(stack.url, '/api/plugin/v1/sessions', { json: { login: email, password: PASSWORD, ...(deviceName === undefined ? {} : { deviceName }) } })
}

async function openPluginStream(token: string) {
  const probe = await probeStream(`${stack.url}/api/plugin/v1/events`, { authorization: `Bearer ${token}` })
  probes.push(probe)
  expect(probe.status).toBe(200)
  return probe
}

/** The stream ends within a few seconds, and an event for its operator written afterwards never reaches it. */
async function expectStreamClosed(probe: StreamProbe, operatorId: string) {
  expect(await endsWithin(probe, 8_000), 'the stream ends within seconds').toBe(true)
  const seen = probe.events.length
  await emitTestEvent(stack.db, { operatorId })
  await sleep(500)
  expect(probe.events.length).toBe(seen)
}

describe('plugin token lifetime', () => {
  it('gives a token an expiry (PLUGIN_TOKEN_TTL_DAYS) and refuses it once expired', async () => {
    const operator = await createOperator(stack.db)
    const before = Date.now()
    const signedIn = await signInAs(operator.email, 'Ada’s laptop')
    expect(signedIn.status).toBe(201)
    const ttlMs = stack.config.PLUGIN_TOKEN_TTL_DAYS * 86_400_000
    expect(Date.parse(signedIn.body.expiresAt) - before).toBeGreaterThan(ttlMs - 60_000)
    expect(Date.parse(signedIn.body.expiresAt) - before).toBeLessThan(ttlMs + 60_000)
    expect(signedIn.body.expiresInSeconds).toBeGreaterThan(ttlMs / 1000 - 60)
    const token = signedIn.body.token as string
    expect((await presence(token)).status).toBe(204)

    // The stolen token of a month ago.
    await stack.db.pluginToken.update({ where: { tokenHash: hashOf(token) }, data: { expiresAt: new Date(Date.now() - 1_000) } })
    expectUnauthorized(await presence(token))
    expectUnauthorized(await call(stack.url, '/api/plugin/v1/sessions/current/renew', { method: 'POST', token }))
  })

  it('renews: a fresh token, the old one ends once the new one is used, and a retry never leaves two alive', async () => {
    const operator = await createOperator(stack.db)
    const old = await signIn(stack.url, operator.email)
    const renew = (token: string) => call(stack.url, '/api/plugin/v1/sessions/current/renew', { method: 'POST', token })

    const first = await renew(old)
    expect(first.status, first.text).toBe(201)
    expect(first.body).toEqual({ token: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/), expiresAt: expect.any(String), expiresInSeconds: expect.any(Number) })
    // The answer was lost on the way: the plugin asks again with the old token, which still works until the new one is used.
    const retry = await renew(old)
    expect(retry.status, retry.text).toBe(201)
    expect(retry.body.token).not.toBe(first.body.token)
    // The unused token of the lost answer died with the retry.
    expectUnauthorized(await presence(first.body.token))
    expect(await stack.db.pluginToken.count({ where: { userId: operator.id, revokedAt: null } })).toBe(2)

    // The new token is used: the old one is refused from then on, and so is renewing with it.
    expect((await presence(retry.body.token)).status).toBe(204)
    expectUnauthorized(await presence(old))
    expectUnauthorized(await renew(old))
    expect((await presence(retry.body.token)).status).toBe(204)
    expect(await stack.db.pluginToken.count({ where: { userId: operator.id, revokedAt: null } })).toBe(1)
    const [renewed] = await stack.db.pluginToken.findMany({ where: { userId: operator.id, revokedAt: null } })
    expect(renewed!.tokenHash).toBe(hashOf(retry.body.token))

    // Only POST, and only with a token.
    expect((await call(stack.url, '/api/plugin/v1/sessions/current/renew', { token: retry.body.token })).status).toBe(405)
    expectUnauthorized(await call(stack.url, '/api/plugin/v1/sessions/current/renew', { method: 'POST' }))
  })

  it('closes the stream a renewed token opened once the new token is used', async () => {
    const operator = await createOperator(stack.db)
    const old = await signIn(stack.url, operator.email)
    const probe = await openPluginStream(old)
    const renewed = await call(stack.url, '/api/plugin/v1/sessions/current/renew', { method: 'POST', token: old })
    expect((await presence(renewed.body.token)).status).toBe(204)
    await expectStreamClosed(probe, operator.id)
  })

  it('refuses a device name that is too long, blank or has control characters (422), and takes none', async () => {
    const operator = await createOperator(stack.db)
    for (const deviceName of ['x'.repeat(101), '   ', 'bad\u0007name', 'line\nbreak', 42]) {
      const response = await call(stack.url, '/api/plugin/v1/sessions', { json: { login: operator.email, password: PASSWORD, deviceName } })
      expect(response.status, JSON.stringify(deviceName)).toBe(422)
      expect(response.body.error).toBe('invalid_body')
    }
    expect((await signInAs(operator.email)).status).toBe(201)
    expect((await signInAs(operator.email, ` ${'y'.repeat(100)} `)).status).toBe(201)
    const names = (await stack.db.pluginToken.findMany({ where: { userId: operator.id }, orderBy: { createdAt: 'asc' } })).map((t) => t.deviceName)
    expect(names).toEqual([null, 'y'.repeat(100)])
  })
})

describe('revoking plugin tokens', () => {
  it('revokes every token at a password reset (an old token used to answer 200 after it)', async () => {
    const operator = await createOperator(stack.db)
    const token = await signIn(stack.url, operator.email)
    const probe = await openPluginStream(token)
    expect((await presence(token)).status).toBe(204)

    const browser = new PortalClient(stack.url)
    expect((await browser.post('/forgot-password', { email: operator.email })).status).toBe(200)
    const link = new URL(await latestMailLink(stack.db, operator.email, 'password_reset'))
    const reset = await browser.post('/reset-password', { token: link.searchParams.get('token')!, password: 'a brand new passphrase' })
    expect(reset.status).toBe(302)

    expectUnauthorized(await presence(token))
    await expectStreamClosed(probe, operator.id)
  })

  it('ends the stream of an operator an admin suspends, and keeps the token revoked after reinstatement', async () => {
    const operator = await createOperator(stack.db)
    const token = await signIn(stack.url, operator.email)
    const probe = await openPluginStream(token)
    const admin = (await signedInAdmin(stack.url, stack.db, await newUser(stack.db, 'admin'))).client
    expect((await admin.post(`/admin/users/${operator.id}`, { intent: 'suspend', reason: 'test' })).status).toBe(200)
    await expectStreamClosed(probe, operator.id)
    expect((await admin.post(`/admin/users/${operator.id}`, { intent: 'reinstate' })).status).toBe(200)
    expectUnauthorized(await presence(token))
  })

  it('closes the stream at sign-out within seconds, and delivers nothing after', async () => {
    const operator = await createOperator(stack.db)
    const token = await signIn(stack.url, operator.email)
    const probe = await openPluginStream(token)
    await emitTestEvent(stack.db, { operatorId: operator.id })
    await sleep(500)
    expect(probe.events).toEqual(['call.low_balance'])
    expect((await call(stack.url, '/api/plugin/v1/sessions/current', { method: 'DELETE', token })).status).toBe(204)
    await expectStreamClosed(probe, operator.id)
  })
})

describe('/operator/plugin', () => {
  it("lists the operator's sign-ins and revokes one, only their own and only with the CSRF token", async () => {
    const operator = await createOperator(stack.db)
    const other = await createOperator(stack.db)
    const laptop = (await signInAs(operator.email, 'Work laptop')).body.token as string
    const desktop = (await signInAs(operator.email, 'Home <desktop>')).body.token as string
    const othersToken = (await signInAs(other.email, 'Not yours')).body.token as string
    expect((await presence(laptop)).status).toBe(204)

    const portal = new PortalClient(stack.url)
    await portal.logIn(operator.email, PASSWORD)
    const page = await portal.page('/operator/plugin')
    expect(page).toContain('Work laptop')
    expect(page).toContain('Home &lt;desktop&gt;')
    expect(page).not.toContain('Not yours')
    expect(page).not.toContain(hashOf(laptop))
    expect(page).toMatch(/<dt>Last used<\/dt>[\s\S]*<dt>Expires<\/dt>/)
    const rows = await stack.db.pluginToken.findMany({ where: { userId: operator.id }, orderBy: { createdAt: 'asc' } })
    const [laptopRow, desktopRow] = rows
    for (const row of rows) expect(page).toContain(`name="tokenId" value="${row.id}"`)

    // Another operator's token id: not found, and it still works.
    const othersRow = await stack.db.pluginToken.findFirstOrThrow({ where: { userId: other.id } })
    expect((await portal.post('/operator/plugin', { intent: 'revoke', tokenId: othersRow.id })).status).toBe(404)
    expect((await presence(othersToken)).status).toBe(204)
    // Not a uuid, or no CSRF token: refused, nothing revoked.
    expect((await portal.post('/operator/plugin', { intent: 'revoke', tokenId: "' OR 1=1 --" })).status).toBe(404)
    expect((await portal.post('/operator/plugin', { intent: 'revoke', tokenId: laptopRow!.id }, { csrf: false })).status).toBe(403)
    expect((await presence(laptop)).status).toBe(204)

    const probe = await openPluginStream(laptop)
    const revoked = await portal.post('/operator/plugin', { intent: 'revoke', tokenId: laptopRow!.id })
    expect(revoked.status).toBe(200)
    expectUnauthorized(await presence(laptop))
    await expectStreamClosed(probe, operator.id)
    expect((await presence(desktop)).status).toBe(204)
    const after = await portal.page('/operator/plugin')
    expect(after).not.toContain('Work laptop')
    expect(after).toContain(`value="${desktopRow!.id}"`)
    // Revoking it again: there is no such live sign-in.
    expect((await portal.post('/operator/plugin', { intent: 'revoke', tokenId: laptopRow!.id })).status).toBe(404)
  })
})

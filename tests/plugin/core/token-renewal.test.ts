import { createHash } from 'node:crypto'
import { hostname } from 'node:os'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { stopAfterLedgerCheck, startWebStack, type WebStack } from '../../support/web-server.js'
import { call, createOperator, PASSWORD, sleep } from '../../web-remix/plugin-client.js'
import { openCore, tempDataDir, testKeychain } from '../support/core-harness.js'

// The plugin core renews its token before it expires, keeps the new one where it kept the old (the keychain file),
// and the old one stops working: on a platform whose tokens last 12 seconds, an operator stays signed in for minutes.

const TTL_SECONDS = 12
let stack: WebStack
const cleanups: Array<() => Promise<unknown>> = []

beforeAll(async () => {
  stack = await startWebStack({ env: { PLUGIN_TOKEN_TTL_DAYS: String(TTL_SECONDS / 86_400) }, worker: false })
}, 180_000)

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined)
  await stopAfterLedgerCheck(stack)
}, 60_000)

const hashOf = (token: string) => createHash('sha256').update(token).digest('hex')

describe('the plugin core renews its token', { timeout: 120_000 }, () => {
  it('before it expires, stores the new one in the keychain file, and the old one is refused from then on', async () => {
    const operator = await createOperator(stack.db)
    const dir = await tempDataDir()
    cleanups.push(dir.remove)
    const keychain = testKeychain()
    const plugin = await openCore({ platformUrl: stack.url, dataDir: dir.path, cipher: keychain, intervals: { renewCheckMs: 250 } })
    cleanups.push(() => plugin.core.shutdown())
    expect(await plugin.core.signIn(operator.email, PASSWORD)).toEqual({ ok: true })
    const savedToken = async () => (JSON.parse(await keychain.decrypt(new Uint8Array(await readFile(join(dir.path, 'session.bin'))))) as { token: string }).token
    const first = await savedToken()
    const signIn = await stack.db.pluginToken.findUniqueOrThrow({ where: { tokenHash: hashOf(first) } })
    expect(signIn.deviceName).toBe(hostname().slice(0, 100))

    // Halfway through its 12 s the token is renewed, the new one is saved, used, and the old one refused.
    let second = first
    for (let waited = 0; second === first && waited < 15_000; waited += 250) {
      await sleep(250)
      second = await savedToken()
    }
    expect(second).not.toBe(first)
    const presence = (token: string) => call(stack.url, '/api/plugin/v1/presence', { json: { status: 'offline' }, token })
    for (let waited = 0; (await presence(first)).status !== 401 && waited < 10_000; waited += 250) await sleep(250)
    expect((await presence(first)).status).toBe(401)
    const renewed = await stack.db.pluginToken.findUniqueOrThrow({ where: { tokenHash: hashOf(second) } })
    expect(renewed.deviceName).toBe(signIn.deviceName)

    // Three lifetimes later the operator is still signed in, on a token that is not older than one lifetime.
    await sleep(3 * TTL_SECONDS * 1000)
    expect(plugin.core.state.screen).not.toBe('sign_in')
    expect(plugin.core.state.operator?.id).toBe(operator.id)
    const latest = await savedToken()
    expect((await presence(latest)).status).toBe(204)
    const live = await stack.db.pluginToken.findMany({ where: { userId: operator.id, revokedAt: null, expiresAt: { gt: new Date() } } })
    expect(live.map((t) => t.tokenHash)).toContain(hashOf(latest))
    expect(live.length).toBeLessThanOrEqual(2)
  })
})

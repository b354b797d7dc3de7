import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { z } from 'zod'
import { afterAll, describe, expect, it } from 'vitest'
import { CallEndQueue } from '../../../plugin/src/core/call-end-queue.js'
import { JsonFile } from '../../../plugin/src/core/durable-file.js'
import { OperatorRecord } from '../../../plugin/src/core/operator-record.js'
import { SessionVault } from '../../../plugin/src/core/session-vault.js'
import { tempDataDir, testKeychain } from '../support/core-harness.js'

// What the core keeps on disk: only encrypted tokens, a call-end queue that survives reopening, and files that are
// ignored (never half-trusted) when they are not what the plugin wrote.

const removals: Array<() => Promise<void>> = []
afterAll(async () => {
  for (const remove of removals) await remove()
})
async function dir() {
  const made = await tempDataDir()
  removals.push(made.remove)
  return made.path
}

const session = { token: 'A'.repeat(43), operator: { id: 'op-1', displayName: 'Ada Operator', ratePerMinuteCents: 150 } }

describe('the session vault', () => {
  it('writes the session only encrypted, and reads it back with the same keychain only', async () => {
    const path = join(await dir(), 'session.bin')
    const logs: string[] = []
    const keychain = testKeychain()
    const vault = new SessionVault(path, keychain, (m) => logs.push(m))
    expect(await vault.save(session)).toBe('keychain')
    const onDisk = await readFile(path)
    expect(onDisk.toString('latin1')).not.toContain(session.token)
    expect(onDisk.toString('latin1')).not.toContain('Ada Operator')
    expect(await vault.load()).toEqual(session)

    // Another keychain (another user, a reset keyring) cannot read it: the session is dropped, not half-used.
    const stranger = new SessionVault(path, testKeychain(), (m) => logs.push(m))
    expect(await stranger.load()).toBeNull()
    expect(logs.some((m) => m.includes('cannot be decrypted'))).toBe(true)
    await expect(readFile(path)).rejects.toMatchObject({ code: 'ENOENT' })
  })

  it('writes nothing without a keychain, and removes what an earlier run wrote', async () => {
    const path = join(await dir(), 'session.bin')
    await new SessionVault(path, testKeychain(), () => undefined).save(session)
    const withoutKeychain = new SessionVault(path, testKeychain({ available: false }), () => undefined)
    expect(await withoutKeychain.save(session)).toBe('memory')
    await expect(readFile(path)).rejects.toMatchObject({ code: 'ENOENT' })
    expect(await new SessionVault(path, null, () => undefined).storage()).toBe('memory')
  })
})

describe('the call-end queue', () => {
  it('keeps ends across reopening, with the first reason, until removed', async () => {
    const path = join(await dir(), 'call-ends.json')
    const queue = await CallEndQueue.open(path, () => undefined)
    await queue.add({ callId: 'c1', operatorId: 'op-1', reason: 'member_hangup', queuedAtMs: 1 })
    // A second end for the same call keeps the first: the platform bills by the first request it receives.
    await queue.add({ callId: 'c1', operatorId: 'op-1', reason: 'operator_hangup', queuedAtMs: 2 })
    await queue.add({ callId: 'c2', operatorId: 'op-2', reason: 'other', queuedAtMs: 3 })
    await queue.recordAttempt('c1', { error: 'network_error' })

    const reopened = await CallEndQueue.open(path, () => undefined)
    expect(reopened.list('op-1')).toEqual([
      { callId: 'c1', operatorId: 'op-1', reason: 'member_hangup', queuedAtMs: 1, attempts: 1, lastError: 'network_error', acknowledged: false },
    ])
    expect(reopened.list().map((end) => end.callId)).toEqual(['c1', 'c2'])
    await reopened.remove('c1')
    expect((await CallEndQueue.open(path, () => undefined)).list().map((end) => end.callId)).toEqual(['c2'])
  })
})

describe('files the plugin did not write', () => {
  it('read as absent, with the reason logged', async () => {
    const base = await dir()
    const logs: string[] = []
    const file = new JsonFile(join(base, 'x.json'), z.object({ version: z.literal(1) }), (m) => logs.push(m))
    expect(await file.read()).toBeNull()
    await writeFile(join(base, 'x.json'), '{"version": 1')
    expect(await file.read()).toBeNull()
    await writeFile(join(base, 'x.json'), '{"version": 2}')
    expect(await file.read()).toBeNull()
    expect(logs).toHaveLength(2)
    await file.write({ version: 1 })
    expect(await file.read()).toEqual({ version: 1 })

    // A damaged operator record starts empty rather than failing the start.
    await (await OperatorRecord.open(base, 'op-9', () => undefined)).setLastEventId('7')
    await writeFile(join(base, 'operators', 'op-9.json'), 'not json')
    const damaged = await OperatorRecord.open(base, 'op-9', (m) => logs.push(m))
    expect({ link: damaged.link, call: damaged.call, lastEventId: damaged.lastEventId }).toEqual({ link: null, call: null, lastEventId: null })

    // An operator id never becomes a path outside the data directory.
    const record = await OperatorRecord.open(base, '../../etc/passwd', () => undefined)
    await record.setLastEventId('42')
    expect(JSON.parse(await readFile(join(base, 'operators', '______etc_passwd.json'), 'utf8'))).toMatchObject({ lastEventId: '42' })
  })
})

import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PluginCore, type PluginCoreOptions, type PluginNotification } from '../../../plugin/src/core/plugin-core.js'
import type { PluginState } from '../../../plugin/src/core/plugin-state.js'
import type { SecretCipher } from '../../../plugin/src/core/session-vault.js'

/**
 * The plugin's headless core as tests run it: a data directory of its own, a keychain made of real AES-GCM with a
 * key that lives as long as the test (what safeStorage does with the operating system's key), short intervals so a
 * call's life fits in seconds, and helpers to wait for what the operator would see.
 */

/** Intervals for tests: the platform runs 1-s billing periods (tests/support/web-server.ts TEST_BILLING). */
export const TEST_INTERVALS = {
  presenceMs: 1_000,
  heartbeatMs: 500,
  meterPollMs: 500,
  tickMs: 250,
  retryFirstMs: 250,
  retryMaxMs: 1_500,
} as const

/** A keychain: encryption with a key the file never holds, as the operating system's keychain provides. */
export function testKeychain(options: { available?: boolean } = {}): SecretCipher & { key: Buffer } {
  const key = randomBytes(32)
  return {
    key,
    async isAvailable() {
      return options.available ?? true
    },
    async encrypt(plainText) {
      const iv = randomBytes(12)
      const cipher = createCipheriv('aes-256-gcm', key, iv)
      const body = Buffer.concat([cipher.update(plainText, 'utf8'), cipher.final()])
      return new Uint8Array(Buffer.concat([iv, cipher.getAuthTag(), body]))
    },
    async decrypt(encrypted) {
      const bytes = Buffer.from(encrypted)
      const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, 12))
      decipher.setAuthTag(bytes.subarray(12, 28))
      return Buffer.concat([decipher.update(bytes.subarray(28)), decipher.final()]).toString('utf8')
    },
  }
}

export async function tempDataDir(): Promise<{ path: string; remove(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), 'perminute-plugin-'))
  return { path, remove: () => rm(path, { recursive: true, force: true }) }
}

export interface CoreUnderTest {
  core: PluginCore
  notifications: PluginNotification[]
  logs: string[]
  /** Resolves with the first state (the current one included) that satisfies `match`. */
  waitFor(match: (state: PluginState) => boolean, what: string, timeoutMs?: number): Promise<PluginState>
}

export async function openCore(options: Omit<PluginCoreOptions, 'onNotification' | 'log' | 'intervals'> & { intervals?: PluginCoreOptions['intervals'] }): Promise<CoreUnderTest> {
  const notifications: PluginNotification[] = []
  const logs: string[] = []
  const core = await PluginCore.open({
    ...options,
    intervals: { ...TEST_INTERVALS, ...options.intervals },
    onNotification: (notification) => notifications.push(notification),
    log: (message) => logs.push(message),
  })
  return { core, notifications, logs, waitFor: (match, what, timeoutMs) => waitForState(core, match, what, timeoutMs) }
}

export function waitForState(core: PluginCore, match: (state: PluginState) => boolean, what: string, timeoutMs = 30_000): Promise<PluginState> {
  return new Promise((resolve, reject) => {
    let last = core.state
    const finish = (outcome: () => void) => {
      clearTimeout(timer)
      clearInterval(poll)
      unsubscribe()
      outcome()
    }
    const check = (state: PluginState) => {
      last = state
      if (match(state)) finish(() => resolve(state))
    }
    const unsubscribe = core.subscribe(check)
    // The state also moves with the clock (elapsed time, expiring requests), between notifications.
    const poll = setInterval(() => check(core.state), 100)
    const timer = setTimeout(
      () => finish(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last state:\n${JSON.stringify(last, null, 2)}`))),
      timeoutMs,
    )
    check(core.state)
  })
}

import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import type { TestProject } from 'vitest/node'
import { ensurePrismaClient } from '../../prisma/generate.js'
import { applyMigrations, describeDatabaseError, dropDatabase, ensureDatabase } from '../../prisma/migrate.js'
import { startDevServer } from '../../temporal/setup/dev-server.js'
import { describeFailure, SetupError } from '../../temporal/setup/errors.js'
import { ensureChromium } from '../../temporal/setup/chromium.js'
import { startLiveKit } from '../../temporal/setup/livekit.js'
import { ensureLiveKitServer } from '../../temporal/setup/livekit-server.js'
import { ensureTemporalCli } from '../../temporal/setup/temporal-cli.js'
import { startWebhookRelay } from './livekit-webhook-relay.js'

/**
 * Vitest's global setup (docs/decisions/006-tests-against-real-services.md): a Temporal dev server on free ports
 * with its own state file, a fresh, migrated PostgreSQL database, and a LiveKit server on free ports whose webhooks
 * go through a relay to every web server of the run (docs/decisions/070-livekit.md); all removed at the end. The demo database
 * is never touched: the test database has a unique name on the server TEST_PG_URL names.
 *
 * Test files read what they need through inject() (typed below) or, because forked test processes inherit the
 * environment this process has when they start, through process.env: DATABASE_URL, TEMPORAL_ADDRESS,
 * TEMPORAL_NAMESPACE, TEMPORAL_UI_URL, LIVEKIT_URL, LIVEKIT_API_URL, LIVEKIT_API_KEY, LIVEKIT_API_SECRET and
 * NODE_ENV=test, which is what config/env.ts's loadConfig() reads.
 *
 * Each step is a small function that returns what it made and how to undo it, so later steps (a web server,
 * a browser) slot in beside them.
 */

declare module 'vitest' {
  export interface ProvidedContext {
    /** The test database's URL (also in process.env.DATABASE_URL). */
    databaseUrl: string
    /** host:port of the shared Temporal dev server (also in process.env.TEMPORAL_ADDRESS). */
    temporalAddress: string
    temporalNamespace: string
    temporalUiUrl: string
    /** The Temporal CLI binary, for tests that start a dev server of their own. */
    temporalCliPath: string
    /**
     * The shared server's SQLite state file. Restarting the shared server from a test would pull it from under
     * the test files running in parallel, so a test about restarts starts a server of its own on a file of its
     * own (tests/support/temporal.ts, startTestDevServer).
     */
    temporalDbFile: string
    temporalPid: number
    /** The shared LiveKit server (also in process.env.LIVEKIT_URL and LIVEKIT_API_URL). */
    liveKitUrl: string
    liveKitApiUrl: string
    liveKitPid: number
    /** The livekit-server binary, for tests that start a LiveKit of their own. */
    liveKitServerPath: string
    /** Where test files register their web servers for LiveKit's webhooks (tests/support/livekit.ts). */
    liveKitWebhookRelayUrl: string
  }
}

type Teardown = () => Promise<void>

interface Step<T> {
  value: T
  teardown: Teardown
}

const TEST_NAMESPACE = 'default'
const DATABASE_PREFIX = 'perminute_test_'
// Databases left by runs that died before their teardown (a killed CI job) are dropped once they are this old;
// younger ones may belong to a run in progress in another clone on this machine.
const STALE_DATABASE_AGE_MS = 12 * 60 * 60_000

export default async function setup(project: TestProject): Promise<Teardown> {
  const teardowns: Teardown[] = []
  const teardown = async () => {
    // In reverse order of creation; one failing undo must not keep the others from running.
    const errors: unknown[] = []
    for (const undo of teardowns.reverse()) {
      await undo().catch((error: unknown) => errors.push(error))
    }
    teardowns.length = 0
    if (errors.length) throw new Error(`global teardown: ${errors.map(describeFailure).join('\n')}`)
  }

  try {
    await ensurePrismaClient({ log: (line) => console.log(`setup: ${line}`) })
    // The browser tests' Chromium: found, or installed from Debian's packages once per machine.
    const chromiumPath = await ensureChromium({ log: (line) => console.log(`setup: ${line}`) })
    // Independent and each a second or two (more when the Temporal CLI must be built): side by side.
    const [temporal, database, liveKit] = await settleAll(teardowns, [startTestTemporal(), createTestDatabase(), startTestLiveKit()])

    project.provide('databaseUrl', database.url)
    project.provide('temporalAddress', temporal.address)
    project.provide('temporalNamespace', temporal.namespace)
    project.provide('temporalUiUrl', temporal.uiUrl)
    project.provide('temporalCliPath', temporal.cliPath)
    project.provide('temporalDbFile', temporal.dbFile)
    project.provide('temporalPid', temporal.pid)
    project.provide('liveKitUrl', liveKit.url)
    project.provide('liveKitApiUrl', liveKit.apiUrl)
    project.provide('liveKitPid', liveKit.pid)
    project.provide('liveKitServerPath', liveKit.serverPath)
    project.provide('liveKitWebhookRelayUrl', liveKit.relayUrl)
    exportToTestProcesses({
      DATABASE_URL: database.url,
      TEMPORAL_ADDRESS: temporal.address,
      TEMPORAL_NAMESPACE: temporal.namespace,
      TEMPORAL_UI_URL: temporal.uiUrl,
      LIVEKIT_URL: liveKit.url,
      LIVEKIT_API_URL: liveKit.apiUrl,
      LIVEKIT_API_KEY: liveKit.apiKey,
      LIVEKIT_API_SECRET: liveKit.apiSecret,
      NODE_ENV: 'test',
      CHROMIUM_PATH: chromiumPath,
    })
  } catch (error) {
    await teardown().catch(() => undefined)
    throw asReadableError(error)
  }
  return teardown
}

/** Awaits every step; registers the teardown of each one that succeeded; rethrows the first failure. */
async function settleAll<T extends readonly unknown[]>(
  teardowns: Teardown[],
  steps: readonly [...{ [K in keyof T]: Promise<Step<T[K]>> }],
): Promise<T> {
  const results = await Promise.allSettled(steps as readonly Promise<Step<unknown>>[])
  for (const result of results) if (result.status === 'fulfilled') teardowns.push(result.value.teardown)
  const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected')
  if (failed) throw failed.reason
  return results.map((result) => (result as PromiseFulfilledResult<Step<unknown>>).value.value) as unknown as T
}

/** Forked test processes start after the global setup and copy this process's environment. */
function exportToTestProcesses(env: Record<string, string>): void {
  Object.assign(process.env, env)
}

interface TestTemporal {
  address: string
  namespace: string
  uiUrl: string
  cliPath: string
  dbFile: string
  pid: number
}

async function startTestTemporal(): Promise<Step<TestTemporal>> {
  const cliPath = await ensureTemporalCli({ log: (line) => console.log(`setup: ${line}`) })
  const dir = await mkdtemp(join(tmpdir(), 'perminute-test-temporal-'))
  const dbFile = join(dir, 'temporal.db')
  try {
    const server = await startDevServer({ cliPath, dbFile, namespace: TEST_NAMESPACE, log: (line) => console.log(`setup: ${line}`) })
    return {
      value: { address: server.address, namespace: server.namespace, uiUrl: server.uiUrl, cliPath, dbFile, pid: server.pid },
      teardown: async () => {
        await server.stop()
        await rm(dir, { recursive: true, force: true })
      },
    }
  } catch (error) {
    await rm(dir, { recursive: true, force: true })
    throw error
  }
}

interface TestLiveKit {
  url: string
  apiUrl: string
  apiKey: string
  apiSecret: string
  pid: number
  serverPath: string
  relayUrl: string
}

/**
 * One LiveKit for the run (it starts in about 0.1 s, and rooms keep test files apart), with keys of the run's own.
 * Its webhooks go to the relay, which forwards them to whichever web servers are registered at the time.
 */
async function startTestLiveKit(): Promise<Step<TestLiveKit>> {
  const serverPath = await ensureLiveKitServer({ log: (line) => console.log(`setup: ${line}`) })
  const relay = await startWebhookRelay()
  const apiKey = 'test-key'
  const apiSecret = randomBytes(32).toString('base64url')
  try {
    const server = await startLiveKit({
      serverPath,
      apiKey,
      apiSecret,
      webhookUrls: [relay.webhookUrl],
      log: (line) => console.log(`setup: ${line}`),
    })
    let stopping = false
    // Nothing in the run restarts it: a death is news, and every media test after it will fail on it.
    void server.exited.then(({ code, signal }) => {
      if (stopping) return
      process.stderr.write(
        `setup: the test LiveKit server (pid ${server.pid}) ${signal ? `was killed by ${signal}` : `exited with code ${code}`} ` +
          `during the run. Its last lines:\n${server.outputTail(30)}\n`,
      )
    })
    return {
      value: { url: server.url, apiUrl: server.apiUrl, apiKey, apiSecret, pid: server.pid, serverPath, relayUrl: relay.url },
      teardown: async () => {
        stopping = true
        await server.stop()
        await relay.close()
      },
    }
  } catch (error) {
    await relay.close()
    throw error
  }
}

/** The PostgreSQL server tests use; the database in this URL is only used to reach the server. */
function testServerUrl(): string {
  return process.env.TEST_PG_URL || 'postgresql://postgres@127.0.0.1:5432/postgres'
}

function databaseUrlFor(name: string): string {
  const url = new URL(testServerUrl())
  url.pathname = `/${name}`
  return url.toString()
}

async function createTestDatabase(): Promise<Step<{ url: string }>> {
  await dropStaleTestDatabases().catch(() => undefined)
  // The creation time is in the name so that a later run can tell a forgotten database from a live one.
  const stamp = new Date().toISOString().replace(/\D/g, '').slice(0, 14)
  const url = databaseUrlFor(`${DATABASE_PREFIX}${stamp}_${randomBytes(4).toString('hex')}`)
  try {
    await ensureDatabase(url)
  } catch (error) {
    throw new SetupError(
      `The tests need a local PostgreSQL (TEST_PG_URL, by default postgresql://postgres@127.0.0.1:5432/postgres):\n` +
        describeDatabaseError(error, url),
    )
  }
  const drop = async () => {
    await dropDatabase(url)
  }
  try {
    await applyMigrations(url)
  } catch (error) {
    await drop().catch(() => undefined)
    throw error
  }
  return { value: { url }, teardown: drop }
}

async function dropStaleTestDatabases(): Promise<void> {
  const client = new pg.Client({ connectionString: testServerUrl(), connectionTimeoutMillis: 5_000 })
  await client.connect()
  let names: string[]
  try {
    const { rows } = await client.query<{ datname: string }>(
      `SELECT datname FROM pg_database WHERE datname LIKE $1`,
      [`${DATABASE_PREFIX}%`],
    )
    names = rows.map((row) => row.datname)
  } finally {
    await client.end()
  }
  const now = Date.now()
  for (const name of names) {
    // Scratch databases (tests/support/scratch-database.ts) extend the test database's name, so they match too.
    const match = /^perminute_test_(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})_/.exec(name)
    if (!match) continue
    const [, y, mo, d, h, mi, s] = match
    const created = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s))
    if (now - created > STALE_DATABASE_AGE_MS) await dropDatabase(databaseUrlFor(name)).catch(() => undefined)
  }
}

/** Expected failures (no Go, no PostgreSQL…) are shown as their message: a stack would only bury it. */
const EXPECTED_FAILURES = new Set(['SetupError', 'MigrationError', 'PrismaGenerateError', 'ConfigError'])

function asReadableError(error: unknown): unknown {
  if (!(error instanceof Error) || !EXPECTED_FAILURES.has(error.name)) return error
  const readable = new Error(error.message)
  readable.name = error.name
  readable.stack = `${error.name}: ${error.message}`
  return readable
}

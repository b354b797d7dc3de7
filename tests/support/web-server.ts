import { randomUUID } from 'node:crypto'
import { bundleWorkflowCode, DefaultLogger, Runtime } from '@temporalio/worker'
import { expect } from 'vitest'
import { checkLedger } from '../../activities/ledger/check.js'
import { parseConfig, type PlatformConfig } from '../../config/env.js'
import { createDb, type Db } from '../../prisma/client.js'
import { closeTemporalClients } from '../../temporal/client.js'
import { createCallWorker, workflowsPath } from '../../temporal/worker.js'
import { freePort } from '../../temporal/setup/dev-server.js'
import { buildWebApp, ensureWebBuild as ensureSharedWebBuild } from '../../temporal/setup/web-build.js'
import { startWebServer } from '../../web-remix/server.js'
import { registerWebhookTarget } from './livekit.js'

/**
 * A running stack for a test file: the built web app on a free port, and an in-process call worker on a task queue
 * of its own (so parallel test files never run each other's workflows), both on the test database and Temporal dev
 * server that the global set-up started. Billing runs on a short clock: the rules of production, faster. The run's
 * LiveKit forwards its webhooks to the stack's /webhooks/livekit while it runs (tests/support/livekit.ts).
 */

export interface WebStack {
  config: PlatformConfig
  db: Db
  /** The web server's origin, e.g. http://127.0.0.1:41234 */
  url: string
  /** Stops the call worker (workflows wait on the server), e.g. to see what the API answers meanwhile. */
  stopWorker(): Promise<void>
  /** Starts a call worker again on the same task queue. */
  startWorker(): Promise<void>
  stop(): Promise<void>
}

// The worker's INFO lines (state changes, the workflow bundle's webpack report) drown test output; warnings stay.
try {
  Runtime.install({ logger: new DefaultLogger('WARN') })
} catch {
  // Another harness in this process installed the runtime first; its logger stands.
}

/** Billing settings for HTTP tests: 1 s periods, so a call's life fits in a few seconds. */
export const TEST_BILLING = {
  BILLING_PERIOD_MS: '1000',
  GRACE_MS: '200',
  LOW_BALANCE_PERIODS: '2',
  HEARTBEAT_TIMEOUT_MS: '20000',
  HEARTBEAT_SCAN_MS: '500',
  SETTLE_WAIT_MS: '8000',
} as const

export function webTestConfig(overrides: Record<string, string> = {}): PlatformConfig {
  for (const name of ['DATABASE_URL', 'TEMPORAL_ADDRESS'] as const) {
    if (!process.env[name]) {
      throw new Error(`${name} is not set: run the tests through vitest, whose global set-up starts the test database and Temporal`)
    }
  }
  return parseConfig({
    ...process.env,
    NODE_ENV: 'test',
    WEB_HOST: '127.0.0.1',
    TEMPORAL_TASK_QUEUE: `web-test-${randomUUID()}`,
    ...TEST_BILLING,
    ...overrides,
  })
}

/**
 * `liveKitWebhooks: false` keeps the run's LiveKit from telling this server of every room in the run (the relay
 * sends each webhook to every registered server): for a file whose database must change only by its own requests.
 */
export async function startWebStack(options: { env?: Record<string, string>; worker?: boolean; liveKitWebhooks?: boolean } = {}): Promise<WebStack> {
  await ensureWebBuild()
  // The port is chosen before the configuration is made, so links in mails (PUBLIC_URL) point at this server.
  const port = await freePort()
  const config = webTestConfig({ WEB_PORT: String(port), PUBLIC_URL: `http://127.0.0.1:${port}`, ...options.env })
  const db = createDb(config.DATABASE_URL, { maxConnections: 10 })
  let stopWorker = async () => {}
  // Bundled once: a restarted worker (startWorker) reuses it.
  let workflowBundle: ReturnType<typeof bundleWorkflowCode> | undefined
  const startWorker = async () => {
    await stopWorker()
    workflowBundle ??= bundleWorkflowCode({ workflowsPath, logger: Runtime.instance().logger })
    const { worker, run } = await createCallWorker({
      config,
      db,
      taskQueue: config.TEMPORAL_TASK_QUEUE,
      workflowBundle: await workflowBundle,
    })
    const running = run()
    stopWorker = async () => {
      stopWorker = async () => {}
      worker.shutdown()
      await running
    }
  }
  if (options.worker !== false) await startWorker()
  try {
    const web = await startWebServer({ config, port })
    const stopWebhooks =
      options.liveKitWebhooks === false
        ? async () => {}
        : await registerWebhookTarget(`${web.url}/webhooks/livekit`).catch(async (error: unknown) => {
            await web.close()
            throw error
          })
    return {
      config,
      db,
      url: web.url,
      stopWorker: () => stopWorker(),
      startWorker,
      async stop() {
        await stopWebhooks()
        await web.close()
        await stopWorker()
        await db.$disconnect()
        // The heartbeat monitor's client (temporal/client.ts) is per process; this test file is done with it.
        await closeTemporalClients()
      },
    }
  } catch (error) {
    await stopWorker()
    await db.$disconnect()
    throw error
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Building the web app once per run, under the lock `./platform up` and the benchmark share (temporal/setup/web-build.ts).

let ensured: Promise<void> | undefined

/** Builds the web app if it is missing or older than its sources; safe to call from many test files at once. */
export function ensureWebBuild(): Promise<void> {
  ensured ??= ensureSharedWebBuild(buildWebApp).then(() => undefined)
  return ensured
}

/** A test file's last word: the ledger's invariants hold after everything it did, then the stack stops. */
export async function stopAfterLedgerCheck(stack: WebStack | undefined): Promise<void> {
  if (!stack) return
  try {
    expect((await checkLedger(stack.db)).violations).toEqual([])
  } finally {
    await stack.stop()
  }
}

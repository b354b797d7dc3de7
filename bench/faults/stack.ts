import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { bundleWorkflowCode } from '@temporalio/worker'
import pg from 'pg'
import { parseConfig, type PlatformConfig } from '../../config/env.js'
import { createDb, type Db } from '../../prisma/client.js'
import { freePort, startDevServer, type DevServer } from '../../temporal/setup/dev-server.js'
import { workflowsPath } from '../../temporal/worker.js'
import { configEnv, startWebProcess, startWorkerProcess, type PlatformProcess } from '../support/platform-process.js'
import { ensureFreshWebBuild } from '../support/web-build.js'
import { benchProductionEnv } from '../support/production-env.js'

/**
 * The stack a fault drill breaks: a persisted Temporal dev server of its own (WAL, as `./platform up` runs it) that
 * can be stopped or killed and started again on the same state file and port; the worker and the web as processes of
 * their own, so the worker can be SIGKILLed and restarted; and a database given by the caller (a scratch database in
 * the tests, the drill's own in the bench), whose connections can be dropped with pg_terminate_backend. PostgreSQL
 * itself is never stopped: other work shares it.
 */

export interface DrillBilling {
  periodMs: number
  graceMs: number
  heartbeatTimeoutMs: number
}

export interface DrillStack {
  config: PlatformConfig
  webUrl: string
  db: Db
  databaseUrl: string
  /** Stops (SIGTERM) or kills (SIGKILL) the Temporal dev server, waits `downMs`, starts it again on the same state. */
  restartTemporal(options: { kill: boolean; downMs: number }): Promise<void>
  /** Starts the worker; with crashAfterWrite=n it SIGKILLs itself right after its n-th committed ledger activity. */
  startWorker(crashAfterWrite?: number): Promise<PlatformProcess>
  /** The worker now running, if any. */
  worker(): PlatformProcess | null
  killWorker(): Promise<void>
  /** Terminates every connection to the drill's database (the web's, the worker's, ours); returns how many. */
  dropDatabaseConnections(): Promise<number>
  warnings(): Record<string, number>
  stop(): Promise<void>
}

export async function startDrillStack(options: {
  cliPath: string
  databaseUrl: string
  billing: DrillBilling
  runTag: string
  log: (line: string) => void
}): Promise<DrillStack> {
  const { log } = options
  const cleanups: Array<() => Promise<unknown>> = []
  const undo = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined)
    cleanups.length = 0
  }
  try {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'perminute-drill-'))
    cleanups.push(() => rm(dir, { recursive: true, force: true }))
    const dbFile = path.join(dir, 'temporal.db')
    const port = await freePort()
    const uiPort = await freePort()
    const startTemporal = () => startDevServer({ cliPath: options.cliPath, dbFile, port, uiPort, log: () => undefined, reuseExisting: false })
    let temporal: DevServer = await startTemporal()
    cleanups.push(() => temporal.stop())

    const config = parseConfig({
      ...process.env,
      ...benchProductionEnv(),
      DATABASE_URL: options.databaseUrl,
      TEMPORAL_ADDRESS: temporal.address,
      TEMPORAL_NAMESPACE: temporal.namespace,
      TEMPORAL_TASK_QUEUE: `drill-${options.runTag}`,
      TEMPORAL_UI_URL: temporal.uiUrl,
      WEB_HOST: '127.0.0.1',
      BILLING_PERIOD_MS: String(options.billing.periodMs),
      GRACE_MS: String(options.billing.graceMs),
      HEARTBEAT_TIMEOUT_MS: String(options.billing.heartbeatTimeoutMs),
      HEARTBEAT_SCAN_MS: '250',
      SETTLE_WAIT_MS: '3000',
    })

    // Bundled once: a restarted worker loads it in a second instead of running webpack again.
    const bundle = await bundleWorkflowCode({ workflowsPath, logger: { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} } as never })
    const bundlePath = path.join(dir, 'workflow-bundle.js')
    await writeFile(bundlePath, bundle.code)

    const env = { ...configEnv(config), DRILL_WORKFLOW_BUNDLE: bundlePath }
    const children: PlatformProcess[] = []
    let worker: PlatformProcess | null = null
    const startWorker = async (crashAfterWrite?: number) => {
      if (worker) throw new Error('a worker is already running')
      const child = await startWorkerProcess(
        { ...env, DRILL_CRASH_AFTER_WRITE: crashAfterWrite ? String(crashAfterWrite) : undefined },
        undefined,
        'bench/faults/worker.ts',
      )
      worker = child
      children.push(child)
      void child.exited.then(() => {
        if (worker === child) worker = null
      })
      return child
    }
    cleanups.push(async () => {
      await worker?.stop()
    })

    await ensureFreshWebBuild(log)
    const web = await startWebProcess({ ...env, WEB_PORT: String(await freePort()) })
    children.push(web)
    cleanups.push(() => web.stop())

    const db = createDb(options.databaseUrl, { maxConnections: 6 })
    cleanups.push(() => db.$disconnect())

    return {
      config,
      webUrl: web.url,
      db,
      databaseUrl: options.databaseUrl,
      async restartTemporal({ kill, downMs }) {
        if (kill) {
          process.kill(temporal.pid, 'SIGKILL')
          await temporal.exited
        } else {
          await temporal.stop()
        }
        await new Promise((resolve) => setTimeout(resolve, downMs))
        temporal = await startTemporal()
      },
      startWorker,
      worker: () => worker,
      async killWorker() {
        await worker?.kill()
      },
      async dropDatabaseConnections() {
        const client = new pg.Client({ connectionString: options.databaseUrl })
        await client.connect()
        try {
          const { rows } = await client.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
               WHERE datname = current_database() AND pid <> pg_backend_pid()) t`,
          )
          return rows[0]?.n ?? 0
        } finally {
          await client.end()
        }
      },
      warnings: () => {
        const all = new Map<string, number>()
        for (const child of children) {
          for (const [kind, n] of Object.entries(child.warnings())) all.set(`${child.name}: ${kind}`, (all.get(`${child.name}: ${kind}`) ?? 0) + n)
        }
        return Object.fromEntries([...all.entries()].sort((a, b) => b[1] - a[1]))
      },
      stop: undo,
    }
  } catch (error) {
    await undo()
    throw error
  }
}

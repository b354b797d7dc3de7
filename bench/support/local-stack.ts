// First: it installs the Temporal runtime (and its logger) before any other module can.
import { temporalWarnings } from './temporal-log.js'
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { parseConfig, type PlatformConfig } from '../../config/env.js'
import { createDb } from '../../prisma/client.js'
import { applyMigrations, describeDatabaseError, dropDatabase, ensureDatabase } from '../../prisma/migrate.js'
import { closeTemporalClients } from '../../temporal/client.js'
import { freePort, startDevServer } from '../../temporal/setup/dev-server.js'
import { ensureTemporalCli } from '../../temporal/setup/temporal-cli.js'
import type { TemporalBackend } from '../../temporal/setup/cluster/backend.js'
import { startTemporalCluster } from '../../temporal/setup/cluster/cluster.js'
import { clusterDatabases, dropClusterDatabases } from '../../temporal/setup/cluster/databases.js'
import { ensureTemporalServerTools } from '../../temporal/setup/temporal-server.js'
import { freeUdpRange, startLiveKit } from '../../temporal/setup/livekit.js'
import { ensureLiveKitServer } from '../../temporal/setup/livekit-server.js'
import { createCallWorker } from '../../temporal/worker.js'
import { startWebServer } from '../../web-remix/server.js'
import { ensureFreshWebBuild } from './web-build.js'
import { configEnv, startWebProcess, startWorkerProcess, type PlatformProcess } from './platform-process.js'
import type { BenchStack, BillingOverrides, Log } from './stack.js'
import { benchProductionEnv } from './production-env.js'

/**
 * A stack of the benchmark's own: every part on free ports, a fresh database, a Temporal dev server persisted in a
 * temp dir; nothing shared with the demo or the tests. Its own module, so that driving a --target loads none of it.
 */

/** A database next to the configured one, never the demo's: same server and credentials, its own name. */
function benchDatabaseUrl(baseUrl: string, runTag: string): string {
  const url = new URL(baseUrl)
  url.pathname = `/perminute_bench_${runTag.replace(/[^a-z0-9]/gi, '').toLowerCase()}`
  return url.toString()
}

export interface LocalStackOptions {
  billing: BillingOverrides
  runTag: string
  log: Log
  /**
   * Run the worker and the web in the benchmark's own process (the first benchmark's set-up) instead of as processes
   * of their own, as they are deployed (the default).
   */
  inProcess?: boolean
  /** Node flags for the worker and web processes (--cpu-prof …, say). */
  nodeArgs?: string[]
  /**
   * Start a LiveKit server of the stack's own, its webhooks to the web, so that calls in the platform's room are
   * carried (bench/media.ts). `udpPorts`: the size of its ICE/UDP range (one port per peer connection).
   */
  liveKit?: { udpPorts: number }
  /** The dev server (the default), or a Temporal cluster on PostgreSQL in databases of the run's own. */
  temporal?: TemporalBackend
}

interface StackTemporal {
  address: string
  namespace: string
  uiUrl: string
  processes: Array<{ name: string; pid: number }>
  summary: string
  state: string
}

/**
 * The run's Temporal: a dev server persisted with the WAL pragmas, as the local platform runs (DESIGN.md), or the
 * cluster `./platform up` runs with TEMPORAL_BACKEND=postgres, its shard count included, on databases named after the
 * run's.
 */
async function startStackTemporal(
  backend: TemporalBackend,
  stateDir: string,
  databaseUrl: string,
  log: Log,
  cleanups: Array<() => Promise<unknown>>,
  keep: () => boolean,
): Promise<StackTemporal> {
  const cli = await ensureTemporalCli({ log })
  if (backend === 'dev') {
    const temporal = await startDevServer({ cliPath: cli, dbFile: path.join(stateDir, 'temporal.db'), log, reuseExisting: false })
    cleanups.push(() => temporal.stop())
    return {
      address: temporal.address,
      namespace: temporal.namespace,
      uiUrl: temporal.uiUrl,
      processes: temporal.pid > 0 ? [{ name: 'Temporal dev server', pid: temporal.pid }] : [],
      summary: `Temporal dev server (persisted, WAL) on ${temporal.address}`,
      state: path.join(stateDir, 'temporal.db'),
    }
  }
  const tools = await ensureTemporalServerTools({ log })
  const databases = clusterDatabases(databaseUrl)
  cleanups.push(() => (keep() ? Promise.resolve() : dropClusterDatabases(databases)))
  const cluster = await startTemporalCluster({
    serverPath: tools.server,
    sqlToolPath: tools.sqlTool,
    cliPath: cli,
    databases,
    configDir: path.join(stateDir, 'temporal-cluster'),
    log,
  })
  cleanups.push(() => cluster.stop())
  return {
    address: cluster.address,
    namespace: cluster.namespace,
    uiUrl: '',
    processes: cluster.members().map((member) => ({ name: `Temporal ${member.name}`, pid: member.pid })),
    summary:
      `Temporal cluster on PostgreSQL (${cluster.members().map((m) => m.name).join(', ')}; ${cluster.numHistoryShards} history shards) ` +
      `on ${cluster.address}`,
    state: `databases ${databases.persistence.database}, ${databases.visibility.database}`,
  }
}

export async function startLocalStack(options: LocalStackOptions): Promise<BenchStack> {
  const { billing, runTag, log } = options
  const inProcess = options.inProcess ?? false
  const cleanups: Array<() => Promise<unknown>> = []
  const undo = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined)
  }
  try {
    const backend = options.temporal ?? 'dev'
    log(`starting a stack of its own: ${backend === 'dev' ? 'Temporal dev server' : 'Temporal cluster on PostgreSQL'}, database, worker, web…`)
    const stateDir = await mkdtemp(path.join(os.tmpdir(), 'perminute-bench-'))
    let keepState = false
    cleanups.push(() => (keepState ? Promise.resolve() : rm(stateDir, { recursive: true, force: true })))

    // Only DATABASE_URL's server and credentials are taken from the environment; the database is the run's own.
    const databaseUrl = benchDatabaseUrl(parseConfig({ ...process.env, ...benchProductionEnv() }).DATABASE_URL, runTag)
    let keepDatabase = false
    const temporal = await startStackTemporal(backend, stateDir, databaseUrl, log, cleanups, () => keepDatabase)

    try {
      await ensureDatabase(databaseUrl)
      cleanups.push(() => (keepDatabase ? Promise.resolve() : dropDatabase(databaseUrl)))
      await applyMigrations(databaseUrl, { log: () => undefined })
    } catch (error) {
      // Says what is wrong with PostgreSQL and how to fix it, without the password or a stack trace.
      throw new Error(describeDatabaseError(error, databaseUrl))
    }

    // The web's port is chosen first: LiveKit is told at its start where its webhooks go.
    const webPort = await freePort()
    let liveKitEnv: Record<string, string> = {}
    let liveKitPid = 0
    if (options.liveKit) {
      if (inProcess) throw new Error('a stack with LiveKit runs the worker and the web as processes of their own')
      const apiKey = 'bench'
      const apiSecret = benchProductionEnv().LIVEKIT_API_SECRET!
      const liveKit = await startLiveKit({
        serverPath: await ensureLiveKitServer({ log }),
        apiKey,
        apiSecret,
        rtcUdpPorts: await freeUdpRange('127.0.0.1', options.liveKit.udpPorts),
        webhookUrls: [`http://127.0.0.1:${webPort}/webhooks/livekit`],
        logLevel: 'warn',
        log,
      })
      cleanups.push(() => liveKit.stop())
      liveKitPid = liveKit.pid
      liveKitEnv = { LIVEKIT_URL: liveKit.url, LIVEKIT_API_URL: liveKit.apiUrl, LIVEKIT_API_KEY: apiKey, LIVEKIT_API_SECRET: apiSecret, LIVEKIT_ICE_SERVERS: '[]' }
      log(`LiveKit up: ${liveKit.url} (pid ${liveKit.pid}), ICE/UDP ${liveKit.rtcUdpPorts.start}–${liveKit.rtcUdpPorts.end}`)
    }

    const config: PlatformConfig = parseConfig({
      ...process.env,
      ...benchProductionEnv(),
      ...liveKitEnv,
      DATABASE_URL: databaseUrl,
      TEMPORAL_ADDRESS: temporal.address,
      TEMPORAL_NAMESPACE: temporal.namespace,
      TEMPORAL_TASK_QUEUE: `bench-calls-${runTag}`,
      ...(temporal.uiUrl ? { TEMPORAL_UI_URL: temporal.uiUrl } : {}),
      WEB_HOST: '127.0.0.1',
      BILLING_PERIOD_MS: String(billing.periodMs),
      GRACE_MS: String(billing.graceMs),
      HEARTBEAT_TIMEOUT_MS: String(billing.heartbeatTimeoutMs),
    })

    await ensureFreshWebBuild(log)
    let webUrl: string
    const processes: Array<{ name: string; pid: number }> = [...temporal.processes]
    if (liveKitPid > 0) processes.push({ name: 'LiveKit server', pid: liveKitPid })
    let workerWarnings = temporalWarnings
    if (inProcess) {
      // The worker and the web each get their own pool, as they would in their own processes.
      const workerDb = createDb(databaseUrl)
      cleanups.push(() => workerDb.$disconnect())
      const { worker, run } = await createCallWorker({ config, db: workerDb })
      const running = run()
      cleanups.push(async () => {
        worker.shutdown()
        await running
      })
      cleanups.push(() => closeTemporalClients())
      const web = await startWebServer({ config, port: 0 })
      cleanups.push(() => web.close())
      webUrl = web.url
    } else {
      // As deployed: `node temporal/worker.ts` and `node web-remix/server.ts`, configured through the environment.
      const env = { ...configEnv(config), WEB_PORT: String(webPort) }
      const children: PlatformProcess[] = []
      const worker = await startWorkerProcess(env, undefined, 'temporal/worker.ts', options.nodeArgs)
      children.push(worker)
      cleanups.push(() => worker.stop())
      const web = await startWebProcess(env, undefined, options.nodeArgs)
      children.push(web)
      cleanups.push(() => web.stop())
      webUrl = web.url
      processes.push({ name: 'worker process', pid: worker.pid }, { name: 'web process', pid: web.pid })
      workerWarnings = () => {
        const all: Record<string, number> = {}
        for (const child of children) for (const [kind, n] of Object.entries(child.warnings())) all[`${child.name}: ${kind}`] = n
        return Object.fromEntries(Object.entries(all).sort((x, y) => y[1] - x[1]))
      }
    }

    const db = createDb(databaseUrl, { maxConnections: 8 })
    cleanups.push(() => db.$disconnect())

    const endpoints: Record<string, string> = {
      web: webUrl,
      temporal: temporal.address,
      ...(temporal.uiUrl ? { 'temporal UI': temporal.uiUrl } : {}),
      database: databaseUrl,
      'temporal state': temporal.state,
    }
    log(`stack up: web ${webUrl}, Temporal ${temporal.address}, database ${new URL(databaseUrl).pathname.slice(1)}`)
    return {
      webUrl,
      db,
      databaseUrl,
      sameClock: true,
      processes,
      workerWarnings,
      description: {
        summary:
          `started by the benchmark: ${temporal.summary}, worker and web ` +
          (inProcess ? `in the benchmark's process` : 'in processes of their own') +
          `, PostgreSQL database ${new URL(databaseUrl).pathname.slice(1)} (dropped afterwards)`,
        inProcess,
        endpoints,
        settings: {
          BILLING_PERIOD_MS: config.BILLING_PERIOD_MS,
          GRACE_MS: config.GRACE_MS,
          HEARTBEAT_TIMEOUT_MS: config.HEARTBEAT_TIMEOUT_MS,
          HEARTBEAT_SCAN_MS: config.HEARTBEAT_SCAN_MS,
          SETTLE_WAIT_MS: config.SETTLE_WAIT_MS,
          WORKER_MAX_CONCURRENT_ACTIVITIES: config.WORKER_MAX_CONCURRENT_ACTIVITIES,
          WORKER_MAX_CONCURRENT_WORKFLOW_TASKS: config.WORKER_MAX_CONCURRENT_WORKFLOW_TASKS,
          WORKER_MAX_CACHED_WORKFLOWS: config.WORKER_MAX_CACHED_WORKFLOWS,
        },
      },
      temporal: { address: temporal.address, namespace: temporal.namespace, taskQueue: config.TEMPORAL_TASK_QUEUE },
      config,
      async stop({ keepData }) {
        keepState = keepData
        keepDatabase = keepData
        await undo()
        return keepData ? [`database: ${databaseUrl}`, `Temporal state: ${temporal.state}`] : []
      },
    }
  } catch (error) {
    await undo()
    throw error
  }
}


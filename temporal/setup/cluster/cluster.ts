import { mkdir, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { CUSTOM_SEARCH_ATTRIBUTES } from '../../search-attributes.js'
import { freePort, isPortTaken, waitForTemporal } from '../dev-server.js'
import { SetupError, stderrLog, type SetupLog } from '../errors.js'
import { isListening, sleep } from '../processes.js'
import { startServerProcess, type ServerProcess } from '../server-process.js'
import {
  clusterConfigYaml,
  DYNAMIC_CONFIG_YAML,
  fixedLayout,
  HISTORY_SHARDS,
  PASSWORD_ENV,
  START_ORDER,
  type ClusterMemberSpec,
} from './config.js'
import { prepareClusterDatabases, type ClusterDatabases } from './databases.js'
import { ensureNamespace } from './namespace.js'

/**
 * A Temporal cluster on PostgreSQL as production runs one (docs/decisions/072-temporal-on-postgresql.md): each service
 * a process of its own (frontend, matching, two history processes on two loopback addresses that share the shards
 * through Temporal's membership, the internal worker), started in that order and stopped in the reverse one, on the
 * databases of temporal/setup/cluster/databases.ts. Used by `./platform up` with TEMPORAL_BACKEND=postgres, by the
 * benchmark's `--temporal postgres` and by tests/temporal/temporal-cluster.test.ts.
 */

export interface TemporalClusterOptions {
  serverPath: string
  sqlToolPath: string
  /** The Temporal CLI, which creates the namespace and registers the search attributes. */
  cliPath: string
  databases: ClusterDatabases
  /** Where the processes' configuration files are written (again at every start). */
  configDir: string
  /** The frontend's, matching's and the worker service's address; loopback by default. */
  ip?: string
  /** Temporal's port layout around this frontend port (fixedLayout); free ports everywhere when omitted. */
  frontendPort?: number
  /** One history process per address; 127.0.0.1 and 127.0.0.2 by default. */
  historyIps?: readonly string[]
  /** HISTORY_SHARDS unless a throw-away cluster (a test's) wants fewer; fixed once the databases exist. */
  numHistoryShards?: number
  namespace?: string
  /** The processes' log level: warn by default, as the dev server runs. */
  logLevel?: 'debug' | 'info' | 'warn' | 'error'
  log?: SetupLog
  /** Each line a process prints, with the process's name. */
  onOutput?: (member: string, line: string) => void
  /** Each process in its own process group (see DevServerOptions.detached). */
  detached?: boolean
  /** How long each process may take to listen; 120 s by default. */
  startTimeoutMs?: number
}

export interface ClusterMember extends ClusterMemberSpec {
  pid: number
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  outputTail(lines?: number): string
  /** A signal as it is, without the stop sequence: for fault drills (SIGKILL a history process, say). */
  kill(signal: NodeJS.Signals): void
}

export interface TemporalCluster {
  /** The frontend's host:port, for TEMPORAL_ADDRESS. */
  address: string
  namespace: string
  numHistoryShards: number
  databases: ClusterDatabases
  configDir: string
  /** The processes as they run now, in start order. */
  members(): ClusterMember[]
  member(name: string): ClusterMember
  /** Starts a member again (after a kill or a crash) with the configuration it had, and waits until it listens. */
  restart(name: string): Promise<ClusterMember>
  /** Stops every process, the last started first. */
  stop(): Promise<void>
}

const STOP_AFTER_TERM_MS = 15_000

export async function startTemporalCluster(opts: TemporalClusterOptions): Promise<TemporalCluster> {
  const log = opts.log ?? stderrLog
  const ip = opts.ip ?? '127.0.0.1'
  const historyIps = opts.historyIps ?? ['127.0.0.1', '127.0.0.2']
  const namespace = opts.namespace ?? 'default'
  const numHistoryShards = opts.numHistoryShards ?? HISTORY_SHARDS
  const startTimeoutMs = opts.startTimeoutMs ?? 120_000

  for (const address of new Set([ip, ...historyIps])) await checkAddressUsable(address)
  const specs = await layout(ip, historyIps, opts.frontendPort)
  if (opts.frontendPort !== undefined) {
    if (opts.frontendPort < 1024 || opts.frontendPort > 32_000) {
      throw new SetupError(
        `The Temporal cluster lays its ports out around the frontend's (TEMPORAL_ADDRESS port ${opts.frontendPort}): membership 300 below it, ` +
          `the others just above, all below 32768 (the membership table keeps them in a smallint). Choose a port between 1024 and 32000.`,
      )
    }
    for (const spec of specs) {
      for (const port of [spec.grpcPort, spec.membershipPort]) {
        if (await isPortTaken(port, spec.ip)) {
          throw new SetupError(
            `Port ${spec.ip}:${port} (Temporal's ${spec.name}) is already in use. Is a Temporal cluster or dev server from ` +
              `another ./platform up still running? Stop it, or choose another frontend port (TEMPORAL_ADDRESS=127.0.0.1:PORT).`,
          )
        }
      }
    }
  }

  const started = Date.now()
  await prepareClusterDatabases(opts.sqlToolPath, opts.databases, log)

  await mkdir(opts.configDir, { recursive: true })
  const dynamicConfigFile = join(opts.configDir, 'dynamicconfig.yaml')
  await writeFile(dynamicConfigFile, DYNAMIC_CONFIG_YAML)
  const frontend = specs.find((spec) => spec.service === 'frontend')!
  const address = `${frontend.ip}:${frontend.grpcPort}`
  for (const spec of specs) {
    const yaml = clusterConfigYaml({
      member: spec,
      members: specs,
      frontendAddress: address,
      persistence: opts.databases.persistence,
      visibility: opts.databases.visibility,
      numHistoryShards,
      dynamicConfigFile,
      logLevel: opts.logLevel ?? 'warn',
    })
    await writeFile(join(opts.configDir, `${spec.name}.yaml`), yaml)
  }

  const running = new Map<string, ClusterMember>()
  // Once the cluster stops, what the processes still say (the others going away under them) is not news.
  let stopping = false
  const launch = async (spec: ClusterMemberSpec): Promise<ClusterMember> => {
    const args = ['--root', '/', '--config', opts.configDir, '--env', spec.name, '--allow-no-auth', 'start', '--service', spec.service]
    const server: ServerProcess = startServerProcess(opts.serverPath, args, {
      title: `Temporal's ${spec.name} process`,
      env: { ...process.env, [PASSWORD_ENV]: opts.databases.password },
      detached: opts.detached,
      onOutput: opts.onOutput ? (line) => stopping || !isNews(line) || opts.onOutput!(spec.name, line) : undefined,
      stopSequence: [
        ['SIGTERM', 0],
        ['SIGKILL', STOP_AFTER_TERM_MS],
      ],
    })
    const member: ClusterMember & { stop(): Promise<void> } = {
      ...spec,
      pid: server.pid,
      exited: server.exited,
      outputTail: server.outputTail,
      kill: (signal) => {
        try {
          process.kill(server.pid, signal)
        } catch {
          // Already gone.
        }
      },
      stop: server.stop,
    }
    running.set(spec.name, member)
    // The worker service serves no gRPC: its membership port (listening once it has joined) is what says it runs.
    const port = spec.service === 'worker' ? spec.membershipPort : spec.grpcPort
    await server.untilAnswering((signal) => waitForListening(spec.ip, port, startTimeoutMs, signal, spec.name))
    return member
  }

  const stop = async () => {
    stopping = true
    for (const spec of [...specs].reverse()) await (running.get(spec.name) as { stop?: () => Promise<void> } | undefined)?.stop?.()
  }

  try {
    for (const service of START_ORDER) {
      // The processes of one service (the two history processes) start side by side.
      await Promise.all(specs.filter((spec) => spec.service === service).map(launch))
    }
    await ensureNamespace(opts.cliPath, address, namespace, log)
    await waitForTemporal(address, namespace, { timeoutMs: 60_000, searchAttributes: Object.keys(CUSTOM_SEARCH_ATTRIBUTES) })
  } catch (error) {
    await stop()
    throw error
  }
  log(
    `Temporal cluster on ${address}: ${specs.map((s) => `${s.name} ${s.ip}:${s.grpcPort} (pid ${running.get(s.name)!.pid})`).join(', ')}; ` +
      `${numHistoryShards} history shards; up in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  )

  return {
    address,
    namespace,
    numHistoryShards,
    databases: opts.databases,
    configDir: opts.configDir,
    members: () => specs.map((spec) => running.get(spec.name)!),
    member: (name) => {
      const member = running.get(name)
      if (!member) throw new Error(`no cluster member named ${name}`)
      return member
    },
    restart: async (name) => {
      stopping = false
      const spec = specs.find((s) => s.name === name)
      if (!spec) throw new Error(`no cluster member named ${name}`)
      await (running.get(name) as { stop?: () => Promise<void> } | undefined)?.stop?.()
      return launch(spec)
    },
    stop,
  }
}

/**
 * Which of a process's lines are passed on (all are kept for the message when it dies): its log lines, without the
 * stack trace each error carries, the "Loading config" lines of every start, and the queue readers' complaints while a
 * shard changes hands (at every start, as the history processes join, and when one is lost).
 */
function isNews(line: string): boolean {
  if (!/^\d{4}-\d\d-\d\dT/.test(line)) return /^(panic|fatal error):/.test(line)
  return !SHARD_HANDOVER.some((pattern) => line.includes(pattern))
}

const SHARD_HANDOVER = ['"error": "shard status unknown"', '"error": "Failed to update shard. Previous range ID', '\tCouldn\'t acquire shard\t']

async function layout(ip: string, historyIps: readonly string[], frontendPort: number | undefined): Promise<ClusterMemberSpec[]> {
  const metricsPorts = [ip, ip, ...historyIps, ip]
  const metrics = await Promise.all(metricsPorts.map((host) => freePort(host)))
  if (frontendPort !== undefined) return fixedLayout(ip, frontendPort, historyIps, metrics)
  const free = async (host: string) => ({ grpcPort: await freeLowPort(host), membershipPort: await freeLowPort(host) })
  return [
    { name: 'frontend', service: 'frontend', ip, ...(await free(ip)), metricsPort: metrics[0]! },
    { name: 'matching', service: 'matching', ip, ...(await free(ip)), metricsPort: metrics[1]! },
    ...(await Promise.all(
      historyIps.map(async (historyIp, index) => ({
        name: `history-${index + 1}`,
        service: 'history' as const,
        ip: historyIp,
        ...(await free(historyIp)),
        metricsPort: metrics[2 + index]!,
      })),
    )),
    { name: 'worker', service: 'worker', ip, ...(await free(ip)), metricsPort: metrics[2 + historyIps.length]! },
  ]
}

/**
 * A free port below 32768: the membership table keeps ports in a smallint, so the kernel's ephemeral ports (32768 and
 * up, which freePort hands out) are refused there.
 */
async function freeLowPort(host: string): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000)
    if (!(await isPortTaken(port, host))) return port
  }
  throw new SetupError(`No free port between 20000 and 32000 on ${host} for the Temporal cluster.`)
}

/** Linux routes all of 127.0.0.0/8 to the loopback interface; other systems may need an alias for 127.0.0.2. */
async function checkAddressUsable(host: string): Promise<void> {
  const problem = await new Promise<string | undefined>((resolve) => {
    const server = createServer()
    server.unref()
    server.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message))
    server.listen(0, host, () => server.close(() => resolve(undefined)))
  })
  if (problem) {
    throw new SetupError(
      `The Temporal cluster's processes cannot listen on ${host} (${problem}). Each history process has a loopback address ` +
        `of its own; on macOS add one with \`sudo ifconfig lo0 alias ${host}\`.`,
    )
  }
}

async function waitForListening(host: string, port: number, timeoutMs: number, signal: AbortSignal, name: string): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (signal.aborted) return
    if (await isListening(host, port)) return
    await sleep(200)
  }
  throw new SetupError(`Temporal's ${name} process did not listen on ${host}:${port} within ${Math.round(timeoutMs / 1000)} s.`)
}

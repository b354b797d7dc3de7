import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { loadConfig, type PlatformConfig } from '../../config/env.js'
import { ensurePrismaClient } from '../../prisma/generate.js'
import { applyMigrations, describeDatabaseError, ensureDatabase } from '../../prisma/migrate.js'
import { isPortTaken, startDevServer, waitForTemporal, type DevServer } from './dev-server.js'
import { describeFailure, SetupError, tailLines } from './errors.js'
import { startLiveKit, waitForLiveKit, type LiveKitServer } from './livekit.js'
import { ensureLiveKitServer } from './livekit-server.js'
import { parseTemporalBackend } from './cluster/backend.js'
import { startTemporalCluster, type TemporalCluster } from './cluster/cluster.js'
import { clusterDatabases } from './cluster/databases.js'
import { startTemporalUi, type TemporalUi } from './cluster/ui.js'
import { ensureTemporalCli } from './temporal-cli.js'
import { ensureTemporalServerTools } from './temporal-server.js'
import { ensureWebBuild, WEB_VITE_CONFIG } from './web-build.js'
import { forEachLine, isListening, sleep } from './processes.js'

/**
 * `./platform up`: the one command that starts the whole platform on this machine, with demo data.
 *
 *   database (create + migrate) → demo seed → Temporal CLI → Temporal dev server (.data/temporal/dev.db)
 *   → LiveKit server (config in .data/livekit/) → web build when stale → worker + web as child processes,
 *   their output prefixed and coloured
 *
 * With TEMPORAL_BACKEND=postgres, Temporal is a cluster of its own processes on PostgreSQL instead of the dev server
 * (temporal/setup/cluster/, docs/decisions/072): its databases beside DATABASE_URL's, its configuration in
 * .data/temporal-cluster/, frontend, matching, two history processes and the worker service on Temporal's usual ports.
 *
 * Every step is idempotent, so running it again (after Ctrl-C, or after a crash) just works: the database and
 * its migrations are kept, the seed creates nothing twice, the dev server keeps its state file (and a dev server
 * left running on that file is reused), a fresh web build is not rebuilt.
 *
 * Ctrl-C or SIGTERM stops the children in order (web, worker, LiveKit, then Temporal) and exits 0. If a child dies, the
 * rest are stopped and up exits 1 with that child's last lines. Expected failures print a message, no stack.
 */

// `./platform up` runs the platform on a developer's machine with demo data: it turns the development switch on
// (config/env.ts: the dev mailbox, development secrets, the sandbox) unless the caller chose a mode. Its children (the
// seed, the worker, the web) inherit it.
const DEVELOPMENT_BY_DEFAULT = !process.env.NODE_ENV
if (DEVELOPMENT_BY_DEFAULT) process.env.NODE_ENV = 'development'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const DEV_DB_FILE = join(ROOT, '.data', 'temporal', 'dev.db')
const CLUSTER_CONFIG_DIR = join(ROOT, '.data', 'temporal-cluster')
const LIVEKIT_CONFIG_FILE = join(ROOT, '.data', 'livekit', 'livekit.yaml')
const TSX_CLI = createRequire(import.meta.url).resolve('tsx/cli')
const STOP_TIMEOUT_MS = 10_000
const WEB_READY_TIMEOUT_MS = 60_000
const TAIL_LINES = 30

// ---------------------------------------------------------------------------------------------------------
// Output: every line is prefixed with who said it; colours only on a terminal (and never with NO_COLOR).

const useColor = process.env.FORCE_COLOR ? process.env.FORCE_COLOR !== '0' : process.stdout.isTTY === true && !process.env.NO_COLOR
const COLORS = { up: 1, temporal: 35, livekit: 94, worker: 36, web: 32, seed: 33, build: 34, demo: 93 } as const
type Source = keyof typeof COLORS
const PREFIX_WIDTH = Math.max(...Object.keys(COLORS).map((name) => name.length))

const paint = (code: number, text: string) => (useColor ? `\x1b[${code}m${text}\x1b[0m` : text)
const bold = (text: string) => paint(1, text)

function print(source: Source, line: string, stream: NodeJS.WriteStream = process.stdout): void {
  stream.write(`${paint(COLORS[source], `${source.padEnd(PREFIX_WIDTH)} │`)} ${line}\n`)
}
const say = (line: string) => print('up', line)

// A reader that went away (`./platform up | head`, a closed terminal) must not crash us mid-shutdown and leave
// children behind: output is best effort.
process.stdout.on('error', () => undefined)
process.stderr.on('error', () => undefined)

// ---------------------------------------------------------------------------------------------------------
// Children: each in its own process group, so a signal reaches the whole tree (tsx and the node it starts) and a
// terminal's Ctrl-C reaches only us, which then stops them in order.

interface Child {
  name: Source
  process: ChildProcess
  /** stdout and stderr interleaved, for "its last lines". */
  output: string[]
  /** stdout alone (the seed's summary). */
  stdout: string[]
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

const children: Child[] = []
let devServer: DevServer | undefined
let cluster: TemporalCluster | undefined
let clusterUi: TemporalUi | undefined
let liveKit: LiveKitServer | undefined
let shuttingDown = false

function startChild(name: Source, args: string[], options: { env?: NodeJS.ProcessEnv; quiet?: boolean } = {}): Child {
  if (shuttingDown) throw new SetupError('interrupted')
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  })
  const output: string[] = []
  const stdout: string[] = []
  const onLine = (line: string) => {
    if (!line.trim()) return
    output.push(line)
    if (output.length > 200) output.shift()
    // The children prefix their own lines ("worker: …"); ours already says who speaks.
    if (!options.quiet && !shuttingDown) print(name, line.startsWith(`${name}: `) ? line.slice(name.length + 2) : line)
  }
  forEachLine(child.stdout, (line) => {
    stdout.push(line)
    onLine(line)
  })
  forEachLine(child.stderr, onLine)
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }))
    child.once('error', (error) => {
      output.push(error.message)
      resolve({ code: null, signal: null })
    })
  })
  const entry: Child = { name, process: child, output, stdout, exited }
  children.push(entry)
  void exited.then(() => children.splice(children.indexOf(entry), 1))
  return entry
}

async function stopChild(child: Child): Promise<void> {
  const pid = child.process.pid
  if (pid === undefined || child.process.exitCode !== null || child.process.signalCode !== null) return
  signalGroup(pid, 'SIGTERM')
  const timer = setTimeout(() => signalGroup(pid, 'SIGKILL'), STOP_TIMEOUT_MS)
  await child.exited
  clearTimeout(timer)
  // Whatever the leader left behind in its group goes too.
  signalGroup(pid, 'SIGKILL')
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal)
  } catch {
    // The group is already gone.
  }
}

/** Stops the web and the worker (newest first), then LiveKit and the Temporal they talk to. */
async function stopEverything(): Promise<void> {
  shuttingDown = true
  for (const child of [...children].reverse()) await stopChild(child)
  await liveKit?.stop()
  await devServer?.stop()
  await clusterUi?.stop()
  await cluster?.stop()
}

// Last resort when this process ends some other way (an uncaught error): no child outlives it.
process.on('exit', () => {
  for (const child of children) if (child.process.pid !== undefined) signalGroup(child.process.pid, 'SIGKILL')
})

// ---------------------------------------------------------------------------------------------------------
// Steps

/** Runs one preparation step; the failures each step expects become SetupErrors with a plain message. */
async function step<T>(what: string, run: () => Promise<T>, describe?: (error: unknown) => string): Promise<T> {
  try {
    return await run()
  } catch (error) {
    if (error instanceof SetupError || shuttingDown) throw error
    const name = (error as Error)?.name ?? ''
    if (describe) throw new SetupError(`${what}: ${describe(error)}`)
    if (/^(ConfigError|PrismaGenerateError|MigrationError)$/.test(name)) throw new SetupError(`${what}: ${(error as Error).message}`)
    throw error
  }
}

async function prepareDatabase(config: PlatformConfig): Promise<void> {
  const url = config.DATABASE_URL
  await step('Preparing the database', async () => {
    const { created } = await ensureDatabase(url)
    const { applied } = await applyMigrations(url, { log: (line) => say(line) })
    say(
      `database ${describeDatabase(url)}: ${created ? 'created' : 'exists'}, ` +
        (applied.length ? `applied ${applied.length} migration(s): ${applied.join(', ')}` : 'migrations up to date'),
    )
  }, (error) => describeDatabaseError(error, url))
}

/** Runs prisma/seed.ts as its own process (so a missing or broken seed is its own clear error); returns what it printed. */
async function seedDemoData(): Promise<string> {
  const seedFile = join(ROOT, 'prisma', 'seed.ts')
  if (!existsSync(seedFile)) {
    throw new SetupError(`The demo seed is missing (${relative(ROOT, seedFile)}): the platform cannot be filled with demo data.`)
  }
  say('seeding the demo data (prisma/seed.ts)…')
  const seed = startChild('seed', [TSX_CLI, seedFile], { quiet: true })
  const { code, signal } = await seed.exited
  if (shuttingDown) throw new SetupError('interrupted')
  if (code !== 0) {
    throw new SetupError(
      `The demo seed failed (${signal ? `signal ${signal}` : `exit code ${code}`}). It said:\n${tailLines(seed.output, TAIL_LINES) || '(nothing)'}`,
    )
  }
  return seed.stdout.join('\n')
}

function parseAddress(address: string): { host: string; port: number } {
  const match = /^\[?([^\]]+?)\]?:(\d+)$/.exec(address.trim())
  if (!match) throw new SetupError(`TEMPORAL_ADDRESS must be host:port (e.g. 127.0.0.1:7233), not "${address}".`)
  return { host: match[1] as string, port: Number(match[2]) }
}

const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '::1'])

/** A local TEMPORAL_ADDRESS gets the embedded dev server; any other one is a cluster that must already run. */
async function prepareTemporal(config: PlatformConfig): Promise<{ address: string; uiUrl: string; note: string }> {
  const { host, port } = parseAddress(config.TEMPORAL_ADDRESS)
  if (!LOCAL_HOSTS.has(host)) {
    say(`using the Temporal cluster at ${config.TEMPORAL_ADDRESS} (namespace ${config.TEMPORAL_NAMESPACE})`)
    try {
      await waitForTemporal(config.TEMPORAL_ADDRESS, config.TEMPORAL_NAMESPACE, { timeoutMs: 15_000 })
    } catch (error) {
      throw new SetupError(
        `${(error as Error).message}\nCheck TEMPORAL_ADDRESS and TEMPORAL_NAMESPACE, or set TEMPORAL_ADDRESS to ` +
          `127.0.0.1:PORT to run the embedded Temporal dev server instead.`,
      )
    }
    return { address: config.TEMPORAL_ADDRESS, uiUrl: config.TEMPORAL_UI_URL, note: 'cluster' }
  }
  const cliPath = await ensureTemporalCli({ log: (line) => print('temporal', line) })
  if (parseTemporalBackend(process.env.TEMPORAL_BACKEND) === 'postgres') return startCluster(config, cliPath, host, port)
  const uiPort = Number(new URL(config.TEMPORAL_UI_URL).port || 8233)
  devServer = await startDevServer({
    cliPath,
    dbFile: DEV_DB_FILE,
    ip: host === 'localhost' ? '127.0.0.1' : host,
    port,
    uiPort,
    namespace: config.TEMPORAL_NAMESPACE,
    detached: true,
    log: (line) => print('temporal', line.replace(/^temporal: /, '')),
    onOutput: (line) => print('temporal', line),
  })
  const note = devServer.reused
    ? `dev server reused (pid ${devServer.pid}, left running on exit)`
    : `dev server, state in ${relative(ROOT, DEV_DB_FILE)}`
  if (!devServer.reused) say(`Temporal dev server on ${devServer.address} (pid ${devServer.pid}), state in ${relative(ROOT, DEV_DB_FILE)}`)
  return { address: devServer.address, uiUrl: devServer.uiUrl, note }
}

/** TEMPORAL_BACKEND=postgres: Temporal's services as processes of their own, on PostgreSQL (docs/decisions/072). */
async function startCluster(
  config: PlatformConfig,
  cliPath: string,
  host: string,
  port: number,
): Promise<{ address: string; uiUrl: string; note: string }> {
  const tools = await ensureTemporalServerTools({ log: (line) => print('temporal', line) })
  const databases = clusterDatabases(config.DATABASE_URL)
  cluster = await startTemporalCluster({
    serverPath: tools.server,
    sqlToolPath: tools.sqlTool,
    cliPath,
    databases,
    configDir: CLUSTER_CONFIG_DIR,
    ip: host === 'localhost' ? '127.0.0.1' : host,
    frontendPort: port,
    namespace: config.TEMPORAL_NAMESPACE,
    detached: true,
    log: (line) => print('temporal', line),
    onOutput: (member, line) => print('temporal', `${member}: ${line}`),
  })
  // The CLI's UI serves only its own dev server: the cluster gets Temporal's UI server, on TEMPORAL_UI_URL's port.
  const ui = new URL(config.TEMPORAL_UI_URL)
  clusterUi = await startTemporalUi({
    uiServerPath: tools.uiServer,
    frontendAddress: cluster.address,
    namespace: config.TEMPORAL_NAMESPACE,
    host: ui.hostname === 'localhost' ? '127.0.0.1' : ui.hostname,
    port: Number(ui.port || 8233),
    configDir: CLUSTER_CONFIG_DIR,
    detached: true,
    onOutput: (line) => print('temporal', `ui: ${line}`),
  })
  say(`Temporal UI on ${clusterUi.url} (pid ${clusterUi.pid})`)
  return {
    address: cluster.address,
    uiUrl: clusterUi.url,
    note:
      `cluster on PostgreSQL (${databases.persistence.database}, ${databases.visibility.database}), ` +
      `${cluster.members().length} processes, ${cluster.numHistoryShards} history shards`,
  }
}

/**
 * A local LIVEKIT_URL gets a LiveKit server of its own, its webhooks pointed at our web server's /webhooks/livekit;
 * any other one is a deployment (self-hosted or LiveKit Cloud) that must already answer.
 */
async function prepareLiveKit(config: PlatformConfig): Promise<{ url: string; note: string }> {
  const url = new URL(config.LIVEKIT_URL)
  const host = url.hostname.replace(/^\[|\]$/g, '')
  if (!LOCAL_HOSTS.has(host)) {
    say(`using the LiveKit deployment at ${config.LIVEKIT_URL}`)
    try {
      await waitForLiveKit(config.LIVEKIT_API_URL, { timeoutMs: 15_000 })
    } catch (error) {
      throw new SetupError(
        `${(error as Error).message}\nCheck LIVEKIT_URL and LIVEKIT_API_URL, or set LIVEKIT_URL to ws://127.0.0.1:PORT ` +
          `to run a local LiveKit server instead.`,
      )
    }
    return { url: config.LIVEKIT_URL, note: 'deployment' }
  }
  const serverPath = await ensureLiveKitServer({ log: (line) => print('livekit', line.replace(/^livekit-server: /, '')) })
  const webHost = ['0.0.0.0', '::', 'localhost'].includes(config.WEB_HOST) ? '127.0.0.1' : config.WEB_HOST
  const webhookUrl = `http://${webHost.includes(':') ? `[${webHost}]` : webHost}:${config.WEB_PORT}/webhooks/livekit`
  liveKit = await startLiveKit({
    serverPath,
    apiKey: config.LIVEKIT_API_KEY,
    apiSecret: config.LIVEKIT_API_SECRET,
    host: host === 'localhost' ? '127.0.0.1' : host,
    port: Number(url.port || (url.protocol === 'wss:' ? 443 : 80)),
    rtcTcpPort: config.LIVEKIT_RTC_TCP_PORT,
    rtcUdpPorts: config.LIVEKIT_RTC_UDP_PORTS,
    webhookUrls: [webhookUrl],
    // Its INFO lines include every SDP offer: warnings and errors are what a developer wants to see here.
    logLevel: 'warn',
    configFile: LIVEKIT_CONFIG_FILE,
    detached: true,
    log: (line) => print('livekit', line.replace(/^livekit: /, '')),
    onOutput: (line) => print('livekit', line),
  })
  say(`LiveKit server on ${liveKit.url} (pid ${liveKit.pid}), webhooks to ${webhookUrl}`)
  const { start, end } = liveKit.rtcUdpPorts
  return { url: liveKit.url, note: `local server; media on UDP ${start}-${end}, TCP ${liveKit.rtcTcpPort}` }
}

/**
 * With the development switch on, one demo operator answers every call by itself (temporal/setup/demo-operator.ts), so
 * a call can be tried without the desktop plugin. DEMO_OPERATOR names another demo operator's e-mail, or `none`. Read
 * here, not in config/env.ts: it is about this launcher, not the platform.
 */
async function startDemo(config: PlatformConfig, webUrl: string): Promise<string | undefined> {
  const email = process.env.DEMO_OPERATOR ?? 'sage@perminute.test'
  if (!config.DEVELOPMENT_FEATURES || email === 'none') return undefined
  // Imported here, not at the top: the seed needs the Prisma client, which a fresh clone has generated only by now.
  const { DEMO_PASSWORD } = await import('../../prisma/seed.js')
  // A process of its own, like the worker and the web: it plays a user, through the plugin API only.
  const demo = startChild('demo', [TSX_CLI, join(ROOT, 'bench', 'demo-operator.ts')], {
    // NODE_ENV=production only quiets @livekit/rtc-node's own logger (debug level otherwise); the program reads no config.
    env: { ...process.env, NODE_ENV: 'production', DEMO_PLATFORM_URL: webUrl, DEMO_OPERATOR_EMAIL: email, DEMO_OPERATOR_PASSWORD: DEMO_PASSWORD },
  })
  void demo.exited.then(({ code }) => {
    if (!shuttingDown) print('demo', `the demo operator stopped (exit code ${code}); the rest goes on`, process.stderr)
  })
  return `${email} answers every call by itself, with a tone and a moving picture (DEMO_OPERATOR=none turns this off)`
}

/** Returns false when there is no web app to build yet (web-remix/vite.config.ts missing). */
async function buildWeb(): Promise<boolean> {
  if (!existsSync(WEB_VITE_CONFIG)) {
    say(`no web app yet (${relative(ROOT, WEB_VITE_CONFIG)} is missing): skipping the web build and the web server`)
    return false
  }
  const outcome = await ensureWebBuild(async () => {
    say('building the web app (remix vite:build)…')
    const remixCli = createRequire(import.meta.url).resolve('@remix-run/dev/dist/cli.js')
    // A production build whatever NODE_ENV says: React's client bundle depends on it.
    const build = startChild('build', [remixCli, 'vite:build', '--config', relative(ROOT, WEB_VITE_CONFIG)], {
      env: { ...process.env, NODE_ENV: 'production' },
      quiet: true,
    })
    const { code, signal } = await build.exited
    if (shuttingDown) throw new SetupError('interrupted')
    if (code !== 0) {
      throw new SetupError(
        `Building the web app failed (${signal ? `signal ${signal}` : `exit code ${code}`}). It said:\n${tailLines(build.output, TAIL_LINES)}`,
      )
    }
  }, say)
  say(outcome === 'built' ? 'web app built' : 'web build is up to date')
  return true
}

const WEB_SERVER_FILE = join(ROOT, 'web-remix', 'server.ts')

/** Checked first, so that a second `up` beside a running one says so at once instead of after the seed. */
async function checkWebPort(config: PlatformConfig): Promise<void> {
  if (!existsSync(WEB_SERVER_FILE)) return
  if (await isPortTaken(config.WEB_PORT, config.WEB_HOST)) {
    throw new SetupError(
      `The web port ${config.WEB_HOST}:${config.WEB_PORT} is already in use. Is another ./platform up running? ` +
        `Stop it, or set WEB_PORT to a free port.`,
    )
  }
}

async function waitForPort(host: string, port: number, child: Child, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let exited = false
  void child.exited.then(() => (exited = true))
  while (Date.now() < deadline && !exited) {
    if (await isListening(host, port)) return
    await sleep(250)
  }
  if (!exited) throw new SetupError(`The web server did not listen on ${host}:${port} within ${timeoutMs / 1000} s.`)
  // Otherwise the exit itself is reported by the supervision in main().
}

// ---------------------------------------------------------------------------------------------------------

function describeDatabase(url: string): string {
  try {
    const parsed = new URL(url)
    if (parsed.password) parsed.password = '***'
    return parsed.toString()
  } catch {
    return url
  }
}

function printSummary(parts: {
  web?: string
  temporal: { address: string; uiUrl: string; note: string }
  liveKit: { url: string; note: string }
  demoOperator?: string
  namespace: string
  taskQueue: string
  database: string
  seedOutput: string
}): void {
  const lines = [
    '',
    bold('The platform is up.'),
    `  Web            ${parts.web ?? '(not started: no web app yet)'}`,
    `  Temporal gRPC  ${parts.temporal.address}  namespace ${parts.namespace}, task queue ${parts.taskQueue} (${parts.temporal.note})`,
    `  Temporal UI    ${parts.temporal.uiUrl}`,
    `  LiveKit        ${parts.liveKit.url}  (${parts.liveKit.note})`,
    ...(parts.demoOperator ? [`  Demo operator  ${parts.demoOperator}`] : []),
    `  Database       ${parts.database}`,
    '',
    ...(parts.seedOutput.trim() ? parts.seedOutput.trimEnd().split('\n').map((line) => `  ${line}`) : ['  (the seed printed no demo logins)']),
    '',
    'Press Ctrl-C to stop everything.',
    '',
  ]
  for (const line of lines) say(line)
}

async function main(): Promise<number> {
  let interrupted: Promise<number> | undefined
  let running = false
  let firstSignalAt = 0
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) {
      // One Ctrl-C can arrive twice (from the terminal, and relayed by tsx); a second one a moment later means
      // the user is in a hurry.
      if (Date.now() - firstSignalAt > 1_000) {
        say('stopping now')
        for (const child of children) if (child.process.pid !== undefined) signalGroup(child.process.pid, 'SIGKILL')
        if (liveKit) signalGroup(liveKit.pid, 'SIGKILL')
        if (devServer && !devServer.reused) signalGroup(devServer.pid, 'SIGKILL')
        for (const member of cluster?.members() ?? []) signalGroup(member.pid, 'SIGKILL')
        if (clusterUi) signalGroup(clusterUi.pid, 'SIGKILL')
      }
      return
    }
    firstSignalAt = Date.now()
    say(`${signal} received: stopping…`)
    interrupted = stopEverything().then(() => {
      say('stopped')
      // Stopping a running platform is the normal way out; interrupting its preparation is not.
      return running ? 0 : 128 + (({ SIGHUP: 1, SIGINT: 2, SIGTERM: 15 } as Record<string, number>)[signal] ?? 0)
    })
    void interrupted.then((code) => process.exit(code))
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  process.on('SIGHUP', onSignal)

  try {
    const config = await step('Reading the configuration', async () => loadConfig())
    if (!DEVELOPMENT_BY_DEFAULT) say(`NODE_ENV=${config.NODE_ENV} (from the environment)`)
    await checkWebPort(config)
    await step('Generating the Prisma client', () => ensurePrismaClient({ log: (line) => say(line) }))
    await prepareDatabase(config)
    const seedOutput = await seedDemoData()
    say('demo data ready')
    const temporal = await step('Starting Temporal', () => prepareTemporal(config))
    const liveKitPart = await step('Starting LiveKit', () => prepareLiveKit(config))
    const webBuilt = await step('Building the web app', () => buildWeb())

    const startWeb = webBuilt && existsSync(WEB_SERVER_FILE)
    if (webBuilt && !startWeb) say(`no web server yet (${relative(ROOT, WEB_SERVER_FILE)} is missing): not starting the web`)

    const worker = startChild('worker', [TSX_CLI, join(ROOT, 'temporal', 'worker.ts')])
    const web = startWeb ? startChild('web', [TSX_CLI, WEB_SERVER_FILE]) : undefined
    const watched: Array<{ name: string; exited: Promise<unknown>; tail: () => string }> = [
      { name: 'worker', exited: worker.exited, tail: () => tailLines(worker.output, TAIL_LINES) },
    ]
    if (web) watched.push({ name: 'web', exited: web.exited, tail: () => tailLines(web.output, TAIL_LINES) })
    if (liveKit) {
      const server = liveKit
      watched.push({ name: 'the LiveKit server', exited: server.exited, tail: () => server.outputTail(TAIL_LINES) })
    }
    if (devServer) {
      const server = devServer
      watched.push({ name: 'the Temporal dev server', exited: server.exited, tail: () => server.outputTail(TAIL_LINES) })
    }
    if (clusterUi) {
      const ui = clusterUi
      watched.push({ name: "Temporal's UI server", exited: ui.exited, tail: () => ui.outputTail(TAIL_LINES) })
    }
    for (const member of cluster?.members() ?? []) {
      watched.push({ name: `Temporal's ${member.name} process`, exited: member.exited, tail: () => member.outputTail(TAIL_LINES) })
    }
    const firstDeath = Promise.race(
      watched.map((part) => part.exited.then((result) => ({ part, result: result as { code: number | null; signal: string | null } }))),
    )

    const webUrl = `http://${config.WEB_HOST}:${config.WEB_PORT}`
    const diedEarly = web
      ? await Promise.race([waitForPort(config.WEB_HOST, config.WEB_PORT, web, WEB_READY_TIMEOUT_MS).then(() => undefined), firstDeath])
      : undefined
    running = true
    const demo = !interrupted && !diedEarly && web ? await startDemo(config, webUrl) : undefined
    if (!interrupted && !diedEarly) {
      printSummary({
        web: web ? webUrl : undefined,
        temporal,
        liveKit: liveKitPart,
        demoOperator: demo,
        namespace: config.TEMPORAL_NAMESPACE,
        taskQueue: config.TEMPORAL_TASK_QUEUE,
        database: describeDatabase(config.DATABASE_URL),
        seedOutput,
      })
    }

    const ended = diedEarly ?? (await Promise.race([firstDeath, interrupted ?? new Promise<never>(() => {})]))
    if (typeof ended === 'number') return ended
    if (shuttingDown) return (await interrupted) ?? 0
    // Something died on its own: take the rest down and say what it said last.
    const { part, result } = ended
    const how = result.signal ? `was killed by ${result.signal}` : `exited with code ${result.code}`
    process.stderr.write(`\n`)
    print('up', bold(`${part.name} ${how}; stopping everything. Its last lines:`), process.stderr)
    for (const line of (part.tail() || '(nothing)').split('\n')) print('up', `  ${line}`, process.stderr)
    await stopEverything()
    return 1
  } catch (error) {
    if (interrupted) return interrupted
    await stopEverything()
    process.stderr.write('\n')
    for (const line of describeFailure(error).split('\n')) print('up', line, process.stderr)
    return 1
  }
}



process.exitCode = await main()
// Timers and sockets of stopped parts must not keep a finished `up` alive.
process.exit()

import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { dirname, resolve } from 'node:path'
import { Connection } from '@temporalio/client'
import { CUSTOM_SEARCH_ATTRIBUTES } from '../search-attributes.js'
import { SetupError, stderrLog, type SetupLog } from './errors.js'
import { commandLineIncludes, isAlive, sleep } from './processes.js'
import { startServerProcess } from './server-process.js'

/**
 * Starts (or, for `./platform up`, finds again) a Temporal CLI dev server: the platform's embedded Temporal.
 *
 * Persisted servers (dbFile) use SQLite's WAL pragmas, which made the dev server about 3x faster here
 * (DESIGN.md, "Facts about our machines"). Every server registers the platform's custom search attributes,
 * which the admin uses to find calls in the Temporal UI; the CLI skips ones already registered, so restarting
 * on an existing dbFile is fine.
 *
 * Reuse rule (for `up` idempotence): a persisted server leaves a state file beside its dbFile
 * (`<dbFile>.server.json`). When a live dev server already runs on the same dbFile (a previous `up` that was
 * killed without cleaning up, say) and listens on the requested port, startDevServer returns it with
 * `reused: true` instead of failing, and its stop() leaves it running: a server we did not start is not ours
 * to stop. A live server on the same dbFile but on another port is refused with a clear message, because two
 * servers writing one SQLite file would corrupt it. A port held by anything else is refused too.
 */

export interface DevServerOptions {
  cliPath: string
  /** The SQLite file that keeps the server's state across restarts; undefined = in memory. */
  dbFile?: string
  /** The frontend gRPC port; a free one when omitted. */
  port?: number
  /** The Web UI's port; a free one when omitted. */
  uiPort?: number
  /** Created at launch besides "default", which always exists. */
  namespace?: string
  /** The address to bind; loopback unless told otherwise. */
  ip?: string
  log?: SetupLog
  /** Each line the server prints (warnings and errors at --log-level warn). Otherwise only kept for error messages. */
  onOutput?: (line: string) => void
  /**
   * Run the server in its own process group, so a terminal's Ctrl-C reaches only the caller, which then stops
   * its children in order (workers before the server they talk to). up.ts wants that; tests do not, because
   * there a Ctrl-C that reaches the server too is what keeps it from outliving the run.
   */
  detached?: boolean
  /** How long the server may take to answer; 60 s by default (it takes about 1 s here). */
  startTimeoutMs?: number
  /** Reuse a live dev server already running on the same dbFile and port (see above). Default true. */
  reuseExisting?: boolean
}

export interface DevServer {
  /** host:port of the frontend gRPC service, for TEMPORAL_ADDRESS. */
  address: string
  uiUrl: string
  namespace: string
  pid: number
  dbFile: string | undefined
  /** True when startDevServer found this server already running (then stop() leaves it alone). */
  reused: boolean
  /** Settles when the server process ends, for whatever reason. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  /** The last lines the server printed (empty for a reused server). */
  outputTail(lines?: number): string
  /** SIGTERM, then SIGKILL if it has not exited within 10 s. Resolves once it is gone. */
  stop(): Promise<void>
}

interface StateFile {
  pid: number
  ip: string
  port: number
  uiPort: number
  namespace: string
  dbFile: string
  startedAt: string
}

const STOP_TIMEOUT_MS = 10_000

/** A TCP port that is free on the loopback interface right now. */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer()
    server.unref()
    server.once('error', reject)
    server.listen(0, host, () => {
      const address = server.address()
      const port = typeof address === 'object' && address ? address.port : 0
      server.close(() => resolvePort(port))
    })
  })
}

/** Whether something already listens on host:port (checked by trying to listen there ourselves). */
export async function isPortTaken(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolveTaken) => {
    const server = createServer()
    server.unref()
    server.once('error', (error: NodeJS.ErrnoException) => resolveTaken(error.code === 'EADDRINUSE' || error.code === 'EACCES'))
    server.listen(port, host, () => server.close(() => resolveTaken(false)))
  })
}

export async function startDevServer(opts: DevServerOptions): Promise<DevServer> {
  const log = opts.log ?? stderrLog
  const ip = opts.ip ?? '127.0.0.1'
  const namespace = opts.namespace ?? 'default'
  const dbFile = opts.dbFile === undefined ? undefined : resolve(opts.dbFile)
  const timeoutMs = opts.startTimeoutMs ?? 60_000

  if (dbFile) {
    const existing = await findRunningServer(dbFile)
    if (existing) {
      const samePort = opts.port === undefined || opts.port === existing.port
      if (samePort && existing.namespace === namespace && (opts.reuseExisting ?? true)) {
        const address = `${existing.ip}:${existing.port}`
        await waitForTemporal(address, namespace, { timeoutMs: 15_000 })
        log(`temporal: reusing the dev server already running on ${dbFile} (pid ${existing.pid}, ${address}); it stays running`)
        return reusedServer(existing)
      }
      throw new SetupError(
        `A Temporal dev server (pid ${existing.pid}) is already running on ${dbFile}, listening on ` +
          `${existing.ip}:${existing.port} with namespace "${existing.namespace}".\n` +
          `Two servers must not share one state file: stop it first (kill ${existing.pid}), or use its port and namespace.`,
      )
    }
  }

  // The ports are free when they are chosen, but the CLI binds them (and those it picks for its internal services) only
  // after setting up its state: on a busy machine another program can take one in between, and the CLI then dies of a
  // nil-pointer panic after "bind: address already in use". That is a race lost, not a fault: start again, on ports
  // chosen afresh (the caller's own port stays; it is checked again first).
  for (let attempt = 1; ; attempt++) {
    try {
      return await launchDevServer(opts, { ip, namespace, dbFile, timeoutMs })
    } catch (error) {
      if (!(error instanceof PortRaceError)) throw error
      if (attempt >= START_ATTEMPTS) throw new SetupError(`${error.message}\n(${START_ATTEMPTS} attempts, each time a port was taken while the server started.)`)
      log(`temporal: ${error.bindFailure.trim()}; starting the dev server again (attempt ${attempt + 1} of ${START_ATTEMPTS})`)
    }
  }
}

/** The dev server died because a port it was about to bind was taken meanwhile (see startDevServer). */
class PortRaceError extends SetupError {
  constructor(
    message: string,
    readonly bindFailure: string,
  ) {
    super(message)
  }
}

/** Starts tried when a port is taken while the server starts (see startDevServer). */
const START_ATTEMPTS = 3

async function launchDevServer(
  opts: DevServerOptions,
  { ip, namespace, dbFile, timeoutMs }: { ip: string; namespace: string; dbFile: string | undefined; timeoutMs: number },
): Promise<DevServer> {
  const port = opts.port ?? (await freePort(ip))
  const uiPort = opts.uiPort ?? (await freePort(ip))
  for (const [what, p] of [
    ['Temporal gRPC', port],
    ['Temporal UI', uiPort],
  ] as const) {
    if (await isPortTaken(p, ip)) {
      throw new SetupError(
        `The ${what} port ${ip}:${p} is already in use by another program, so the Temporal dev server cannot start there.\n` +
          (what === 'Temporal gRPC'
            ? `Stop that program, or choose another port (TEMPORAL_ADDRESS=127.0.0.1:PORT).`
            : `Stop that program, or choose another port (TEMPORAL_UI_URL=http://127.0.0.1:PORT).`),
      )
    }
  }

  const args = ['server', 'start-dev', '--ip', ip, '--port', String(port), '--ui-port', String(uiPort), '--log-level', 'warn']
  if (namespace !== 'default') args.push('--namespace', namespace)
  if (dbFile) {
    await mkdir(dirname(dbFile), { recursive: true })
    args.push('--db-filename', dbFile, '--sqlite-pragma', 'journal_mode=wal', '--sqlite-pragma', 'synchronous=normal')
  }
  for (const [name, kind] of Object.entries(CUSTOM_SEARCH_ATTRIBUTES)) args.push('--search-attribute', `${name}=${kind}`)

  const server = startServerProcess(opts.cliPath, args, {
    title: 'The Temporal dev server',
    // What it says while it shuts down (its own workers lose their connection) is not passed on: not news.
    onOutput: opts.onOutput,
    detached: opts.detached,
    stopSequence: [
      ['SIGTERM', 0],
      ['SIGKILL', STOP_TIMEOUT_MS],
    ],
  })

  const address = `${ip}:${port}`
  const uiUrl = `http://${ip}:${uiPort}`
  const statePath = dbFile ? stateFilePath(dbFile) : undefined

  const stop = async () => {
    await server.stop()
    if (statePath) await rm(statePath, { force: true })
  }

  try {
    await server.untilAnswering((signal) =>
      waitForTemporal(address, namespace, { timeoutMs, searchAttributes: Object.keys(CUSTOM_SEARCH_ATTRIBUTES), signal }),
    )
  } catch (error) {
    const bindFailure = server.outputTail(200).split('\n').find((line) => line.includes('bind: address already in use'))
    if (bindFailure && error instanceof SetupError && /exited while starting/.test(error.message)) throw new PortRaceError(error.message, bindFailure)
    throw error
  }

  if (statePath && dbFile && server.pid > 0) {
    const state: StateFile = { pid: server.pid, ip, port, uiPort, namespace, dbFile, startedAt: new Date().toISOString() }
    await writeFile(statePath, `${JSON.stringify(state, null, 2)}\n`)
  }

  return {
    address,
    uiUrl,
    namespace,
    pid: server.pid,
    dbFile,
    reused: false,
    exited: server.exited,
    outputTail: server.outputTail,
    stop,
  }
}

/**
 * Waits until a Temporal frontend at `address` answers for `namespace` (and lists the given custom search
 * attributes, which the dev server registers just after it starts listening). Throws SetupError at the deadline.
 */
export async function waitForTemporal(
  address: string,
  namespace: string,
  opts: { timeoutMs?: number; searchAttributes?: readonly string[]; signal?: AbortSignal } = {},
): Promise<void> {
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000)
  let connection: Connection | undefined
  let lastProblem = 'no answer yet'
  try {
    while (Date.now() < deadline) {
      // The caller gave up (the server process died): stop knocking.
      if (opts.signal?.aborted) return
      try {
        connection ??= await Connection.connect({ address, connectTimeout: 2_000 })
        await connection.workflowService.describeNamespace({ namespace })
        if (opts.searchAttributes?.length) {
          const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace })
          const missing = opts.searchAttributes.filter((name) => !(customAttributes && name in customAttributes))
          if (missing.length) throw new Error(`search attributes not registered yet: ${missing.join(', ')}`)
        }
        return
      } catch (error) {
        lastProblem = (error as Error).message
      }
      await sleep(200)
    }
  } finally {
    await connection?.close().catch(() => undefined)
  }
  throw new SetupError(
    `Temporal at ${address} did not answer for namespace "${namespace}" within ${Math.round((opts.timeoutMs ?? 60_000) / 1000)} s ` +
      `(last problem: ${lastProblem}).`,
  )
}

// ---------------------------------------------------------------------------------------------------------

function stateFilePath(dbFile: string): string {
  return `${dbFile}.server.json`
}

/** The live dev server recorded for this dbFile, if any; a record whose process is gone is removed. */
async function findRunningServer(dbFile: string): Promise<StateFile | undefined> {
  const path = stateFilePath(dbFile)
  let state: StateFile
  try {
    state = JSON.parse(await readFile(path, 'utf8')) as StateFile
  } catch {
    return undefined
  }
  if (typeof state.pid === 'number' && isAlive(state.pid) && (await commandLineIncludes(state.pid, 'start-dev', dbFile))) return state
  await rm(path, { force: true })
  return undefined
}


function reusedServer(state: StateFile): DevServer {
  // Not our child: its end is noticed by polling, so callers (up.ts) still learn when it goes away.
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolveExit) => {
    const timer = setInterval(() => {
      if (!isAlive(state.pid)) {
        clearInterval(timer)
        resolveExit({ code: null, signal: null })
      }
    }, 1_000)
    timer.unref()
  })
  return {
    address: `${state.ip}:${state.port}`,
    uiUrl: `http://${state.ip}:${state.uiPort}`,
    namespace: state.namespace,
    pid: state.pid,
    dbFile: state.dbFile,
    reused: true,
    exited,
    outputTail: () => '',
    stop: async () => {},
  }
}



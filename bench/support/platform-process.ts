import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { PlatformConfig } from '../../config/env.js'
import { forEachLine } from '../../temporal/setup/processes.js'

/**
 * The platform's processes as they are deployed (`node temporal/worker.ts`, `node web-remix/server.ts`), started as
 * children of a benchmark or a fault drill, configured through the environment like any deployment. Their CPU and
 * memory can then be measured apart, and a drill can SIGKILL one and start it again.
 */

const repoRoot = fileURLToPath(new URL('../../', import.meta.url))

export interface PlatformProcess {
  name: string
  readonly pid: number
  /** What the process printed on stdout when it was ready (the web's URL is in it). */
  readyLine: string
  /** Its warnings and errors by kind (numbers and ids blanked, so alike ones count together), most first. */
  warnings(): Record<string, number>
  /** The last lines it printed, for error messages. */
  tail(lines?: number): string
  /** Settles when the process has exited, however. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  /** SIGKILL: no shutdown, no cleanup, the way a machine dies. */
  kill(): Promise<void>
  /** SIGTERM, then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>
}

export interface PlatformProcessOptions {
  name: string
  /** Repository-relative entry point, run with tsx, e.g. temporal/worker.ts. */
  script: string
  env: Record<string, string | undefined>
  /** A stdout line matching this means the process is ready. */
  ready: RegExp
  timeoutMs?: number
  /** Each line the process prints, as it comes. */
  onLine?: (line: string) => void
  /** Node's own flags (--cpu-prof, say, which NODE_OPTIONS may not carry). */
  nodeArgs?: string[]
}

const KEPT_LINES = 200

/** Blanks what differs between alike log lines (timestamps, ids, numbers), so that they count as one kind. */
export function lineKind(line: string): string {
  return line
    .replace(/^\S+Z\s+/, '')
    .replace(/[0-9a-f]{8}-[0-9a-f-]{27}/gi, '<id>')
    .replace(/\d+/g, 'N')
    .replace(/\s+\{.*$/, '')
    .trim()
    .slice(0, 160)
}

export async function startPlatformProcess(options: PlatformProcessOptions): Promise<PlatformProcess> {
  const child: ChildProcess = spawn(process.execPath, [...(options.nodeArgs ?? []), '--import', 'tsx', options.script], {
    cwd: repoRoot,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const lines: string[] = []
  const warnings = new Map<string, number>()
  let readyLine = ''
  let resolveReady: (line: string) => void = () => {}
  const ready = new Promise<string>((resolve) => (resolveReady = resolve))
  const keep = (line: string) => {
    lines.push(line)
    if (lines.length > KEPT_LINES) lines.shift()
    options.onLine?.(line)
  }
  forEachLine(child.stdout!, (line) => {
    keep(line)
    if (!readyLine && options.ready.test(line)) {
      readyLine = line
      resolveReady(line)
    }
  })
  forEachLine(child.stderr!, (line) => {
    keep(line)
    // The SDK's logger and console.warn/error write here; its INFO lines and the continuation lines of a logged
    // object are not news.
    if (!/^\s|\[(INFO|DEBUG|TRACE)\]/.test(line) && /\[(WARN|ERROR)\]|\b(warn|warning|error|failed)\b/i.test(line)) {
      const kind = lineKind(line)
      warnings.set(kind, (warnings.get(kind) ?? 0) + 1)
    }
  })
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  )
  const killOnExit = () => child.kill('SIGKILL')
  process.once('exit', killOnExit)
  exited.then(() => process.removeListener('exit', killOnExit)).catch(() => undefined)

  const tail = (n = 30) => lines.slice(-n).join('\n')
  const timeoutMs = options.timeoutMs ?? 120_000
  let timer: NodeJS.Timeout | undefined
  try {
    await Promise.race([
      ready,
      exited.then(({ code, signal }) => {
        throw new Error(`${options.name} exited (${signal ?? code}) before it was ready:\n${tail()}`)
      }),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${options.name} was not ready within ${timeoutMs / 1000} s:\n${tail()}`)), timeoutMs)
      }),
    ])
  } catch (error) {
    child.kill('SIGKILL')
    await exited
    throw error
  } finally {
    clearTimeout(timer)
  }

  const alive = () => child.exitCode === null && child.signalCode === null
  return {
    name: options.name,
    pid: child.pid!,
    readyLine,
    warnings: () => Object.fromEntries([...warnings.entries()].sort((a, b) => b[1] - a[1])),
    tail,
    exited,
    async kill() {
      if (alive()) child.kill('SIGKILL')
      await exited
    },
    async stop(graceMs = 15_000) {
      if (!alive()) return
      child.kill('SIGTERM')
      const force = setTimeout(() => child.kill('SIGKILL'), graceMs)
      await exited
      clearTimeout(force)
    },
  }
}

/** The worker process, ready once it polls its task queue. */
export function startWorkerProcess(env: Record<string, string | undefined>, onLine?: (line: string) => void, script = 'temporal/worker.ts', nodeArgs: string[] = []) {
  return startPlatformProcess({ name: 'worker', script, env, ready: /worker: polling|worker-ready/, onLine, nodeArgs })
}

/** The web process; its URL is read from its first line. */
export async function startWebProcess(env: Record<string, string | undefined>, onLine?: (line: string) => void, nodeArgs: string[] = []) {
  const web = await startPlatformProcess({ name: 'web', script: 'web-remix/server.ts', env, ready: /web: listening on/, onLine, nodeArgs })
  const url = /listening on (\S+)/.exec(web.readyLine)?.[1]
  if (!url) throw new Error(`the web process did not say where it listens: ${web.readyLine}`)
  return { ...web, url }
}

/** The configuration as environment variables, for the processes of a stack (config/env.ts reads them back). */
export function configEnv(config: PlatformConfig): Record<string, string> {
  return Object.fromEntries(
    Object.entries(config)
      // An unset setting (its default is "none") stays unset.
      .filter(([, value]) => value !== null && value !== undefined)
      .map(([key, value]) => [key, asEnvValue(value)]),
  )
}

/**
 * A parsed setting written back as the variable it was read from: a list of numbers comma-separated, a list of objects
 * (ICE servers) as JSON, a port range as "start-end".
 */
function asEnvValue(value: unknown): string {
  if (Array.isArray(value) && value.some((item) => typeof item === 'object')) return JSON.stringify(value)
  if (value && typeof value === 'object' && 'start' in value && 'end' in value) return `${String(value.start)}-${String(value.end)}`
  return String(value)
}

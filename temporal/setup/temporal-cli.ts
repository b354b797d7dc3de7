import { spawn } from 'node:child_process'
import { constants as fsConstants, createWriteStream } from 'node:fs'
import { access, mkdir, mkdtemp, open, readFile, rename, rm, stat, unlink } from 'node:fs/promises'
import { homedir, hostname } from 'node:os'
import { delimiter, join } from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { SetupError, stderrLog, tailLines, type SetupLog } from './errors.js'
import { isAlive, sleep } from './processes.js'

/**
 * Finds or prepares the Temporal CLI, whose `server start-dev` is the platform's embedded Temporal.
 *
 * The CLI is not on npm, and on our machines only the npm registry, Debian and the Go module proxy are
 * reachable (DESIGN.md, "Facts about our machines"), so the last resort is building it with Go. Later tags
 * carry a `replace` directive that `go install` refuses, hence the pinned version. The result lives in a
 * per-user cache keyed by version, outside the clone, so every clone on a machine (CI's included) reuses it.
 *
 * This file reads process.env directly rather than through config/env.ts: it prepares the machine before
 * the platform's configuration matters, and what it reads are tool locations (PATH, HOME, TEMPORAL_CLI).
 */

export const TEMPORAL_CLI_VERSION = '1.5.1'
const MODULE = 'github.com/temporalio/cli/cmd/temporal'

export interface EnsureTemporalCliOptions {
  log?: SetupLog
  /** The environment to read TEMPORAL_CLI, PATH, XDG_CACHE_HOME and HOME from (tests pass their own). */
  env?: NodeJS.ProcessEnv
}

/** `${XDG_CACHE_HOME:-$HOME/.cache}/perminute/temporal-cli/<version>`: where a downloaded or built CLI is kept. */
export function temporalCliCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const cacheHome = env.XDG_CACHE_HOME || join(env.HOME || homedir(), '.cache')
  return join(cacheHome, 'perminute', 'temporal-cli', TEMPORAL_CLI_VERSION)
}

const binaryName = process.platform === 'win32' ? 'temporal.exe' : 'temporal'

/**
 * The path of a working `temporal` binary. In order: $TEMPORAL_CLI; `temporal` on PATH; the per-user cache;
 * the official release archive (fails fast where that network is closed); `go install` into the cache.
 * Expected failures throw SetupError with a message meant to be printed as it is.
 */
export async function ensureTemporalCli(opts: EnsureTemporalCliOptions = {}): Promise<string> {
  const log = opts.log ?? stderrLog
  const env = opts.env ?? process.env

  const fromEnv = env.TEMPORAL_CLI
  if (fromEnv) {
    if (!(await isExecutableFile(fromEnv))) {
      throw new SetupError(
        `TEMPORAL_CLI is set to ${fromEnv}, but that is not an executable file.\n` +
          `Point it at a Temporal CLI binary (v${TEMPORAL_CLI_VERSION} or later), or unset it to let the platform find or build one.`,
      )
    }
    return fromEnv
  }

  const onPath = await findOnPath(binaryName, env.PATH ?? '')
  if (onPath) return onPath

  const dir = temporalCliCacheDir(env)
  const cached = join(dir, binaryName)
  if (await isWorkingBinary(cached)) return cached

  await mkdir(dir, { recursive: true })
  const lock = await acquireLock(join(dir, '.lock'), log)
  try {
    // Another process may have finished while we waited for the lock.
    if (await isWorkingBinary(cached)) return cached
    // A binary that exists but does not run (a copy cut short, a wrong architecture) is replaced.
    await rm(cached, { force: true })

    if (await tryDownload(dir, cached, env, log)) return cached
    await buildWithGo(dir, cached, env, log)
    return cached
  } finally {
    await lock.release()
  }
}

async function isExecutableFile(path: string): Promise<boolean> {
  try {
    const info = await stat(path)
    if (!info.isFile()) return false
    await access(path, fsConstants.X_OK)
    return true
  } catch {
    return false
  }
}

async function findOnPath(name: string, pathVar: string): Promise<string | undefined> {
  for (const dir of pathVar.split(delimiter)) {
    if (!dir) continue
    const candidate = join(dir, name)
    if (await isExecutableFile(candidate)) return candidate
  }
  return undefined
}

/** Runs `<binary> --version`: a cached file must also run, not merely exist (0.3 s, once per command). */
async function isWorkingBinary(path: string): Promise<boolean> {
  if (!(await isExecutableFile(path))) return false
  const result = await run(path, ['--version'], { timeoutMs: 30_000 })
  return result.code === 0 && /temporal version/i.test(result.stdout)
}

// ---------------------------------------------------------------------------------------------------------
// Lock: two concurrent callers (two clones' test runs, `up` beside `test`) must not both download or build.

interface Lock {
  release(): Promise<void>
}

async function acquireLock(path: string, log: SetupLog): Promise<Lock> {
  const deadline = Date.now() + 30 * 60_000
  let announced = false
  for (;;) {
    try {
      const handle = await open(path, 'wx')
      await handle.writeFile(JSON.stringify({ pid: process.pid, host: hostname(), at: new Date().toISOString() }))
      await handle.close()
      return { release: () => unlink(path).catch(() => undefined) }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    }
    const holder = await readLockHolder(path)
    if (holder && !holder.alive) {
      // Its owner died (Ctrl-C during a build): the lock is stale.
      await unlink(path).catch(() => undefined)
      continue
    }
    if (Date.now() > deadline) {
      throw new SetupError(
        `Gave up waiting for another process${holder ? ` (pid ${holder.pid})` : ''} that is preparing the Temporal CLI.\n` +
          `If no such process runs any more, remove ${path} and try again.`,
      )
    }
    if (!announced) {
      log(`temporal-cli: another process${holder ? ` (pid ${holder.pid})` : ''} is preparing the Temporal CLI; waiting for it…`)
      announced = true
    }
    await sleep(1_000)
  }
}

async function readLockHolder(path: string): Promise<{ pid: number; alive: boolean } | undefined> {
  try {
    const data = JSON.parse(await readFile(path, 'utf8')) as { pid?: unknown; host?: unknown }
    if (typeof data.pid !== 'number') return undefined
    // A lock from another host (a shared home directory) cannot be checked: treat it as alive.
    if (data.host !== hostname()) return { pid: data.pid, alive: true }
    return { pid: data.pid, alive: isAlive(data.pid) }
  } catch {
    // Being written right now, or unreadable: wait and look again.
    return undefined
  }
}


// ---------------------------------------------------------------------------------------------------------
// Download: the official release archive. Where that network is closed the request fails at DNS or connect
// within a second or two; the timeout only guards against a network that swallows packets.

const CONNECT_TIMEOUT_MS = 5_000
const STALL_TIMEOUT_MS = 30_000

function releaseArchiveUrl(env: NodeJS.ProcessEnv): string | undefined {
  // A mirror (or a test server) can stand in for the release host.
  if (env.TEMPORAL_CLI_DOWNLOAD_URL) return env.TEMPORAL_CLI_DOWNLOAD_URL
  const os = { linux: 'linux', darwin: 'darwin' }[process.platform as string]
  const arch = { x64: 'amd64', arm64: 'arm64' }[process.arch as string]
  if (!os || !arch) return undefined
  return `https://github.com/temporalio/cli/releases/download/v${TEMPORAL_CLI_VERSION}/temporal_cli_${TEMPORAL_CLI_VERSION}_${os}_${arch}.tar.gz`
}

async function tryDownload(dir: string, target: string, env: NodeJS.ProcessEnv, log: SetupLog): Promise<boolean> {
  const url = releaseArchiveUrl(env)
  if (!url) return false
  const work = await mkdtemp(join(dir, '.download-'))
  try {
    const controller = new AbortController()
    let timer = setTimeout(() => controller.abort(), CONNECT_TIMEOUT_MS)
    let response: Response
    try {
      response = await fetch(url, { signal: controller.signal, redirect: 'follow' })
    } catch (error) {
      clearTimeout(timer)
      log(`temporal-cli: could not download the release archive (${describeFetchError(error)}); building it with Go instead.`)
      return false
    }
    clearTimeout(timer)
    if (!response.ok || !response.body) {
      log(`temporal-cli: the release archive answered HTTP ${response.status}; building it with Go instead.`)
      return false
    }
    log(`temporal-cli: downloading ${url}`)
    const archive = join(work, 'temporal.tar.gz')
    // From here a stalled transfer (no data for STALL_TIMEOUT_MS) aborts; a slow one may take its time.
    const rearm = () => {
      clearTimeout(timer)
      timer = setTimeout(() => controller.abort(), STALL_TIMEOUT_MS)
    }
    rearm()
    try {
      const body = Readable.fromWeb(response.body as import('node:stream/web').ReadableStream<Uint8Array>)
      body.on('data', rearm)
      await pipeline(body, createWriteStream(archive))
    } catch (error) {
      log(`temporal-cli: the download failed (${describeFetchError(error)}); building it with Go instead.`)
      return false
    } finally {
      clearTimeout(timer)
    }
    const untar = await run('tar', ['-xzf', archive, '-C', work], { timeoutMs: 120_000 })
    const extracted = join(work, binaryName)
    if (untar.code !== 0 || !(await isWorkingBinary(extracted))) {
      log(`temporal-cli: the downloaded archive did not hold a working ${binaryName}; building it with Go instead.`)
      return false
    }
    // rename() within one directory tree is atomic: nobody ever sees a half-written binary.
    await rename(extracted, target)
    log(`temporal-cli: installed ${target}`)
    return true
  } finally {
    await rm(work, { recursive: true, force: true })
  }
}

function describeFetchError(error: unknown): string {
  const e = error as { name?: string; message?: string; cause?: { code?: string; message?: string } }
  if (e.name === 'AbortError') return 'timed out'
  return e.cause?.code ?? e.cause?.message ?? e.message ?? String(error)
}

// ---------------------------------------------------------------------------------------------------------
// Build: `go install` into a temporary GOBIN inside the cache, then rename into place.

const STILL_BUILDING_EVERY_MS = 15_000

async function buildWithGo(dir: string, target: string, env: NodeJS.ProcessEnv, log: SetupLog): Promise<void> {
  const go = await findOnPath(process.platform === 'win32' ? 'go.exe' : 'go', env.PATH ?? '')
  if (!go) {
    throw new SetupError(
      `The Temporal CLI (v${TEMPORAL_CLI_VERSION}) is needed, and it could not be found or downloaded here.\n` +
        `Any one of these fixes it:\n` +
        `  - install Go (a recent release: https://go.dev/dl/) and run this again:\n` +
        `    it builds the CLI once (about 7 minutes) into ${dir};\n` +
        `  - set TEMPORAL_CLI to the path of a temporal binary;\n` +
        `  - put temporal on PATH (https://docs.temporal.io/cli#install).`,
    )
  }

  const gobin = await mkdtemp(join(dir, '.build-'))
  const started = Date.now()
  const interactive = log === stderrLog && process.stderr.isTTY === true
  let packages = 0
  let downloads = 0
  let lastPackage = ''
  let statusShown = false
  const otherLines: string[] = []

  const clearStatus = () => {
    if (statusShown) {
      process.stderr.write('\r\x1b[2K')
      statusShown = false
    }
  }
  const elapsed = () => Math.round((Date.now() - started) / 1000)
  const showStatus = () => {
    if (!interactive) return
    const line = `temporal-cli: building… ${elapsed()}s, ${packages} packages compiled${lastPackage ? `, last ${lastPackage}` : ''}`
    process.stderr.write(`\r\x1b[2K${line.slice(0, (process.stderr.columns || 100) - 1)}`)
    statusShown = true
  }

  log(
    `temporal-cli: building the Temporal CLI v${TEMPORAL_CLI_VERSION} with ${go} ` +
      `(go install ${MODULE}@v${TEMPORAL_CLI_VERSION}) into ${dir}`,
  )
  const ticker = setInterval(() => {
    clearStatus()
    log(
      `temporal-cli: still building… ${elapsed()}s elapsed (the first build takes ~7 min, later ones ~15 s); ` +
        `${packages} packages compiled${downloads ? `, ${downloads} modules downloaded` : ''}` +
        (lastPackage ? `, last ${lastPackage}` : ''),
    )
  }, STILL_BUILDING_EVERY_MS)
  let throttle = 0

  try {
    const result = await run(go, ['install', '-v', `${MODULE}@v${TEMPORAL_CLI_VERSION}`], {
      env: { ...env, GOBIN: gobin },
      onStderrLine: (line) => {
        // `go install -v` names each package as it compiles it: counted and shown on one status line.
        if (/^[\w.~+-]+(\/[\w.~+-]+)*$/.test(line)) {
          packages += 1
          lastPackage = line
          if (Date.now() - throttle > 200) {
            throttle = Date.now()
            showStatus()
          }
        } else if (line.startsWith('go: downloading ')) {
          downloads += 1
        } else if (line.trim()) {
          otherLines.push(line)
        }
      },
    })
    clearInterval(ticker)
    clearStatus()
    const built = join(gobin, binaryName)
    if (result.code !== 0 || !(await isWorkingBinary(built))) {
      throw new SetupError(
        `Building the Temporal CLI with Go failed (go install exited with ${result.code ?? result.signal}). Its last words:\n` +
          `${tailLines(otherLines.length ? otherLines : result.stderrLines, 25)}\n` +
          `Alternatives: set TEMPORAL_CLI to a temporal binary, or put temporal on PATH.`,
      )
    }
    await rename(built, target)
    log(`temporal-cli: built ${target} in ${elapsed()}s${packages ? ` (${packages} packages compiled)` : ' (from Go\'s build cache)'}`)
  } finally {
    clearInterval(ticker)
    clearStatus()
    await rm(gobin, { recursive: true, force: true })
  }
}

// ---------------------------------------------------------------------------------------------------------

interface RunResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderrLines: string[]
}

function run(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number; onStderrLine?: (line: string) => void } = {},
): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    const stderrLines: string[] = []
    let partial = ''
    const timer = options.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), options.timeoutMs) : undefined
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk
    })
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n')
      partial = lines.pop() ?? ''
      for (const line of lines) {
        stderrLines.push(line)
        if (stderrLines.length > 200) stderrLines.shift()
        options.onStderrLine?.(line)
      }
    })
    child.on('error', (error) => {
      clearTimeout(timer)
      resolve({ code: null, signal: null, stdout, stderrLines: [...stderrLines, error.message] })
    })
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      if (partial) {
        stderrLines.push(partial)
        options.onStderrLine?.(partial)
      }
      resolve({ code, signal, stdout, stderrLines })
    })
  })
}

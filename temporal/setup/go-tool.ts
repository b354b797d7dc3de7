import { spawn } from 'node:child_process'
import { constants as fsConstants } from 'node:fs'
import { access, mkdir, mkdtemp, open, readFile, rename, rm, stat, unlink } from 'node:fs/promises'
import { homedir, hostname } from 'node:os'
import { delimiter, join } from 'node:path'
import { SetupError, stderrLog, tailLines, type SetupLog } from './errors.js'
import { isAlive, sleep } from './processes.js'

/**
 * Finds or builds a tool the platform runs but cannot get from npm: the Temporal CLI, the LiveKit server.
 *
 * On our machines only the npm registry, Debian and the Go module proxy are reachable (DESIGN.md, "Facts about our
 * machines"), so the last resort is `go install` at a pinned version. The result lives in a per-user cache keyed by
 * tool and version, outside the clone, so every clone on a machine (CI's included) reuses it:
 * `${XDG_CACHE_HOME:-$HOME/.cache}/perminute/<tool>/<version>/<binary>`.
 *
 * This file reads the environment it is given (process.env by default) rather than config/env.ts: it prepares the
 * machine before the platform's configuration matters, and what it reads are tool locations (PATH, HOME, …).
 */

export interface GoTool {
  /** The cache folder's name and the prefix of progress lines: "temporal-cli", "livekit-server". */
  id: string
  /** How people call it, for messages: "the Temporal CLI". */
  title: string
  version: string
  /** The variable that may name a binary to use as it is: "TEMPORAL_CLI". */
  envVar: string
  /** The file looked for on PATH and kept in the cache (without .exe). */
  binaryName: string
  /** The Go package `go install` builds, without its version. */
  goPackage: string
  /** The name `go install` gives the binary it builds (without .exe), when it is not binaryName. */
  builtName?: string
  /** What its `--version` prints, which tells a working binary from a file cut short or another program. */
  versionPattern: RegExp
  /** Build times for messages: "about 7 minutes" the first time, "~15 s" once Go's build cache is warm. */
  coldBuildTime: string
  warmBuildTime: string
  /** Other ways to get it, one per line, for the message shown when nothing worked. */
  alternatives: readonly string[]
  /** Tried after the cache and before building (the Temporal CLI's release archive); true when it put a working binary at target. */
  fetchPrebuilt?: (context: { dir: string; target: string; env: NodeJS.ProcessEnv; log: SetupLog }) => Promise<boolean>
}

export interface EnsureGoToolOptions {
  log?: SetupLog
  /** The environment to read the tool's variable, PATH, XDG_CACHE_HOME and HOME from (tests pass their own). */
  env?: NodeJS.ProcessEnv
}

const exe = process.platform === 'win32' ? '.exe' : ''

/** `${XDG_CACHE_HOME:-$HOME/.cache}/perminute/<tool>/<version>`: where a downloaded or built tool is kept. */
export function goToolCacheDir(tool: GoTool, env: NodeJS.ProcessEnv = process.env): string {
  const cacheHome = env.XDG_CACHE_HOME || join(env.HOME || homedir(), '.cache')
  return join(cacheHome, 'perminute', tool.id, tool.version)
}

/**
 * The path of a working binary of the tool. In order: $<envVar>; <binaryName> on PATH; the per-user cache;
 * tool.fetchPrebuilt when there is one; `go install` into the cache. Expected failures throw SetupError with a
 * message meant to be printed as it is.
 */
export async function ensureGoTool(tool: GoTool, opts: EnsureGoToolOptions = {}): Promise<string> {
  const log = opts.log ?? stderrLog
  const env = opts.env ?? process.env

  const fromEnv = env[tool.envVar]
  if (fromEnv) {
    if (!(await isExecutableFile(fromEnv))) {
      throw new SetupError(
        `${tool.envVar} is set to ${fromEnv}, but that is not an executable file.\n` +
          `Point it at a ${tool.binaryName} binary (v${tool.version} or later), or unset it to let the platform find or build one.`,
      )
    }
    return fromEnv
  }

  const onPath = await findOnPath(tool.binaryName + exe, env.PATH ?? '')
  if (onPath) return onPath

  const dir = goToolCacheDir(tool, env)
  const cached = join(dir, tool.binaryName + exe)
  if (await isWorkingBinary(tool, cached)) return cached

  await mkdir(dir, { recursive: true })
  const lock = await acquireLock(tool, join(dir, '.lock'), log)
  try {
    // Another process may have finished while we waited for the lock.
    if (await isWorkingBinary(tool, cached)) return cached
    // A binary that exists but does not run (a copy cut short, a wrong architecture) is replaced.
    await rm(cached, { force: true })

    if (tool.fetchPrebuilt && (await tool.fetchPrebuilt({ dir, target: cached, env, log }))) return cached
    await buildWithGo(tool, dir, cached, env, log)
    return cached
  } finally {
    await lock.release()
  }
}

export async function isExecutableFile(path: string): Promise<boolean> {
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

/** Runs `<binary> --version`: a cached file must also run, not merely exist (a fraction of a second, once per command). */
export async function isWorkingBinary(tool: GoTool, path: string): Promise<boolean> {
  if (!(await isExecutableFile(path))) return false
  const result = await run(path, ['--version'], { timeoutMs: 30_000 })
  return result.code === 0 && tool.versionPattern.test(result.stdout)
}

// ---------------------------------------------------------------------------------------------------------
// Lock: two concurrent callers (two clones' test runs, `up` beside `test`) must not both download or build.

interface Lock {
  release(): Promise<void>
}

async function acquireLock(tool: GoTool, path: string, log: SetupLog): Promise<Lock> {
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
    const who = `another process${holder ? ` (pid ${holder.pid})` : ''}`
    if (Date.now() > deadline) {
      throw new SetupError(
        `Gave up waiting for ${who} that is preparing ${tool.title}.\n` +
          `If no such process runs any more, remove ${path} and try again.`,
      )
    }
    if (!announced) {
      log(`${tool.id}: ${who} is preparing ${tool.title}; waiting for it…`)
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
// Build: `go install` into a temporary GOBIN inside the cache, then rename into place.

const STILL_BUILDING_EVERY_MS = 15_000

async function buildWithGo(tool: GoTool, dir: string, target: string, env: NodeJS.ProcessEnv, log: SetupLog): Promise<void> {
  const go = await findOnPath(`go${exe}`, env.PATH ?? '')
  if (!go) {
    throw new SetupError(
      `${capitalize(tool.title)} (v${tool.version}) is needed, and it could not be found${tool.fetchPrebuilt ? ' or downloaded' : ''} here.\n` +
        `Any one of these fixes it:\n` +
        `  - install Go (a recent release: https://go.dev/dl/) and run this again:\n` +
        `    it builds ${tool.title} once (${tool.coldBuildTime}) into ${dir};\n` +
        tool.alternatives.map((line, i) => `  - ${line}${i === tool.alternatives.length - 1 ? '.' : ';'}\n`).join('').trimEnd(),
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
    const line = `${tool.id}: building… ${elapsed()}s, ${packages} packages compiled${lastPackage ? `, last ${lastPackage}` : ''}`
    process.stderr.write(`\r\x1b[2K${line.slice(0, (process.stderr.columns || 100) - 1)}`)
    statusShown = true
  }

  const installTarget = `${tool.goPackage}@v${tool.version}`
  log(`${tool.id}: building ${tool.title} v${tool.version} with ${go} (go install ${installTarget}) into ${dir}`)
  const ticker = setInterval(() => {
    clearStatus()
    log(
      `${tool.id}: still building… ${elapsed()}s elapsed (the first build takes ${tool.coldBuildTime}, later ones ${tool.warmBuildTime}); ` +
        `${packages} packages compiled${downloads ? `, ${downloads} modules downloaded` : ''}` +
        (lastPackage ? `, last ${lastPackage}` : ''),
    )
  }, STILL_BUILDING_EVERY_MS)
  let throttle = 0

  // At a lower priority where `nice` exists: a build of minutes must not slow down what runs beside it (the other
  // test files of a run, a benchmark, the people sharing the machine).
  const nice = process.platform === 'win32' ? undefined : await findOnPath('nice', env.PATH ?? '')
  const [command, args] = nice ? [nice, ['-n', '10', go, 'install', '-v', installTarget]] : [go, ['install', '-v', installTarget]]
  try {
    const result = await run(command, args, {
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
    const built = join(gobin, (tool.builtName ?? tool.binaryName) + exe)
    if (result.code !== 0 || !(await isWorkingBinary(tool, built))) {
      throw new SetupError(
        `Building ${tool.title} with Go failed (go install exited with ${result.code ?? result.signal}). Its last words:\n` +
          `${tailLines(otherLines.length ? otherLines : result.stderrLines, 25)}\n` +
          `Alternatives: ${tool.alternatives.join('; or ')}.`,
      )
    }
    // rename() within one directory tree is atomic: nobody ever sees a half-written binary.
    await rename(built, target)
    log(`${tool.id}: built ${target} in ${elapsed()}s${packages ? ` (${packages} packages compiled)` : " (from Go's build cache)"}`)
  } finally {
    clearInterval(ticker)
    clearStatus()
    await rm(gobin, { recursive: true, force: true })
  }
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1)
}

// ---------------------------------------------------------------------------------------------------------

export interface RunResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderrLines: string[]
}

/** Runs a command to its end, keeping stdout and the last 200 lines of stderr. */
export function run(
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

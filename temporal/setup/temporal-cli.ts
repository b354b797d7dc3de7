import { createWriteStream } from 'node:fs'
import { mkdtemp, rename, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { type SetupLog } from './errors.js'
import { ensureGoTool, goToolCacheDir, isWorkingBinary, run, type EnsureGoToolOptions, type GoTool } from './go-tool.js'

/**
 * Finds or prepares the Temporal CLI, whose `server start-dev` is the platform's embedded Temporal.
 *
 * The CLI is not on npm; where it is not on PATH and its release archive cannot be downloaded, it is built from the
 * Go module proxy (temporal/setup/go-tool.ts). Later tags carry a `replace` directive that `go install` refuses,
 * hence the pinned version.
 */

export const TEMPORAL_CLI_VERSION = '1.5.1'

export const TEMPORAL_CLI: GoTool = {
  id: 'temporal-cli',
  title: 'the Temporal CLI',
  version: TEMPORAL_CLI_VERSION,
  envVar: 'TEMPORAL_CLI',
  binaryName: 'temporal',
  goPackage: 'github.com/temporalio/cli/cmd/temporal',
  versionPattern: /temporal version/i,
  coldBuildTime: 'about 7 minutes',
  warmBuildTime: '~15 s',
  alternatives: ['set TEMPORAL_CLI to the path of a temporal binary', 'put temporal on PATH (https://docs.temporal.io/cli#install)'],
  fetchPrebuilt: ({ dir, target, env, log }) => tryDownload(dir, target, env, log),
}

export type EnsureTemporalCliOptions = EnsureGoToolOptions

/** `${XDG_CACHE_HOME:-$HOME/.cache}/perminute/temporal-cli/<version>`: where a downloaded or built CLI is kept. */
export function temporalCliCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return goToolCacheDir(TEMPORAL_CLI, env)
}

const binaryName = process.platform === 'win32' ? 'temporal.exe' : 'temporal'

/**
 * The path of a working `temporal` binary. In order: $TEMPORAL_CLI; `temporal` on PATH; the per-user cache;
 * the official release archive (fails fast where that network is closed); `go install` into the cache.
 * Expected failures throw SetupError with a message meant to be printed as it is.
 */
export function ensureTemporalCli(opts: EnsureTemporalCliOptions = {}): Promise<string> {
  return ensureGoTool(TEMPORAL_CLI, opts)
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
    if (untar.code !== 0 || !(await isWorkingBinary(TEMPORAL_CLI, extracted))) {
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

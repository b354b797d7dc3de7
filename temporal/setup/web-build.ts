import { spawn } from 'node:child_process'
import { mkdir, readdir, rm, stat } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * When the web app needs building, and one build at a time: `./platform up`, test files running in parallel and
 * the benchmark all call ensureWebBuild; the first to find the build stale builds it under a lock (an atomic mkdir)
 * while the others wait, then find it fresh. How to build is the caller's: buildWebApp below for the tests and the
 * benchmark, which want its output only when it fails; `./platform up` streams it.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
export const WEB_VITE_CONFIG = join(ROOT, 'web-remix', 'vite.config.ts')
export const WEB_SERVER_BUILD = join(ROOT, 'web-remix', 'build', 'server', 'index.js')
/** What the server bundle is made of: a change in any of these makes the build stale. */
const BUNDLE_SOURCES = ['web-remix/app', 'web-remix/vite.config.ts', 'config', 'prisma/client.ts', 'prisma/generated', 'temporal', 'activities', 'workflows']
const LOCK_DIR = join(ROOT, 'web-remix', '.cache', 'build.lock')
// A build that crashed leaves its lock behind; one older than any real build is taken over.
const STALE_LOCK_MS = 5 * 60_000

async function newestMtime(path: string): Promise<number> {
  const info = await stat(path).catch(() => undefined)
  if (!info) return 0
  if (!info.isDirectory()) return info.mtimeMs
  const entries = await readdir(path)
  const times = await Promise.all(entries.filter((name) => name !== 'node_modules').map((name) => newestMtime(join(path, name))))
  return Math.max(info.mtimeMs, ...times)
}

export async function webBuildIsFresh(): Promise<boolean> {
  const built = await stat(WEB_SERVER_BUILD).catch(() => undefined)
  if (!built) return false
  const sources = await Promise.all(BUNDLE_SOURCES.map((source) => newestMtime(join(ROOT, source))))
  return Math.max(...sources) <= built.mtimeMs
}

async function acquireLock(onWait: () => void): Promise<() => Promise<void>> {
  await mkdir(join(LOCK_DIR, '..'), { recursive: true })
  let told = false
  for (;;) {
    try {
      await mkdir(LOCK_DIR)
      return () => rm(LOCK_DIR, { recursive: true, force: true })
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      const held = await stat(LOCK_DIR).catch(() => undefined)
      if (held && Date.now() - held.mtimeMs > STALE_LOCK_MS) await rm(LOCK_DIR, { recursive: true, force: true })
      if (!told) onWait()
      told = true
      await new Promise((resolve) => setTimeout(resolve, 250))
    }
  }
}

export type WebBuildOutcome = 'fresh' | 'built'

/** Runs `build` if the web build is missing or older than its sources, under the shared lock. */
export async function ensureWebBuild(build: () => Promise<void>, log: (line: string) => void = () => {}): Promise<WebBuildOutcome> {
  if (await webBuildIsFresh()) return 'fresh'
  const release = await acquireLock(() => log('another process is building the web app; waiting for it…'))
  try {
    if (await webBuildIsFresh()) return 'fresh'
    await build()
    return 'built'
  } finally {
    await release()
  }
}

/** `remix vite:build` as a child process, its output kept and shown only if it fails. */
export function buildWebApp(): Promise<void> {
  const cli = createRequire(import.meta.url).resolve('@remix-run/dev/dist/cli.js')
  return new Promise((resolve, reject) => {
    // A production build whatever NODE_ENV says (tests set "test"): React's client bundle depends on it.
    const child = spawn(process.execPath, [cli, 'vite:build', '--config', WEB_VITE_CONFIG], {
      cwd: ROOT,
      env: { ...process.env, NODE_ENV: 'production' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.on('error', reject)
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`remix vite:build failed (exit ${code}):\n${output.slice(-4000)}`))))
  })
}

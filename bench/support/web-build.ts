import { spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { ensureWebBuild, WEB_VITE_CONFIG } from '../../temporal/setup/web-build.js'

/** Builds the web app when it is stale, under the lock `./platform up` and the tests share: a benchmark of stale code would be a lie. */

const ROOT = fileURLToPath(new URL('../../', import.meta.url))

export async function ensureFreshWebBuild(log: (line: string) => void): Promise<void> {
  await ensureWebBuild(async () => {
    log('building the web app (remix vite:build)…')
    const cli = createRequire(import.meta.url).resolve('@remix-run/dev/dist/cli.js')
    await new Promise<void>((resolve, reject) => {
      // A production build whatever NODE_ENV says: React's client bundle depends on it.
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
  }, log)
}

import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'

/** Runs a project script in a child process, exactly as staff would, and collects what it printed. */

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
// The project's own tsx, which is what `npx tsx` resolves to, without npm's start-up cost and warnings.
const TSX = fileURLToPath(new URL('../../../node_modules/.bin/tsx', import.meta.url))

export interface ScriptResult {
  code: number
  stdout: string
  stderr: string
}

export function runScript(script: string, args: string[], databaseUrl: string): Promise<ScriptResult> {
  return new Promise((resolve, reject) => {
    execFile(
      TSX,
      [script, ...args],
      { cwd: ROOT, env: { ...process.env, DATABASE_URL: databaseUrl }, timeout: 60_000 },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') {
          reject(error)
          return
        }
        resolve({ code: typeof error?.code === 'number' ? error.code : 0, stdout, stderr })
      },
    )
  })
}

export const runAdmin = (args: string[], databaseUrl: string) => runScript('activities/admin/cli.ts', args, databaseUrl)

/** Node prints stack frames as lines starting with "at "; none may reach staff. */
export const STACK_FRAME = /^\s+at /m

/**
 * Runs many scripts a few at a time: each is a Node process of about 100 MB, and the test machine has two cores
 * that other test files share.
 */
export async function runAll<T>(jobs: Array<() => Promise<T>>, concurrency = 4): Promise<T[]> {
  const results: T[] = new Array(jobs.length)
  let next = 0
  const worker = async () => {
    while (next < jobs.length) {
      const index = next++
      results[index] = await jobs[index]!()
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, jobs.length) }, worker))
  return results
}

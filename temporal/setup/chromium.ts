import { spawn } from 'node:child_process'
import { access, constants } from 'node:fs/promises'
import { SetupError } from './errors.js'
import { forEachLine } from './processes.js'

/**
 * The browser the end-to-end tests drive: Debian's Chromium through playwright-core (never a browser download,
 * which our machines cannot reach). CHROMIUM_PATH picks another binary; otherwise /usr/bin/chromium, installed with
 * apt-get when missing and when we may (root, or passwordless sudo).
 */

export const DEFAULT_CHROMIUM_PATH = '/usr/bin/chromium'

/** Flags for a headless Chromium in a container: no sandbox (no user namespaces), no GPU, no background traffic. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
] as const

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK)
    return true
  } catch {
    return false
  }
}

function run(command: string, args: string[], log: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    })
    forEachLine(child.stdout, (line) => log(line))
    forEachLine(child.stderr, (line) => log(line))
    child.once('error', reject)
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${command} ${args.join(' ')} exited with ${code}`))))
  })
}

export async function ensureChromium(options: { log?: (line: string) => void } = {}): Promise<string> {
  const log = options.log ?? (() => {})
  const wanted = process.env.CHROMIUM_PATH || DEFAULT_CHROMIUM_PATH
  if (await isExecutable(wanted)) return wanted
  if (process.env.CHROMIUM_PATH) {
    throw new SetupError(`CHROMIUM_PATH is ${wanted}, which is not an executable file.`)
  }
  const isRoot = process.getuid?.() === 0
  const prefix = isRoot ? [] : ['sudo', '-n']
  log(`Chromium is missing: installing Debian's chromium package (about a minute)…`)
  const apt = async (args: string[]) => {
    const [command, ...rest] = [...prefix, 'apt-get', ...args]
    // apt's own progress is one line per package: show them, so a long install is visibly alive.
    await run(command!, rest, (line) => {
      if (/^(Get|Unpacking|Setting up)/.test(line)) log(`  ${line}`)
    })
  }
  try {
    await apt(['update', '-qq'])
    await apt(['install', '-y', '-qq', '--no-install-recommends', 'chromium'])
  } catch (error) {
    throw new SetupError(
      `Could not install Chromium for the browser tests (${(error as Error).message}).\n` +
        `Install it with: sudo apt-get update && sudo apt-get install -y chromium\n` +
        `or point CHROMIUM_PATH at a Chromium or Chrome binary.`,
    )
  }
  if (!(await isExecutable(wanted))) throw new SetupError(`apt-get installed chromium but ${wanted} is not there.`)
  log(`Chromium installed at ${wanted}.`)
  return wanted
}

import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { isPortTaken } from '../dev-server.js'
import { SetupError } from '../errors.js'
import { sleep } from '../processes.js'
import { startServerProcess, type ServerProcess } from '../server-process.js'

/**
 * Temporal's Web UI for the cluster: the UI server (temporal/setup/temporal-server.ts) pointed at the cluster's
 * frontend, on loopback, configured as the CLI configures the one it embeds (no log-in; the calls are found by their
 * search attributes there). Same stop rules as the cluster's processes.
 */

export interface TemporalUiOptions {
  uiServerPath: string
  frontendAddress: string
  namespace: string
  host: string
  port: number
  /** Where its configuration is written (`<dir>/temporal-ui.yaml`). */
  configDir: string
  detached?: boolean
  onOutput?: (line: string) => void
  startTimeoutMs?: number
}

export interface TemporalUi {
  url: string
  pid: number
  exited: ServerProcess['exited']
  outputTail(lines?: number): string
  stop(): Promise<void>
}

export async function startTemporalUi(opts: TemporalUiOptions): Promise<TemporalUi> {
  if (await isPortTaken(opts.port, opts.host)) {
    throw new SetupError(`The Temporal UI port ${opts.host}:${opts.port} is already in use. Stop that program, or choose another port (TEMPORAL_UI_URL=http://127.0.0.1:PORT).`)
  }
  const dir = join(opts.configDir, 'ui')
  await mkdir(dir, { recursive: true })
  const q = JSON.stringify
  await writeFile(join(dir, 'base.yaml'), '# Written by temporal/setup/cluster/ui.ts.\n')
  await writeFile(
    join(dir, 'temporal-ui.yaml'),
    [
      '# Written by temporal/setup/cluster/ui.ts; regenerated at every start.',
      `temporalGrpcAddress: ${q(opts.frontendAddress)}`,
      `host: ${q(opts.host)}`,
      `port: ${opts.port}`,
      'enableUi: true',
      `defaultNamespace: ${q(opts.namespace)}`,
      'notifyOnNewVersion: false',
      'hideLogs: true',
      'cors:',
      // Plain http on loopback, as the dev server's UI.
      '  cookieInsecure: true',
      '',
    ].join('\n'),
  )
  const server = startServerProcess(opts.uiServerPath, ['--root', '/', '--config', dir, '--env', 'temporal-ui', 'start'], {
    title: "Temporal's UI server",
    detached: opts.detached,
    onOutput: opts.onOutput ? (line) => / Loading config/.test(line) || opts.onOutput!(line) : undefined,
    stopSequence: [
      ['SIGTERM', 0],
      ['SIGKILL', 10_000],
    ],
  })
  const url = `http://${opts.host}:${opts.port}`
  const timeoutMs = opts.startTimeoutMs ?? 60_000
  await server.untilAnswering(async (signal) => {
    const deadline = Date.now() + timeoutMs
    while (Date.now() < deadline && !signal.aborted) {
      try {
        if ((await fetch(url, { signal: AbortSignal.timeout(2_000) })).ok) return
      } catch {
        // Not listening yet.
      }
      await sleep(200)
    }
    if (!signal.aborted) throw new SetupError(`Temporal's UI server did not answer on ${url} within ${Math.round(timeoutMs / 1000)} s.`)
  })
  return { url, pid: server.pid, exited: server.exited, outputTail: server.outputTail, stop: server.stop }
}

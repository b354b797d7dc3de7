import { createSocket } from 'node:dgram'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { freePort, isPortTaken } from './dev-server.js'
import { SetupError, stderrLog, type SetupLog } from './errors.js'
import { commandLineIncludes, isAlive, sleep } from './processes.js'
import { startServerProcess } from './server-process.js'

/**
 * Starts a LiveKit server (the SFU that carries calls, docs/decisions/070-livekit.md) for `./platform up` and for
 * the tests, from a generated config file rather than `--dev`, so that every setting that matters is written down:
 *
 * - signal (HTTP/WebSocket) bound to loopback; ICE over UDP on a small fixed port range and over TCP on one port;
 *   the advertised node IP is loopback and no STUN look-up of an external IP is made, so nothing leaves the machine;
 * - the API key pair from configuration, and webhooks signed with it to the given URLs (the web server's
 *   /webhooks/livekit);
 * - rooms are never created by a join (`auto_create: false`): only the platform creates a call's room, with its own
 *   limits (activities/media/livekit.ts), so a token alone cannot open a room of another shape.
 *
 * Stopping: LiveKit drains on its first SIGTERM (it waits for every participant to leave) and stops at once on the
 * second, so stop() sends one, a second after DRAIN_MS, and SIGKILL after STOP_TIMEOUT_MS.
 *
 * A persisted config (configFile given, as `./platform up` does) leaves a pid file beside it. A LiveKit left running
 * on that file by an earlier run that was killed is stopped before the new one starts: it keeps no state worth
 * reusing, and its ports are the ones wanted.
 */

export type LiveKitLogLevel = 'debug' | 'info' | 'warn' | 'error'

export interface LiveKitOptions {
  /** The livekit-server binary (temporal/setup/livekit-server.ts finds or builds it). */
  serverPath: string
  apiKey: string
  /** At least 32 characters (LiveKit refuses shorter secrets). */
  apiSecret: string
  /** Address to bind and to advertise to clients; loopback unless told otherwise. */
  host?: string
  /** The signal port (HTTP and WebSocket, also the API); a free one when omitted. */
  port?: number
  /** ICE over TCP; a free one when omitted. */
  rtcTcpPort?: number
  /** ICE over UDP; a free range of UDP_RANGE_SIZE ports when omitted. */
  rtcUdpPorts?: { start: number; end: number }
  /** Where LiveKit POSTs its signed webhooks (room and participant events). */
  webhookUrls?: readonly string[]
  /** Defaults for rooms; a room created through the API may set its own. */
  room?: { emptyTimeoutS?: number; departureTimeoutS?: number }
  logLevel?: LiveKitLogLevel
  /** Keep the generated config here (and a pid file beside it); a private temporary folder when omitted. */
  configFile?: string
  log?: SetupLog
  /** Each line LiveKit prints, compacted (formatLiveKitLine). Otherwise only kept for error messages. */
  onOutput?: (line: string) => void
  /** Run it in its own process group (up.ts does, so that Ctrl-C reaches only up, which stops it last). */
  detached?: boolean
  /** How long it may take to answer; 30 s by default (it takes about 0.1 s here). */
  startTimeoutMs?: number
}

export interface LiveKitServer {
  /** ws://host:port: what browsers and the plugin connect to (LIVEKIT_URL). */
  url: string
  /** http://host:port: the API (LIVEKIT_API_URL). */
  apiUrl: string
  port: number
  rtcTcpPort: number
  rtcUdpPorts: { start: number; end: number }
  pid: number
  configFile: string
  /** Settles when the process ends, for whatever reason. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  /** The last lines it printed. */
  outputTail(lines?: number): string
  /** Drain, then force, then SIGKILL (see above). Resolves once it is gone and its temporary files are removed. */
  stop(): Promise<void>
}

export const UDP_RANGE_SIZE = 40
const DRAIN_MS = 1_000
const STOP_TIMEOUT_MS = 10_000

/** The config file LiveKit reads. JSON is YAML too, and needs no escaping rules of its own. */
export function liveKitConfig(options: {
  host: string
  port: number
  rtcTcpPort: number
  rtcUdpPorts: { start: number; end: number }
  apiKey: string
  apiSecret: string
  webhookUrls: readonly string[]
  room: { emptyTimeoutS: number; departureTimeoutS: number }
  logLevel: LiveKitLogLevel
}): Record<string, unknown> {
  const config: Record<string, unknown> = {
    port: options.port,
    bind_addresses: [options.host],
    rtc: {
      tcp_port: options.rtcTcpPort,
      port_range_start: options.rtcUdpPorts.start,
      port_range_end: options.rtcUdpPorts.end,
      node_ip: options.host,
      // No STUN look-up of a public address: the node IP is the address.
      use_external_ip: false,
      // Candidates on this address only (loopback included, which pion leaves out by default).
      enable_loopback_candidate: true,
      ips: { includes: [`${options.host}/32`] },
    },
    keys: { [options.apiKey]: options.apiSecret },
    room: {
      auto_create: false,
      empty_timeout: options.room.emptyTimeoutS,
      departure_timeout: options.room.departureTimeoutS,
    },
    logging: { level: options.logLevel, pion_level: 'error' },
  }
  if (options.webhookUrls.length) config.webhook = { api_key: options.apiKey, urls: [...options.webhookUrls] }
  return config
}

export async function startLiveKit(opts: LiveKitOptions): Promise<LiveKitServer> {
  const log = opts.log ?? stderrLog
  const host = opts.host ?? '127.0.0.1'
  const timeoutMs = opts.startTimeoutMs ?? 30_000
  if (opts.apiSecret.length < 32) throw new SetupError('The LiveKit API secret must be at least 32 characters.')

  const ownDir = opts.configFile ? undefined : await mkdtemp(join(tmpdir(), 'perminute-livekit-'))
  const configFile = opts.configFile ? resolve(opts.configFile) : join(ownDir!, 'livekit.yaml')
  const pidFile = `${configFile}.pid`
  const removeOwnFiles = async () => {
    if (ownDir) await rm(ownDir, { recursive: true, force: true })
    else await rm(pidFile, { force: true })
  }

  try {
    if (opts.configFile) await stopLeftover(pidFile, configFile, log)

    const port = opts.port ?? (await freePort(host))
    const rtcTcpPort = opts.rtcTcpPort ?? (await freePort(host))
    const rtcUdpPorts = opts.rtcUdpPorts ?? (await freeUdpRange(host, UDP_RANGE_SIZE))
    for (const [what, p, variable] of [
      ['LiveKit signal', port, 'LIVEKIT_URL=ws://127.0.0.1:PORT'],
      ['LiveKit ICE/TCP', rtcTcpPort, 'LIVEKIT_RTC_TCP_PORT'],
    ] as const) {
      // The ICE/TCP port is bound on every interface (LiveKit offers no choice), hence the check on 0.0.0.0.
      if (await isPortTaken(p, what === 'LiveKit signal' ? host : '0.0.0.0')) {
        throw new SetupError(
          `The ${what} port ${p} is already in use by another program, so LiveKit cannot start there.\n` +
            `Stop that program, or choose another port (${variable}).`,
        )
      }
    }

    const config = liveKitConfig({
      host,
      port,
      rtcTcpPort,
      rtcUdpPorts,
      apiKey: opts.apiKey,
      apiSecret: opts.apiSecret,
      webhookUrls: opts.webhookUrls ?? [],
      room: { emptyTimeoutS: opts.room?.emptyTimeoutS ?? 60, departureTimeoutS: opts.room?.departureTimeoutS ?? 10 },
      logLevel: opts.logLevel ?? 'info',
    })
    await mkdir(dirname(configFile), { recursive: true })
    // It holds the API secret: readable by its owner only (a new file, so that the mode applies).
    await rm(configFile, { force: true })
    await writeFile(configFile, `# Generated by temporal/setup/livekit.ts; rewritten at every start.\n${JSON.stringify(config, null, 2)}\n`, {
      mode: 0o600,
    })

    const server = startServerProcess(opts.serverPath, ['--config', configFile], {
      title: 'The LiveKit server',
      onOutput: opts.onOutput,
      formatLine: formatLiveKitLine,
      detached: opts.detached,
      stopSequence: [
        ['SIGTERM', 0],
        ['SIGTERM', DRAIN_MS],
        ['SIGKILL', STOP_TIMEOUT_MS],
      ],
    })
    const stop = async () => {
      await server.stop()
      await removeOwnFiles()
    }
    const apiUrl = `http://${hostForUrl(host)}:${port}`
    await server.untilAnswering((signal) => waitForLiveKit(apiUrl, { timeoutMs, signal }))
    if (opts.configFile && server.pid > 0) await writeFile(pidFile, `${server.pid}\n`)

    return {
      url: `ws://${hostForUrl(host)}:${port}`,
      apiUrl,
      port,
      rtcTcpPort,
      rtcUdpPorts,
      pid: server.pid,
      configFile,
      exited: server.exited,
      outputTail: server.outputTail,
      stop,
    }
  } catch (error) {
    await removeOwnFiles().catch(() => undefined)
    throw error
  }
}

/** Waits until LiveKit's root answers "OK" (it does once it accepts connections). Throws SetupError at the deadline. */
export async function waitForLiveKit(apiUrl: string, opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<void> {
  const timeoutMs = opts.timeoutMs ?? 30_000
  const deadline = Date.now() + timeoutMs
  let lastProblem = 'no answer yet'
  while (Date.now() < deadline) {
    if (opts.signal?.aborted) return
    try {
      const response = await fetch(`${apiUrl}/`, { signal: AbortSignal.timeout(2_000) })
      const text = (await response.text()).trim()
      if (response.ok && text === 'OK') return
      lastProblem = `HTTP ${response.status} ${text.slice(0, 80)}`
    } catch (error) {
      const e = error as { cause?: { code?: string }; message?: string }
      lastProblem = e.cause?.code ?? e.message ?? String(error)
    }
    await sleep(50)
  }
  throw new SetupError(`LiveKit at ${apiUrl} did not answer within ${Math.round(timeoutMs / 1000)} s (last problem: ${lastProblem}).`)
}

/**
 * LiveKit's console lines are "<time>\t<LEVEL>\tlivekit\t<file:line>\t<message>\t<fields>": the prefix of our own
 * output already says who and when, so what is kept is "<LEVEL> <message> <fields>".
 */
export function formatLiveKitLine(line: string): string {
  const text = line.trimEnd()
  if (!text.trim()) return ''
  const parts = text.split('\t')
  if (parts.length >= 5 && /^\d{4}-\d\d-\d\dT/.test(parts[0]!)) {
    const [, level, , , ...rest] = parts
    return `${level} ${rest.join(' ')}`
  }
  return text
}

/** `count` consecutive UDP ports that are free on `host` right now (LiveKit binds one per peer connection). */
export async function freeUdpRange(host: string, count: number): Promise<{ start: number; end: number }> {
  for (let attempt = 0; attempt < 50; attempt += 1) {
    // Below Linux's ephemeral range (32768–60999), where the kernel hands out ports to every other program.
    const start = 20_000 + Math.floor(Math.random() * (32_000 - 20_000 - count))
    let free = true
    for (let port = start; port < start + count && free; port += 1) free = await isUdpPortFree(host, port)
    if (free) return { start, end: start + count - 1 }
  }
  throw new SetupError(`Found no ${count} consecutive free UDP ports on ${host} for LiveKit's media.`)
}

function isUdpPortFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolveFree) => {
    const socket = createSocket('udp4')
    socket.once('error', () => {
      socket.close()
      resolveFree(false)
    })
    socket.bind(port, host, () => socket.close(() => resolveFree(true)))
  })
}

function hostForUrl(host: string): string {
  return host.includes(':') ? `[${host}]` : host
}

/** A LiveKit an earlier run started on this config file and did not stop (it was killed): stopped, by its pid. */
async function stopLeftover(pidFile: string, configFile: string, log: SetupLog): Promise<void> {
  let pid: number
  try {
    pid = Number((await readFile(pidFile, 'utf8')).trim())
  } catch {
    return
  }
  if (Number.isInteger(pid) && pid > 0 && isAlive(pid) && (await commandLineIncludes(pid, '--config', configFile))) {
    log(`livekit: stopping the LiveKit server an earlier run left running (pid ${pid})`)
    for (const [signal, waitMs] of [['SIGTERM', DRAIN_MS], ['SIGTERM', STOP_TIMEOUT_MS], ['SIGKILL', 2_000]] as const) {
      try {
        process.kill(pid, signal)
      } catch {
        break
      }
      const until = Date.now() + waitMs
      while (isAlive(pid) && Date.now() < until) await sleep(100)
      if (!isAlive(pid)) break
    }
  }
  await rm(pidFile, { force: true })
}

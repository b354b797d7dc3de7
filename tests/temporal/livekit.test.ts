import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { connect, createServer, type Server } from 'node:net'
import { networkInterfaces, tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { parse } from 'yaml'
import { SetupError } from '../../temporal/setup/errors.js'
import { formatLiveKitLine, startLiveKit, type LiveKitServer } from '../../temporal/setup/livekit.js'
import { isAlive } from '../../temporal/setup/processes.js'

const secret = 'a-test-secret-of-at-least-thirty-two-characters'

describe('the run’s LiveKit', () => {
  it('answers on the address the global setup exported, with the run’s own keys', async () => {
    expect(process.env.LIVEKIT_URL).toBe(inject('liveKitUrl'))
    expect(process.env.LIVEKIT_API_URL).toBe(inject('liveKitApiUrl'))
    expect(process.env.LIVEKIT_URL).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/)
    expect(process.env.LIVEKIT_API_SECRET!.length).toBeGreaterThanOrEqual(32)
    const response = await fetch(`${inject('liveKitApiUrl')}/`)
    expect((await response.text()).trim()).toBe('OK')
    expect(isAlive(inject('liveKitPid'))).toBe(true)
  })
})

describe('a LiveKit of its own', () => {
  let dir: string
  const servers: LiveKitServer[] = []
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'perminute-livekit-test-'))
  })
  afterAll(async () => {
    for (const server of servers.reverse()) await server.stop()
    await rm(dir, { recursive: true, force: true })
  })

  function start(options: Partial<Parameters<typeof startLiveKit>[0]> = {}): Promise<LiveKitServer> {
    return startLiveKit({ serverPath: inject('liveKitServerPath'), apiKey: 'key', apiSecret: secret, log: () => {}, ...options }).then((server) => {
      servers.push(server)
      return server
    })
  }

  it('runs from a written-down config: loopback only, no external IP look-up, rooms only by the API, signed webhooks', async () => {
    const configFile = join(dir, 'written', 'livekit.yaml')
    const server = await start({ configFile, webhookUrls: ['http://127.0.0.1:9/webhooks/livekit'], room: { emptyTimeoutS: 30, departureTimeoutS: 5 } })
    expect(server.url).toBe(`ws://127.0.0.1:${server.port}`)
    expect(server.rtcUdpPorts.end - server.rtcUdpPorts.start).toBeGreaterThan(0)

    // It holds the API secret: its owner's alone.
    expect((await stat(configFile)).mode & 0o777).toBe(0o600)
    const config = parse(await readFile(configFile, 'utf8')) as Record<string, Record<string, unknown>>
    expect(config).toMatchObject({
      port: server.port,
      bind_addresses: ['127.0.0.1'],
      rtc: {
        tcp_port: server.rtcTcpPort,
        port_range_start: server.rtcUdpPorts.start,
        port_range_end: server.rtcUdpPorts.end,
        node_ip: '127.0.0.1',
        use_external_ip: false,
        ips: { includes: ['127.0.0.1/32'] },
      },
      keys: { key: secret },
      webhook: { api_key: 'key', urls: ['http://127.0.0.1:9/webhooks/livekit'] },
      room: { auto_create: false, empty_timeout: 30, departure_timeout: 5 },
    })
    expect(config.rtc).not.toHaveProperty('stun_servers')
    expect(config.rtc).not.toHaveProperty('turn_servers')
    expect(await readFile(`${configFile}.pid`, 'utf8')).toBe(`${server.pid}\n`)

    // The signal port listens on loopback, nowhere else.
    const response = await fetch(`${server.apiUrl}/`)
    expect((await response.text()).trim()).toBe('OK')
    expect(await canConnect('127.0.0.1', server.port)).toBe(true)
    for (const address of otherAddresses()) expect(await canConnect(address, server.port), address).toBe(false)

    await server.stop()
    expect(await server.exited).toBeTruthy()
    await expect(stat(`${configFile}.pid`)).rejects.toThrow()
  })

  it('stops a LiveKit an earlier run left on the same config file, and takes its ports', async () => {
    const configFile = join(dir, 'leftover', 'livekit.yaml')
    const left = await start({ configFile })
    let leftExited = false
    void left.exited.then(() => (leftExited = true))
    const again = await start({ configFile, port: left.port, rtcTcpPort: left.rtcTcpPort, rtcUdpPorts: left.rtcUdpPorts })
    expect(leftExited).toBe(true)
    expect(again.pid).not.toBe(left.pid)
    expect((await (await fetch(`${again.apiUrl}/`)).text()).trim()).toBe('OK')
  })

  it('says which port is taken instead of failing obscurely', async () => {
    const blocker: Server = createServer()
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve))
    const port = (blocker.address() as { port: number }).port
    try {
      const attempt = start({ port })
      await expect(attempt).rejects.toBeInstanceOf(SetupError)
      await expect(attempt).rejects.toThrow(`LiveKit signal port ${port} is already in use`)
    } finally {
      await new Promise((resolve) => blocker.close(resolve))
    }
  })

  it('reports an exit, at start with what it said, and later through exited', async () => {
    const broken = join(dir, 'broken-livekit')
    await writeFile(broken, '#!/bin/sh\necho "could not parse config: this is a test" >&2\nexit 3\n')
    await chmod(broken, 0o755)
    const attempt = start({ serverPath: broken })
    await expect(attempt).rejects.toThrow(/exited while starting \(exit code 3\)[\s\S]*could not parse config: this is a test/)

    const server = await start()
    process.kill(server.pid, 'SIGKILL')
    expect(await server.exited).toEqual({ code: null, signal: 'SIGKILL' })
    expect(server.outputTail()).toMatch(/starting LiveKit server/)
  })

  it('keeps what LiveKit says and drops what our prefix says already', () => {
    expect(formatLiveKitLine('2026-12-03T06:43:20.684Z\tINFO\tlivekit\tservice/server.go:265\tstarting LiveKit server\t{"portHttp": 7880}')).toBe(
      'INFO starting LiveKit server {"portHttp": 7880}',
    )
    expect(formatLiveKitLine('github.com/pion/webrtc/v4.(*PeerConnection).undeclaredRTPMediaProcessor.func1')).toBe(
      'github.com/pion/webrtc/v4.(*PeerConnection).undeclaredRTPMediaProcessor.func1',
    )
    expect(formatLiveKitLine('   ')).toBe('')
  })
})

/** This machine's IPv4 addresses other than loopback. */
function otherAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flat()
    .filter((entry) => entry && entry.family === 'IPv4' && !entry.internal)
    .map((entry) => entry!.address)
}

function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port })
    socket.setTimeout(2_000, () => {
      socket.destroy()
      resolve(false)
    })
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}

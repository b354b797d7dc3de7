import { execFileSync, spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { parseConfig } from '../config/env.js'
import { HISTORY_SHARDS } from '../temporal/setup/cluster/config.js'

// docker-compose.yml is for users; no Docker engine runs here, so it is checked, not started.
const composeText = readFileSync(new URL('../docker-compose.yml', import.meta.url), 'utf8')
const hasComposeCli = spawnSync('docker', ['compose', 'version'], { stdio: 'ignore' }).status === 0

interface Service {
  image?: string
  build?: unknown
  command?: unknown
  environment?: Record<string, string>
  depends_on?: Record<string, { condition: string }>
  ports?: Array<string | { target: number; published?: string | number; host_ip?: string }>
}

/** Compose's interpolation of ${NAME}, ${NAME:-default} and ${NAME:?message}, from `variables`; throws as compose does. */
function interpolate(text: string, variables: Record<string, string>): string {
  return text.replace(/\$\{([A-Z_][A-Z0-9_]*)(?:(:?[-?])([^}]*))?\}/g, (_whole, name: string, operator: string | undefined, word: string | undefined) => {
    const value = variables[name]
    if (value !== undefined && value !== '') return value
    if (operator === ':?' || operator === '?') throw new Error(`required variable ${name} is missing a value: ${word}`)
    return operator ? (word ?? '') : ''
  })
}

const SECRETS = ['POSTGRES_PASSWORD', 'SESSION_SECRET', 'PAYMENT_WEBHOOK_SECRET', 'DATA_ENCRYPTION_KEY', 'LIVEKIT_API_SECRET']
const REQUIRED = [...SECRETS, 'ADMIN_ALLOWED_CIDRS']
const variables = {
  POSTGRES_PASSWORD: 'a1b2c3d4e5f6',
  SESSION_SECRET: 'an-own-session-secret-of-at-least-32-chars',
  PAYMENT_WEBHOOK_SECRET: 'an-own-webhook-secret-of-at-least-32-chars',
  DATA_ENCRYPTION_KEY: Buffer.from('an-own-data-encryption-key-32-by').toString('base64'),
  ADMIN_ALLOWED_CIDRS: '203.0.113.7/32',
  LIVEKIT_API_SECRET: 'an-own-livekit-secret-of-at-least-32-chars',
}
const services = () => (parse(interpolate(composeText, variables), { merge: true }) as { services: Record<string, Service> }).services

describe('docker-compose.yml', () => {
  it.runIf(hasComposeCli)('passes docker compose config', () => {
    // LIVEKIT_API_SECRET has no default: compose refuses to start without it.
    const env = { ...process.env, LIVEKIT_API_SECRET: 'a-secret-for-checking-the-file-only-0123' }
    execFileSync('docker', ['compose', '-f', 'docker-compose.yml', 'config', '--quiet'], { stdio: 'pipe', env })
  })

  it('describes the production-like stack, every dependency resolvable', () => {
    const compose = parse(interpolate(composeText, variables), { merge: true }) as { services: Record<string, Service> }
    const services = compose.services
    expect(Object.keys(services)).toEqual(
      expect.arrayContaining(['postgres', 'temporal', 'temporal-ui', 'migrate', 'worker', 'web']),
    )
    for (const [name, service] of Object.entries(services)) {
      expect(service.image ?? service.build, `${name} needs an image or a build`).toBeTruthy()
      for (const dependency of Object.keys(service.depends_on ?? {})) {
        expect(services, `${name} depends on ${dependency}`).toHaveProperty(dependency)
      }
    }
    // Temporal persists to PostgreSQL, and the platform's processes point at the compose services.
    expect(services.temporal!.environment).toMatchObject({ DB: 'postgres12', POSTGRES_SEEDS: 'postgres' })
    for (const name of ['worker', 'web', 'migrate']) {
      expect(services[name]!.environment).toMatchObject({ TEMPORAL_ADDRESS: 'temporal:7233' })
      expect(services[name]!.environment!.DATABASE_URL).toMatch(/@postgres:5432\//)
    }
  })

  it('starts only with secrets of its own: every secret and the admin allow-list are required, none has a default', () => {
    for (const name of REQUIRED) {
      const uses = [...composeText.matchAll(new RegExp(`\\$\\{${name}([^}]*)\\}`, 'g'))].map((match) => match[1]!)
      expect(uses.length, `${name} is used`).toBeGreaterThan(0)
      for (const use of uses) expect(use, `\${${name}${use}} must be required (:?), with no default`).toMatch(/^:\?/)
      expect(() => interpolate(composeText, { ...variables, [name]: '' }), `${name} unset`).toThrow(new RegExp(`required variable ${name}`))
    }
    // No secret is written out: the passwords of the database come from the variable too.
    expect(composeText).not.toMatch(/change-me|PASSWORD: perminute|PWD: perminute|perminute:perminute@/)
    for (const name of ['migrate', 'worker', 'web']) {
      const environment = services()[name]!.environment!
      for (const secret of SECRETS.filter((s) => s !== 'POSTGRES_PASSWORD')) expect(environment[secret], `${name} ${secret}`).toBe(variables[secret as keyof typeof variables])
      expect(environment.DATABASE_URL).toContain(`:${variables.POSTGRES_PASSWORD}@postgres:5432/`)
    }
  })

  it('gives the platform’s processes a configuration that starts in production', () => {
    for (const name of ['migrate', 'worker', 'web']) {
      const config = parseConfig(services()[name]!.environment!)
      expect(config.NODE_ENV, name).toBe('production')
      expect(config.DEVELOPMENT_FEATURES, name).toBe(false)
    }
  })

  it('publishes only the web on every interface; Temporal’s gRPC not at all, its UI on loopback only', () => {
    const published = Object.entries(services()).flatMap(([name, service]) =>
      (service.ports ?? []).map((port) => ({ name, port: typeof port === 'string' ? port : `${port.host_ip ?? ''}:${port.published ?? ''}:${port.target}` })),
    )
    for (const { name, port } of published) {
      const bindsLoopback = /^127\.0\.0\.1:|^\[::1\]:/.test(port)
      // Media must reach LiveKit's ICE ports from the members' machines; its signal and API port stays on loopback.
      const media = name === 'livekit' && /^788[12]:788[12]\/(tcp|udp)$/.test(port)
      expect(name === 'web' || media || bindsLoopback, `${name} publishes ${port} on every interface`).toBe(true)
    }
    expect(services().temporal!.ports ?? []).toEqual([])
    expect(services()['temporal-ui']!.ports).toEqual(['127.0.0.1:8080:8080'])
  })

  it('runs Temporal with the history shard count of ./platform up’s cluster (it can never change afterwards)', () => {
    expect(services().temporal!.environment!.NUM_HISTORY_SHARDS).toBe(String(HISTORY_SHARDS))
  })

  it('runs LiveKit from a written-down config, its secret required, its webhooks to the web', () => {
    const { livekit, web, worker } = services()
    expect(livekit!.image).toBe('livekit/livekit-server:v1.11.0')
    const config = parse(livekit!.environment!.LIVEKIT_CONFIG!) as Record<string, Record<string, unknown>>
    expect(config).toMatchObject({
      port: 7880,
      rtc: { tcp_port: 7881, udp_port: 7882, use_external_ip: false, node_ip: '127.0.0.1' },
      keys: { perminute: variables.LIVEKIT_API_SECRET },
      webhook: { api_key: 'perminute', urls: ['http://web:3000/webhooks/livekit'] },
      room: { auto_create: false },
    })
    expect(config.rtc).not.toHaveProperty('stun_servers')
    expect(livekit!.ports).toEqual(['127.0.0.1:7880:7880', '7881:7881/tcp', '7882:7882/udp'])

    for (const service of [web!, worker!]) {
      expect(service.environment).toMatchObject({ LIVEKIT_API_URL: 'http://livekit:7880', LIVEKIT_URL: 'ws://localhost:7880', LIVEKIT_API_KEY: 'perminute' })
      expect(service.environment!.LIVEKIT_API_SECRET).toBe(variables.LIVEKIT_API_SECRET)
      expect(service.depends_on).toHaveProperty('livekit')
    }
  })
})

import { execFileSync, spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'

// docker-compose.yml is for users; no Docker engine runs here, so it is checked, not started.
const composeText = readFileSync(new URL('../docker-compose.yml', import.meta.url), 'utf8')
const hasComposeCli = spawnSync('docker', ['compose', 'version'], { stdio: 'ignore' }).status === 0

interface Service {
  image?: string
  build?: unknown
  command?: unknown
  environment?: Record<string, string>
  depends_on?: Record<string, { condition: string }>
  ports?: string[]
}

/** What docker compose makes of ${NAME:-default} and ${NAME:?message} when NAME is set to `set`. */
function interpolate(text: string, set: Record<string, string>): string {
  return text.replace(/\$\{(\w+)(?::-([^}]*)|:\?[^}]*)?\}/g, (_, name: string, fallback?: string) => set[name] ?? fallback ?? '')
}

describe('docker-compose.yml', () => {
  it.runIf(hasComposeCli)('passes docker compose config', () => {
    // LIVEKIT_API_SECRET has no default: compose refuses to start without it.
    const env = { ...process.env, LIVEKIT_API_SECRET: 'a-secret-for-checking-the-file-only-0123' }
    execFileSync('docker', ['compose', '-f', 'docker-compose.yml', 'config', '--quiet'], { stdio: 'pipe', env })
  })

  it('describes the production-like stack, every dependency resolvable', () => {
    const compose = parse(composeText, { merge: true }) as { services: Record<string, Service> }
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

  it('runs LiveKit from a written-down config, its secret required, its webhooks to the web', () => {
    const compose = parse(composeText, { merge: true }) as { services: Record<string, Service> }
    const { livekit, web, worker } = compose.services as Record<string, Service>
    expect(livekit!.image).toBe('livekit/livekit-server:v1.11.0')
    const secret = 'a-secret-of-the-operator-0123456789abcdef'
    const config = parse(interpolate(livekit!.environment!.LIVEKIT_CONFIG!, { LIVEKIT_API_SECRET: secret })) as Record<string, Record<string, unknown>>
    expect(config).toMatchObject({
      port: 7880,
      rtc: { tcp_port: 7881, udp_port: 7882, use_external_ip: false, node_ip: '127.0.0.1' },
      keys: { perminute: secret },
      webhook: { api_key: 'perminute', urls: ['http://web:3000/webhooks/livekit'] },
      room: { auto_create: false },
    })
    expect(config.rtc).not.toHaveProperty('stun_servers')
    // No default secret anywhere: compose stops with this message when it is unset.
    expect(livekit!.environment!.LIVEKIT_CONFIG).toContain('${LIVEKIT_API_SECRET:?')
    expect(livekit!.ports).toEqual(['127.0.0.1:7880:7880', '7881:7881/tcp', '7882:7882/udp'])

    for (const service of [web!, worker!]) {
      expect(service.environment).toMatchObject({ LIVEKIT_API_URL: 'http://livekit:7880', LIVEKIT_URL: '${LIVEKIT_URL:-ws://localhost:7880}' })
      expect(service.environment!.LIVEKIT_API_SECRET).toMatch(/^\$\{LIVEKIT_API_SECRET:\?/)
      expect(service.environment!.LIVEKIT_API_KEY).toBe('${LIVEKIT_API_KEY:-perminute}')
      expect(service.depends_on).toHaveProperty('livekit')
    }
  })
})

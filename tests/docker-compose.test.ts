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
}

describe('docker-compose.yml', () => {
  it.runIf(hasComposeCli)('passes docker compose config', () => {
    execFileSync('docker', ['compose', '-f', 'docker-compose.yml', 'config', '--quiet'], { stdio: 'pipe' })
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
})

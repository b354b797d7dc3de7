import { randomBytes } from 'node:crypto'
import { applyMigrations, dropDatabase, ensureDatabase } from '../../prisma/migrate.js'
import { testDatabaseUrl } from './db.js'

/**
 * A throwaway database beside the test database (same server, same credentials), for tests that must break things
 * other test files would notice: corrupting a ledger total while another file runs its ledger check would fail that
 * file, not this one. Each call gets a fresh name; drop it when done.
 */
export interface ScratchDatabase {
  url: string
  drop(): Promise<void>
}

export async function createScratchDatabase(purpose: string, options: { migrated: boolean }): Promise<ScratchDatabase> {
  const url = new URL(testDatabaseUrl())
  const base = decodeURIComponent(url.pathname.replace(/^\//, ''))
  const suffix = `_${purpose}_${randomBytes(4).toString('hex')}`
  // PostgreSQL keeps 63 bytes of a name; the unique suffix is the part that must survive.
  url.pathname = `/${encodeURIComponent(`${base.slice(0, 63 - suffix.length)}${suffix}`)}`
  const scratchUrl = url.toString()
  await ensureDatabase(scratchUrl)
  if (options.migrated) await applyMigrations(scratchUrl)
  return {
    url: scratchUrl,
    drop: async () => {
      await dropDatabase(scratchUrl)
    },
  }
}

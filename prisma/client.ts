import { PrismaPg } from '@prisma/adapter-pg'
import { PrismaClient } from './generated/client.js'

export type Db = PrismaClient
export { Prisma } from './generated/client.js'

/** A Prisma client on the pg driver adapter (no native engine). One per process: see getDb(). */
export function createDb(databaseUrl: string, options: { maxConnections?: number } = {}): Db {
  const adapter = new PrismaPg({ connectionString: databaseUrl, max: options.maxConnections ?? 20 })
  // Waiting for a pooled connection under load is better than failing the transaction: callers are activities
  // and requests that would only retry. The timeout bounds a transaction that a dead peer would hold open.
  return new PrismaClient({ adapter, transactionOptions: { maxWait: 15_000, timeout: 30_000 } })
}

const clients = new Map<string, Db>()

/** The process's shared client for a database URL, created on first use. */
export function getDb(databaseUrl: string): Db {
  let db = clients.get(databaseUrl)
  if (!db) {
    db = createDb(databaseUrl)
    clients.set(databaseUrl, db)
  }
  return db
}

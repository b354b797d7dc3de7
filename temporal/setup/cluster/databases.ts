import { dropDatabase, ensureDatabase } from '../../../prisma/migrate.js'
import { SetupError, tailLines, type SetupLog } from '../errors.js'
import { run } from '../go-tool.js'
import type { SqlStore } from './config.js'

/**
 * The Temporal cluster's two PostgreSQL databases, persistence and visibility, on the server DATABASE_URL names, with
 * names derived from its database (perminute → perminute_temporal, perminute_temporal_visibility). Their schemas are
 * set up and upgraded with Temporal's own SQL tool, whose schema files are built into it; both steps are idempotent,
 * so every start runs them (a newer server version brings its upgrades this way).
 */

export interface ClusterDatabases {
  persistence: SqlStore
  visibility: SqlStore
  /** From DATABASE_URL; handed to the processes through the environment only. */
  password: string
}

/** The databases a cluster beside `databaseUrl`'s database uses; `suffix` names another set (a test's own). */
export function clusterDatabases(databaseUrl: string, suffix = 'temporal'): ClusterDatabases {
  const url = new URL(databaseUrl)
  const base = decodeURIComponent(url.pathname.replace(/^\//, ''))
  if (!base) throw new SetupError(`DATABASE_URL names no database, so the Temporal databases cannot be named after it.`)
  const connectAttributes: Record<string, string> = {}
  const sslmode = url.searchParams.get('sslmode')
  if (sslmode) connectAttributes.sslmode = sslmode
  const common = {
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port: Number(url.port || 5432),
    user: decodeURIComponent(url.username || 'postgres'),
    connectAttributes,
  }
  return {
    persistence: { ...common, database: `${base}_${suffix}` },
    visibility: { ...common, database: `${base}_${suffix}_visibility` },
    password: decodeURIComponent(url.password),
  }
}

/** A postgresql:// URL for one of the cluster's databases (for creating and dropping it). */
export function storeUrl(store: SqlStore, password: string): string {
  const url = new URL('postgresql://localhost')
  url.hostname = store.host.includes(':') ? `[${store.host}]` : store.host
  url.port = String(store.port)
  url.username = encodeURIComponent(store.user)
  if (password) url.password = encodeURIComponent(password)
  url.pathname = `/${encodeURIComponent(store.database)}`
  return url.toString()
}

const SCHEMAS = { persistence: 'postgresql/v12/temporal', visibility: 'postgresql/v12/visibility' } as const

/** Creates both databases when missing, then sets up and upgrades their schemas to what this server version wants. */
export async function prepareClusterDatabases(sqlTool: string, databases: ClusterDatabases, log: SetupLog): Promise<void> {
  for (const kind of ['persistence', 'visibility'] as const) {
    const store = databases[kind]
    const { created } = await ensureDatabase(storeUrl(store, databases.password))
    const sql = (...args: string[]) => runSqlTool(sqlTool, store, databases.password, args)
    // setup-schema -v 0.0 only creates the version tables (when missing); update-schema applies every newer version.
    await sql('setup-schema', '-v', '0.0')
    await sql('update-schema', '--schema-name', SCHEMAS[kind])
    log(`${kind} database ${store.database}: ${created ? 'created' : 'exists'}, schema up to date`)
  }
}

export async function dropClusterDatabases(databases: ClusterDatabases): Promise<void> {
  for (const store of [databases.persistence, databases.visibility]) await dropDatabase(storeUrl(store, databases.password))
}

async function runSqlTool(sqlTool: string, store: SqlStore, password: string, args: string[]): Promise<void> {
  const connection = ['--plugin', 'postgres12', '--endpoint', store.host, '--port', String(store.port), '--user', store.user, '--database', store.database]
  for (const [key, value] of Object.entries(store.connectAttributes)) connection.push('--connect-attributes', `${key}=${value}`)
  const result = await run(sqlTool, [...connection, ...args], {
    env: { ...process.env, SQL_PASSWORD: password },
    timeoutMs: 120_000,
  })
  if (result.code !== 0) {
    throw new SetupError(
      `Temporal's SQL tool failed on database ${store.database} (${args[0]}, exit ${result.code ?? result.signal}). It said:\n` +
        tailLines([...result.stdout.split('\n'), ...result.stderrLines].filter((line) => line.trim()), 15),
    )
  }
}

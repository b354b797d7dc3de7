import pg from 'pg'
import { describeDatabaseError } from '../../prisma/migrate.js'

/**
 * Turns "the database is not there or not ready" into one sentence that says what to do. Operations staff run the
 * admin CLI and the seed script against whatever DATABASE_URL says, so a missing server, database or migration is an
 * expected situation for them, not a bug: they get advice, never a Prisma stack trace.
 */

export class DatabaseNotReadyError extends Error {
  override name = 'DatabaseNotReadyError'
}

const MIGRATE_ADVICE = 'create and migrate it with `npm run db:migrate`'

// Without a timeout a black-holed host would hang the command instead of explaining itself.
const CONNECT_TIMEOUT_MS = 10_000

/** Where a URL points, without its credentials (a password must never reach a terminal or a log). */
export function describeDatabaseUrl(databaseUrl: string): string {
  try {
    const url = new URL(databaseUrl)
    const name = decodeURIComponent(url.pathname.replace(/^\//, '')) || '(default database)'
    return `"${name}" on ${url.hostname}:${url.port || '5432'}`
  } catch {
    return 'the configured database'
  }
}

interface DriverFailure {
  kind?: string
  originalCode?: string
  originalMessage?: string
  table?: string
  column?: string
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null
}

/** The driver adapter's classification of a failure, wherever Prisma put it. */
function driverFailureOf(error: unknown): DriverFailure | null {
  if (!isRecord(error)) return null
  // Prisma's query errors carry it in meta.driverAdapterError; inside interactive transactions the
  // DriverAdapterError itself can surface.
  const meta = error['meta']
  const wrapped = isRecord(meta) ? meta['driverAdapterError'] : undefined
  const adapterError = isRecord(wrapped) ? wrapped : error['name'] === 'DriverAdapterError' ? error : null
  const cause = adapterError?.['cause']
  return isRecord(cause) ? (cause as DriverFailure) : null
}

/** One sentence for a failure caused by the database's state, or null when the error is something else. */
export function describeDatabaseFailure(error: unknown, databaseUrl: string): string | null {
  const failure = driverFailureOf(error)
  if (!failure) return null
  const where = describeDatabaseUrl(databaseUrl)
  switch (failure.kind) {
    case 'DatabaseNotReachable':
    case 'ConnectionClosed':
    case 'SocketTimeout':
    case 'TlsConnectionError':
      return `cannot reach the database server for ${where}: is PostgreSQL running, and is DATABASE_URL right?`
    case 'DatabaseDoesNotExist':
      return `the database ${where} does not exist: ${MIGRATE_ADVICE}`
    case 'TableDoesNotExist':
    case 'ColumnNotFound': {
      const missing = failure.table ?? failure.column ?? 'a table'
      return `the database ${where} is not migrated to this version (${missing} is missing): ${MIGRATE_ADVICE}`
    }
    case 'DatabaseAccessDenied':
    case 'AuthenticationFailed':
      return `the database server refused access to ${where}: ${failure.originalMessage ?? 'check DATABASE_URL'}`
    case 'TooManyConnections':
      return `the database server for ${where} has no free connections; try again shortly`
    default:
      return failure.originalMessage ? `database error on ${where}: ${failure.originalMessage}` : null
  }
}

// The tables the admin CLI and the seed touch; if one is missing, the migrations were not applied.
const REQUIRED_TABLES = ['users', 'companies', 'operators', 'accounts', 'transfers', 'calls', 'audit_log']

/**
 * Fails with advice unless the database answers and holds the schema. Run before any command, so the first
 * problem staff see is "start PostgreSQL" or "run the migration", not a half-done operation. It connects with pg
 * directly rather than through Prisma: the driver's own error codes are what prisma/migrate.ts's
 * describeDatabaseError turns into advice, the same advice `npm run db:migrate` gives.
 */
export async function assertDatabaseReady(databaseUrl: string): Promise<void> {
  let connectionString = databaseUrl
  let schema = 'public'
  try {
    const url = new URL(databaseUrl)
    // Prisma's ?schema= means nothing to pg; it names where the tables live.
    schema = url.searchParams.get('schema') ?? schema
    url.searchParams.delete('schema')
    connectionString = url.toString()
  } catch {
    // describeDatabaseError below explains an unparseable URL.
  }
  const client = new pg.Client({ connectionString, connectionTimeoutMillis: CONNECT_TIMEOUT_MS })
  // A dropped connection surfaces through the query that needed it; an unhandled 'error' event would crash instead.
  client.on('error', () => {})
  let missing: string[]
  try {
    await client.connect()
    const result = await client.query<{ missing: string[] | null }>(
      `SELECT array_agg(name ORDER BY name) FILTER (WHERE to_regclass(format('%I.%I', $1::text, name)) IS NULL) AS missing
       FROM unnest($2::text[]) AS name`,
      [schema, REQUIRED_TABLES],
    )
    missing = result.rows[0]?.missing ?? []
  } catch (error) {
    throw new DatabaseNotReadyError(describeDatabaseError(error, databaseUrl))
  } finally {
    await client.end().catch(() => {})
  }
  if (missing.length > 0) {
    const where = describeDatabaseUrl(databaseUrl)
    throw new DatabaseNotReadyError(
      `the database ${where} is not migrated (missing: ${missing.join(', ')}): ${MIGRATE_ADVICE}`,
    )
  }
}

import type { Db } from '../../prisma/client.js'

/**
 * Turns "the database is not there or not ready" into one sentence that says what to do. Operations staff run the
 * admin CLI and the seed script against whatever DATABASE_URL says, so a missing server, database or migration is an
 * expected situation for them, not a bug: they get advice, never a Prisma stack trace.
 */

export class DatabaseNotReadyError extends Error {
  override name = 'DatabaseNotReadyError'
}

const MIGRATE_ADVICE = 'create and migrate it with `npm run db:migrate`'

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
    case 'ColumnNotFound':
      return `the database ${where} is not migrated to this version (${failure.table ?? failure.column ?? 'a table'} is missing): ${MIGRATE_ADVICE}`
    case 'DatabaseAccessDenied':
    case 'AuthenticationFailed':
      return `the database server refused access to ${where}: ${failure.originalMessage ?? 'check the user and password in DATABASE_URL'}`
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
 * problem staff see is "run the migration", not a half-done operation.
 */
export async function assertDatabaseReady(db: Db, databaseUrl: string): Promise<void> {
  let missing: string[]
  try {
    const rows = await db.$queryRaw<{ missing: string[] | null }[]>`
      SELECT array_agg(name ORDER BY name) FILTER (WHERE to_regclass(format('public.%I', name)) IS NULL) AS missing
      FROM unnest(${REQUIRED_TABLES}::text[]) AS name`
    missing = rows[0]?.missing ?? []
  } catch (error) {
    const advice = describeDatabaseFailure(error, databaseUrl)
    if (advice) throw new DatabaseNotReadyError(advice)
    throw error
  }
  if (missing.length > 0) {
    throw new DatabaseNotReadyError(
      `the database ${describeDatabaseUrl(databaseUrl)} is not migrated (missing: ${missing.join(', ')}): ${MIGRATE_ADVICE}`,
    )
  }
}

// Applies prisma/migrations without Prisma's native schema engine, which cannot be downloaded on our machines.
// The bookkeeping is Prisma's own (`_prisma_migrations`, same columns, same checksums, same advisory lock), so
// `prisma migrate deploy` sees the same state wherever the engine exists. Why: docs/decisions/003-migrations-without-schema-engine.md.
import { createHash, randomUUID } from 'node:crypto'
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { readFile, readdir } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { isEntryPoint } from './entry-point.js'

export const DEFAULT_MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url))

/**
 * The key Prisma's schema engine locks on PostgreSQL (`SELECT pg_advisory_lock(72707369)`). Taking the same one
 * means this runner and a real `prisma migrate deploy` can never interleave on one database.
 */
export const PRISMA_MIGRATE_ADVISORY_LOCK_KEY = 72707369

// Advisory locks are per database, so this only waits for another run against the same database. Prisma gives up
// after 10 s; a long data migration in another process deserves more patience than that.
const DEFAULT_LOCK_TIMEOUT_MS = 120_000

// Without a timeout a black-holed host would hang the script instead of explaining itself.
const CONNECT_TIMEOUT_MS = 10_000

// Prisma creates the admin connection against the first of these that exists (`postgres` is missing on some
// managed services); we do the same so a URL that works for Prisma works here.
const MAINTENANCE_DATABASES = ['postgres', 'template1', 'defaultdb'] as const

// Verbatim from Prisma's PostgreSQL flavour, so the table is indistinguishable from one the engine created.
const CREATE_MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`

export type MigrationErrorKind =
  | 'invalid-url'
  | 'provider-mismatch'
  | 'missing-script'
  | 'lock-timeout'
  | 'failed-migrations-found'
  | 'migration-modified'
  | 'migration-failed'

/** A problem with the migrations themselves (not with reaching the server); its message says how to fix it. */
export class MigrationError extends Error {
  override name = 'MigrationError'
  constructor(
    readonly kind: MigrationErrorKind,
    message: string,
  ) {
    super(message)
  }
}

export interface MigrationFolder {
  name: string
  scriptPath: string
}

export interface ApplyMigrationsOptions {
  log?: (line: string) => void
  /** Defaults to prisma/migrations next to this file; tests point it at a scratch folder. */
  migrationsDir?: string
  lockTimeoutMs?: number
}

interface DatabaseTarget {
  /** Connection string for `pg`, without Prisma-only parameters. */
  connectionString: string
  database: string
  /** Prisma's `?schema=` parameter: where the tables and `_prisma_migrations` live. */
  schema: string | undefined
  /** host:port/database, safe to print (no credentials). */
  display: string
}

function parseDatabaseUrl(databaseUrl: string): DatabaseTarget {
  let url: URL
  try {
    url = new URL(databaseUrl)
  } catch {
    throw new MigrationError(
      'invalid-url',
      `DATABASE_URL is not a valid URL. Set it to postgresql://USER[:PASSWORD]@HOST:PORT/DATABASE ` +
        `(e.g. postgresql://postgres@127.0.0.1:5432/perminute).`,
    )
  }
  if (url.protocol !== 'postgresql:' && url.protocol !== 'postgres:') {
    throw new MigrationError(
      'invalid-url',
      `DATABASE_URL must be a postgresql:// URL, not ${url.protocol}//…; set it to ` +
        `postgresql://USER[:PASSWORD]@HOST:PORT/DATABASE.`,
    )
  }
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''))
  if (database === '' || database.includes('/')) {
    throw new MigrationError(
      'invalid-url',
      `DATABASE_URL (${describeTarget(url, database || '?')}) names no database; end it with /DATABASE, ` +
        `e.g. postgresql://postgres@127.0.0.1:5432/perminute.`,
    )
  }
  const schema = url.searchParams.get('schema') ?? undefined
  // pg ignores unknown parameters today, but `schema` means something to Prisma only; keep pg's view unambiguous.
  url.searchParams.delete('schema')
  return { connectionString: url.toString(), database, schema, display: describeTarget(url, database) }
}

function describeTarget(url: URL, database: string): string {
  const host = url.hostname === '' ? 'localhost' : url.hostname
  return `${host}:${url.port === '' ? '5432' : url.port}/${database}`
}

function withDatabase(connectionString: string, database: string): string {
  const url = new URL(connectionString)
  url.pathname = `/${encodeURIComponent(database)}`
  return url.toString()
}

function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`
}

async function connect(connectionString: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString, connectionTimeoutMillis: CONNECT_TIMEOUT_MS })
  // A dropped connection is reported by the query that needed it; an unhandled 'error' event would instead kill
  // the process with a stack trace.
  client.on('error', () => {})
  try {
    await client.connect()
  } catch (err) {
    await client.end().catch(() => {})
    throw err
  }
  return client
}

function sqlState(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code
  return typeof code === 'string' ? code : undefined
}

async function connectMaintenance(target: DatabaseTarget): Promise<pg.Client> {
  let lastError: unknown
  for (const database of MAINTENANCE_DATABASES) {
    try {
      return await connect(withDatabase(target.connectionString, database))
    } catch (err) {
      // 3D000: that maintenance database does not exist here; try the next. Anything else is the real problem.
      if (sqlState(err) !== '3D000') throw err
      lastError = err
    }
  }
  throw lastError
}

/** Creates the database DATABASE_URL names when it is missing. Safe when several processes race to create it. */
export async function ensureDatabase(databaseUrl: string): Promise<{ created: boolean }> {
  const target = parseDatabaseUrl(databaseUrl)
  let created = false
  if (!(MAINTENANCE_DATABASES as readonly string[]).includes(target.database)) {
    const admin = await connectMaintenance(target)
    try {
      const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [target.database])
      if (exists.rowCount === 0) {
        try {
          await admin.query(`CREATE DATABASE ${quoteIdent(target.database)}`)
          created = true
        } catch (err) {
          // 42P04 duplicate_database, or 23505 when the loser of a race trips over pg_database's unique index:
          // either way someone else created it between our check and our CREATE, which is what we wanted.
          const state = sqlState(err)
          if (state !== '42P04' && state !== '23505') throw err
        }
      }
    } finally {
      await admin.end().catch(() => {})
    }
  }
  if (target.schema !== undefined) {
    // Prisma creates the `?schema=` schema along with the database; match it so deploy and we agree.
    const client = await connect(target.connectionString)
    try {
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(target.schema)}`)
    } finally {
      await client.end().catch(() => {})
    }
  }
  return { created }
}

/** Drops the database DATABASE_URL names, closing its connections first. For tests and throwaway databases. */
export async function dropDatabase(databaseUrl: string): Promise<{ dropped: boolean }> {
  const target = parseDatabaseUrl(databaseUrl)
  if ((MAINTENANCE_DATABASES as readonly string[]).includes(target.database) || target.database === 'template0') {
    throw new MigrationError('invalid-url', `refusing to drop the maintenance database ${target.display}`)
  }
  const admin = await connectMaintenance(target)
  try {
    const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [target.database])
    if (exists.rowCount === 0) return { dropped: false }
    // WITH (FORCE) terminates sessions too, but only ones it may signal; terminating first (as a superuser or the
    // owner can) also clears sessions a pooled client left idle, and makes a refusal name the real culprit.
    await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [
      target.database,
    ])
    await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(target.database)} WITH (FORCE)`)
    return { dropped: true }
  } finally {
    await admin.end().catch(() => {})
  }
}

/** The migration folders in the order Prisma applies them (by name, i.e. by timestamp). */
export async function listMigrations(migrationsDir: string = DEFAULT_MIGRATIONS_DIR): Promise<MigrationFolder[]> {
  const entries = await readdir(migrationsDir, { withFileTypes: true })
  const folders = entries
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort()
  return folders.map((name) => {
    const scriptPath = path.join(migrationsDir, name, 'migration.sql')
    if (!existsSync(scriptPath)) {
      // Prisma refuses such a folder too; applying around it would silently reorder history.
      throw new MigrationError(
        'missing-script',
        `The migration folder ${path.join(migrationsDir, name)} has no migration.sql: add the SQL or remove the folder.`,
      )
    }
    return { name, scriptPath }
  })
}

/** SHA-256 of a migration script in lowercase hex, exactly as Prisma stores it in `_prisma_migrations.checksum`. */
export function migrationChecksum(script: string | Buffer): string {
  return createHash('sha256').update(script).digest('hex')
}

/**
 * Whether a script matches a recorded checksum, with Prisma's tolerances: a checkout with other line endings still
 * matches (git may convert them), and so do rows written by old engines that dropped the hex digits' leading zeros.
 */
export function scriptMatchesChecksum(script: string, checksum: string): boolean {
  const variants = [script, script.replaceAll('\r\n', '\n'), script.replaceAll('\n', '\r\n')]
  return variants.some((variant) => {
    const digest = createHash('sha256').update(variant, 'utf8').digest()
    const rendered =
      checksum.length !== 0 && checksum.length !== 64
        ? Array.from(digest, (byte) => byte.toString(16)).join('')
        : digest.toString('hex')
    return rendered === checksum
  })
}

function checkLockfileProvider(migrationsDir: string): void {
  const lockfile = path.join(migrationsDir, 'migration_lock.toml')
  if (!existsSync(lockfile)) return
  const provider = /^\s*provider\s*=\s*"([^"]*)"/m.exec(readFileSync(lockfile, 'utf8'))?.[1]
  if (provider !== undefined && provider !== 'postgresql') {
    throw new MigrationError(
      'provider-mismatch',
      `${lockfile} says these migrations were written for "${provider}", but DATABASE_URL is PostgreSQL. ` +
        `Point DATABASE_URL at a ${provider} database or start a new migration history for PostgreSQL.`,
    )
  }
}

interface MigrationRow {
  id: string
  checksum: string
  finished_at: Date | null
  migration_name: string
  logs: string | null
  rolled_back_at: Date | null
  started_at: Date
  applied_steps_count: number
}

async function acquireMigrationLock(
  client: pg.Client,
  target: DatabaseTarget,
  timeoutMs: number,
  log: (line: string) => void,
): Promise<void> {
  const tried = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [
    PRISMA_MIGRATE_ADVISORY_LOCK_KEY,
  ])
  if (tried.rows[0]?.locked === true) return
  log(`waiting for another migration run on ${target.display} to finish…`)
  try {
    // lock_timeout bounds advisory-lock waits too; reset so it does not also bound the migrations' own locks.
    await client.query(`SET lock_timeout = ${Math.max(1, Math.floor(timeoutMs))}`)
    await client.query('SELECT pg_advisory_lock($1)', [PRISMA_MIGRATE_ADVISORY_LOCK_KEY])
  } catch (err) {
    if (sqlState(err) === '55P03') {
      throw new MigrationError(
        'lock-timeout',
        `Another process has held the migration lock on ${target.display} for over ${Math.round(timeoutMs / 1000)} s ` +
          `(pg_advisory_lock(${PRISMA_MIGRATE_ADVISORY_LOCK_KEY}), the one prisma migrate uses). Let it finish, or find it ` +
          `with: SELECT pid, application_name, state, query FROM pg_stat_activity WHERE pid IN ` +
          `(SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objid = ${PRISMA_MIGRATE_ADVISORY_LOCK_KEY}).`,
      )
    }
    throw err
  } finally {
    await client.query('RESET lock_timeout').catch(() => {})
  }
}

function describeFailedMigrations(failed: MigrationRow[], target: DatabaseTarget): string {
  const details = failed.map((row) => {
    const logs = row.logs?.trim()
    return `The \`${row.migration_name}\` migration started at ${row.started_at.toISOString()} failed${logs ? ` with the following logs:\n${logs}` : '.'}`
  })
  const names = failed.map((row) => `'${row.migration_name.replaceAll("'", "''")}'`).join(', ')
  return (
    `migrate found failed migrations in ${target.display}, new migrations will not be applied.\n` +
    `${details.join('\n')}\n` +
    `This runner applies each migration in one transaction, so a failure it recorded left nothing behind (if ` +
    `another tool recorded it, check what it left first). Fix the migration.sql, then mark ` +
    `the failed attempt as rolled back (what \`prisma migrate resolve --rolled-back\` does) and run the migrations ` +
    `again:\n  UPDATE "_prisma_migrations" SET rolled_back_at = now() WHERE migration_name IN (${names}) ` +
    `AND finished_at IS NULL AND rolled_back_at IS NULL;`
  )
}

/** Where in the script PostgreSQL's 1-based character position points, with the offending line. */
function locateErrorPosition(script: string, position: string | undefined): string {
  const offset = position === undefined ? Number.NaN : Number.parseInt(position, 10) - 1
  if (!Number.isInteger(offset) || offset < 0 || offset > script.length) return ''
  const before = script.slice(0, offset)
  const lineNumber = before.split('\n').length
  const line = script.split('\n')[lineNumber - 1] ?? ''
  return `\n\nPosition: line ${lineNumber}:\n${String(lineNumber).padStart(4)} | ${line.trimEnd()}`
}

// The shape of Prisma's P3018 message, so logs read the same whichever tool wrote them.
function formatScriptError(name: string, script: string, e: pg.DatabaseError): string {
  const code = e.code ?? 'none'
  const extra = [e.detail && `DETAIL: ${e.detail}`, e.hint && `HINT: ${e.hint}`, e.where && `CONTEXT: ${e.where}`]
    .filter(Boolean)
    .join('\n')
  return (
    `Migration name: ${name}\n\nDatabase error code: ${code}\n\nDatabase error:\n` +
    `ERROR: ${e.message}${extra ? `\n${extra}` : ''}${locateErrorPosition(script, e.position)}`
  )
}

/**
 * Applies every migration folder not yet recorded as applied, in name order, each in its own transaction, under
 * Prisma's advisory lock. Refuses (MigrationError) when a failed attempt is recorded or an applied script changed.
 */
export async function applyMigrations(
  databaseUrl: string,
  opts: ApplyMigrationsOptions = {},
): Promise<{ applied: string[] }> {
  const log = opts.log ?? (() => {})
  const migrationsDir = opts.migrationsDir ?? DEFAULT_MIGRATIONS_DIR
  const target = parseDatabaseUrl(databaseUrl)
  checkLockfileProvider(migrationsDir)
  const migrations = await listMigrations(migrationsDir)

  const client = await connect(target.connectionString)
  try {
    if (target.schema !== undefined) {
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(target.schema)}`)
      await client.query(`SET search_path TO ${quoteIdent(target.schema)}`)
    }
    await acquireMigrationLock(client, target, opts.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS, log)
    try {
      // Only now, under the lock: another run may have just created the table or applied what we were about to.
      await client.query(CREATE_MIGRATIONS_TABLE)
      const { rows } = await client.query<MigrationRow>(
        `SELECT id, checksum, finished_at, migration_name, logs, rolled_back_at, started_at, applied_steps_count
           FROM "_prisma_migrations" ORDER BY started_at, migration_name`,
      )

      const failed = rows.filter((row) => row.finished_at === null && row.rolled_back_at === null)
      if (failed.length > 0) throw new MigrationError('failed-migrations-found', describeFailedMigrations(failed, target))

      const appliedRows = new Map<string, MigrationRow>()
      for (const row of rows) if (row.rolled_back_at === null) appliedRows.set(row.migration_name, row)

      const scripts = new Map<string, string>()
      const modified: string[] = []
      for (const migration of migrations) {
        const script = await readFile(migration.scriptPath, 'utf8')
        scripts.set(migration.name, script)
        const row = appliedRows.get(migration.name)
        if (row !== undefined && !scriptMatchesChecksum(script, row.checksum)) modified.push(migration.name)
      }
      if (modified.length > 0) {
        const which = modified.map((name) => `The migration \`${name}\` was modified after it was applied.`).join('\n')
        throw new MigrationError(
          'migration-modified',
          `${which}\nIts SQL in ${migrationsDir} no longer matches the checksum recorded in ${target.display}, so the ` +
            `database may not be what the files describe. Restore the applied file (git checkout -- ` +
            `prisma/migrations/${modified[0]}/migration.sql) and put the change in a new migration folder; for a ` +
            `throwaway development database, drop it and migrate again instead.`,
        )
      }

      const onDisk = new Set(migrations.map((migration) => migration.name))
      for (const name of appliedRows.keys()) {
        if (!onDisk.has(name)) log(`warning: ${name} is recorded as applied in ${target.display} but has no folder in ${migrationsDir}`)
      }

      const applied: string[] = []
      for (const migration of migrations) {
        if (appliedRows.has(migration.name)) continue
        const script = scripts.get(migration.name) ?? ''
        await applyOne(client, migration.name, script, target)
        applied.push(migration.name)
        log(`applied ${migration.name}`)
      }
      return { applied }
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [PRISMA_MIGRATE_ADVISORY_LOCK_KEY]).catch(() => {})
    }
  } finally {
    await client.end().catch(() => {})
  }
}

async function applyOne(client: pg.Client, name: string, script: string, target: DatabaseTarget): Promise<void> {
  const id = randomUUID()
  const checksum = migrationChecksum(script)
  const startedAt = new Date()
  // The bookkeeping row commits with the migration or not at all, so a crash mid-way leaves neither behind and the
  // next run simply retries; Prisma's engine can leave a half-applied script, which is why it records before running.
  await client.query('BEGIN')
  try {
    await client.query(
      `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, applied_steps_count)
       VALUES ($1, $2, $3, $4, 0)`,
      [id, checksum, name, startedAt],
    )
    // No parameters: pg then uses the simple query protocol, which runs a multi-statement script as Prisma does.
    await client.query(script)
    await client.query(
      `UPDATE "_prisma_migrations" SET finished_at = clock_timestamp(), applied_steps_count = 1 WHERE id = $1`,
      [id],
    )
    await client.query('COMMIT')
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {})
    // A lost connection or a server shutting down is not the script's fault: report it as such, and record no
    // failed attempt (the server rolled the transaction back, so a plain re-run is the fix).
    if (!(err instanceof pg.DatabaseError) || /^08|^57P0[1-3]$/.test(err.code ?? '')) throw err
    const logs = formatScriptError(name, script, err)
    // Recorded like Prisma's failed step, so `migrate deploy` and later runs here refuse until it is resolved.
    await client
      .query(
        `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, logs, started_at, applied_steps_count)
         VALUES ($1, $2, $3, $4, $5, 0)`,
        [id, checksum, name, logs, startedAt],
      )
      .catch(() => {})
    throw new MigrationError(
      'migration-failed',
      `A migration failed to apply to ${target.display}; it was rolled back and new migrations will not be applied ` +
        `until it is resolved.\n${logs}\n` +
        `Fix prisma/migrations/${name}/migration.sql, then mark this attempt rolled back and run again:\n` +
        `  UPDATE "_prisma_migrations" SET rolled_back_at = now() WHERE migration_name = '${name.replaceAll("'", "''")}' ` +
        `AND finished_at IS NULL AND rolled_back_at IS NULL;`,
    )
  }
}

function errorCodes(err: unknown): string[] {
  const codes: string[] = []
  const visit = (e: unknown, depth: number): void => {
    if (e === null || typeof e !== 'object' || depth > 3) return
    const code = (e as { code?: unknown }).code
    if (typeof code === 'string') codes.push(code)
    // Node reports a refused "localhost" as an AggregateError over the IPv4 and IPv6 attempts.
    const inner = (e as { errors?: unknown }).errors
    if (Array.isArray(inner)) for (const item of inner) visit(item, depth + 1)
    visit((e as { cause?: unknown }).cause, depth + 1)
  }
  visit(err, 0)
  return codes
}

function localStartHint(): string {
  // Debian's layout: /etc/postgresql/<version>/<cluster>. Naming the real cluster saves a lookup.
  try {
    const versions = readdirSync('/etc/postgresql').filter((v) => /^\d+$/.test(v))
    for (const version of versions.sort((a, b) => Number(b) - Number(a))) {
      const clusters = readdirSync(path.join('/etc/postgresql', version))
      const cluster = clusters.includes('main') ? 'main' : clusters[0]
      if (cluster !== undefined) return `pg_ctlcluster ${version} ${cluster} start`
    }
  } catch {
    // Not Debian-style; fall through to the generic hint.
  }
  return 'pg_ctlcluster <version> main start, or service postgresql start'
}

/**
 * One paragraph for a human: what went wrong talking to the database DATABASE_URL names, and how to fix it.
 * Never includes a stack trace or the URL's password. For every script that touches the database.
 */
export function describeDatabaseError(err: unknown, databaseUrl: string): string {
  if (err instanceof MigrationError) return err.message
  let where = 'the database'
  let host = ''
  let user = 'postgres'
  let database = ''
  try {
    const url = new URL(databaseUrl)
    database = decodeURIComponent(url.pathname.replace(/^\//, ''))
    where = describeTarget(url, database)
    host = url.hostname === '' ? 'localhost' : url.hostname
    user = decodeURIComponent(url.username) || user
  } catch {
    return (
      `DATABASE_URL is not a valid URL. Set it to postgresql://USER[:PASSWORD]@HOST:PORT/DATABASE ` +
      `(e.g. postgresql://postgres@127.0.0.1:5432/perminute).`
    )
  }
  const hostPort = where.slice(0, where.lastIndexOf('/'))
  const codes = errorCodes(err)
  const message = err instanceof Error ? err.message : String(err)
  const isLocal = ['localhost', '127.0.0.1', '::1', '[::1]'].includes(host)

  if (codes.includes('ECONNREFUSED')) {
    const start = isLocal ? `start it (${localStartHint()})` : 'start it or check the host and port'
    return `PostgreSQL is not reachable at ${hostPort} (connection refused): ${start}, or set DATABASE_URL to a running server.`
  }
  if (codes.includes('ENOTFOUND') || codes.includes('EAI_AGAIN')) {
    return `PostgreSQL's host "${host}" does not resolve (from DATABASE_URL): fix the host name in DATABASE_URL, e.g. 127.0.0.1 for the local server.`
  }
  if (
    codes.some((c) => ['ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH'].includes(c)) ||
    /connection timeout|timeout exceeded when trying to connect/i.test(message)
  ) {
    return `PostgreSQL at ${hostPort} did not answer in time: check that the server runs and that nothing (firewall, VPN) blocks the port, or set DATABASE_URL to a reachable server.`
  }
  if (codes.includes('28P01') || /password must be a string|password authentication failed/i.test(message)) {
    return `PostgreSQL at ${hostPort} refused the credentials for user "${user}": put the right user and password in DATABASE_URL (postgresql://USER:PASSWORD@HOST:PORT/DATABASE); the local server trusts user postgres without a password.`
  }
  if (codes.includes('28000')) {
    return `PostgreSQL at ${hostPort} does not let user "${user}" in (${message}): use a user the server's pg_hba.conf allows in DATABASE_URL, or add a pg_hba.conf rule for it.`
  }
  if (codes.includes('3D000')) {
    return `The database "${database}" does not exist at ${hostPort}: create and migrate it with npm run db:migrate (tsx prisma/migrate.ts), or fix the database name in DATABASE_URL.`
  }
  if (codes.includes('42501')) {
    return `PostgreSQL user "${user}" lacks a privilege this step needs on ${where} (${message}): create the database yourself, grant the user CREATEDB or ownership, or use a more privileged user in DATABASE_URL.`
  }
  if (codes.includes('53300')) {
    return `PostgreSQL at ${hostPort} has no free connections (too many clients): stop idle clients or raise max_connections, then try again.`
  }
  if (codes.includes('57P03')) {
    return `PostgreSQL at ${hostPort} is starting up or shutting down: wait a few seconds and try again.`
  }
  if (/does not support SSL/i.test(message)) {
    return `PostgreSQL at ${hostPort} does not accept SSL but DATABASE_URL asks for it: remove sslmode from DATABASE_URL or set sslmode=disable.`
  }
  if (/Connection terminated|ECONNRESET|EPIPE/i.test(message) || codes.some((c) => ['ECONNRESET', 'EPIPE'].includes(c))) {
    return `The connection to PostgreSQL at ${hostPort} broke mid-way (${message}): the server may have restarted; check its log and try again. Each migration is one transaction, so none is half-applied.`
  }
  const state = codes.find((c) => /^[0-9A-Z]{5}$/.test(c))
  return `PostgreSQL at ${where} answered with an error${state ? ` (SQLSTATE ${state})` : ''}: ${message.split('\n')[0]}. Check DATABASE_URL and the server's log.`
}

async function main(): Promise<number> {
  let databaseUrl: string | undefined
  try {
    // config/env.ts is the one reader of the environment (docs/decisions/001) and owns DATABASE_URL's default.
    // Imported here, not at the top, so the library half of this file depends on nothing in the project.
    const { loadConfig } = await import('../config/env.js')
    databaseUrl = loadConfig().DATABASE_URL
    const target = parseDatabaseUrl(databaseUrl)
    const { created } = await ensureDatabase(databaseUrl)
    if (created) console.log(`created database ${target.display}`)
    const { applied } = await applyMigrations(databaseUrl, { log: (line) => console.log(line) })
    if (applied.length === 0) console.log(`database is up to date (${target.display})`)
    return 0
  } catch (err) {
    // Before DATABASE_URL is known the failure is the configuration's, and its message already says what to fix.
    const message =
      databaseUrl === undefined ? (err instanceof Error ? err.message : String(err)) : describeDatabaseError(err, databaseUrl)
    console.error(message)
    return 1
  }
}


if (isEntryPoint(import.meta.url)) {
  process.exitCode = await main()
}

// Proves that the hand-written SQL in prisma/migrations builds exactly what prisma/schema.prisma describes, since
// no schema engine is here to generate or check them (docs/decisions/003-migrations-without-schema-engine.md), and
// that applyMigrations keeps Prisma-compatible books. The expected side is Prisma's own reading of the schema (its
// DMMF, from the WebAssembly build the CLI ships); the actual side is pg_catalog of a freshly migrated database.
import { createHash, randomBytes } from 'node:crypto'
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  DEFAULT_MIGRATIONS_DIR,
  applyMigrations,
  describeDatabaseError,
  dropDatabase,
  ensureDatabase,
  listMigrations,
} from '../../prisma/migrate.js'

const SERVER_URL = process.env.TEST_PG_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres'
const SCHEMA_PATH = fileURLToPath(new URL('../../prisma/schema.prisma', import.meta.url))
const SCHEMA_TEXT = readFileSync(SCHEMA_PATH, 'utf8')

/** A URL for a new, uniquely named database on the test server; unique so parallel runs never collide. */
function freshDatabaseUrl(purpose: string): string {
  const url = new URL(SERVER_URL)
  url.pathname = `/perminute_test_${purpose}_${process.pid}_${randomBytes(4).toString('hex')}`
  return url.toString()
}

// ---------------------------------------------------------------------------------------------------------------
// Prisma's DMMF without native engines. @prisma/prisma-schema-wasm is not a dependency, but the CLI bundles the same
// module (prisma/build/prisma_schema_build_bg.wasm) and calls its get_dmmf for `prisma generate`. We instantiate it
// with the four wasm-bindgen imports it declares; using the CLI's copy means the DMMF always comes from the very
// Prisma version that generates our client.
// ---------------------------------------------------------------------------------------------------------------

interface DmmfField {
  name: string
  dbName?: string | null
  kind: 'scalar' | 'object' | 'enum' | 'unsupported'
  isList: boolean
  isRequired: boolean
  isId: boolean
  hasDefaultValue: boolean
  type: string
  nativeType?: [string, string[]] | null
  default?: unknown
  relationName?: string
  relationFromFields?: string[]
  relationToFields?: string[]
  relationOnDelete?: string
  relationOnUpdate?: string
}

interface DmmfModel {
  name: string
  dbName: string | null
  schema: string | null
  fields: DmmfField[]
  primaryKey: { name: string | null; fields: string[] } | null
}

interface DmmfIndex {
  model: string
  type: 'id' | 'unique' | 'normal' | 'fulltext'
  dbName?: string
  algorithm?: string
  fields: Array<{ name: string; sortOrder?: 'asc' | 'desc' }>
}

interface DmmfEnum {
  name: string
  dbName: string | null
  values: Array<{ name: string; dbName: string | null }>
}

interface Datamodel {
  models: DmmfModel[]
  enums: DmmfEnum[]
  indexes: DmmfIndex[]
}

interface SchemaWasmExports {
  memory: WebAssembly.Memory
  __wbindgen_externrefs: WebAssembly.Table
  __wbindgen_start: () => void
  __wbindgen_malloc: (size: number, align: number) => number
  __wbindgen_free: (ptr: number, size: number, align: number) => void
  __externref_table_dealloc: (index: number) => void
  get_dmmf: (ptr: number, len: number) => [number, number, number, number]
}

let schemaWasm: SchemaWasmExports | undefined
// Rust's panic hook hands its message over just before the module traps; the trap itself only says "unreachable".
let lastPanicMessage = ''

function loadSchemaWasm(): SchemaWasmExports {
  if (schemaWasm) return schemaWasm
  const require = createRequire(import.meta.url)
  const wasmPath = path.join(path.dirname(require.resolve('prisma/package.json')), 'build', 'prisma_schema_build_bg.wasm')
  const module = new WebAssembly.Module(readFileSync(wasmPath))
  const decoder = new TextDecoder('utf-8', { fatal: true })
  // Assigned once the instance exists; the glue closures read it lazily.
  // eslint-disable-next-line prefer-const
  let exports: SchemaWasmExports | undefined
  const text = (ptr: number, len: number): string =>
    decoder.decode(new Uint8Array(exports!.memory.buffer, ptr >>> 0, len))
  const glue: Record<string, (...args: never[]) => unknown> = {}
  for (const { module: from, name } of WebAssembly.Module.imports(module)) {
    // wasm-bindgen suffixes each import with a hash of its signature; the stem says what it must do.
    if (from === '__wbindgen_placeholder__' && name.startsWith('__wbg_Error_')) {
      glue[name] = (ptr: number, len: number) => new Error(text(ptr, len))
    } else if (from === '__wbindgen_placeholder__' && name.startsWith('__wbg___wbindgen_throw_')) {
      glue[name] = (ptr: number, len: number) => {
        throw new Error(text(ptr, len))
      }
    } else if (from === '__wbindgen_placeholder__' && name.startsWith('__wbg_set_message_')) {
      glue[name] = (ptr: number, len: number) => {
        lastPanicMessage = text(ptr, len)
      }
    } else if (from === '__wbindgen_placeholder__' && name === '__wbindgen_init_externref_table') {
      glue[name] = () => {
        const table = exports!.__wbindgen_externrefs
        const offset = table.grow(4)
        table.set(0, undefined)
        table.set(offset, undefined)
        table.set(offset + 1, null)
        table.set(offset + 2, true)
        table.set(offset + 3, false)
      }
    } else {
      throw new Error(
        `${wasmPath} imports ${from}.${name}, which this test's loader does not provide: the Prisma CLI's ` +
          `schema module changed shape. Update loadSchemaWasm() in this file, or add @prisma/prisma-schema-wasm ` +
          `(same version as prisma) and call its get_dmmf instead.`,
      )
    }
  }
  const instance = new WebAssembly.Instance(module, { __wbindgen_placeholder__: glue })
  exports = instance.exports as unknown as SchemaWasmExports
  exports.__wbindgen_start()
  schemaWasm = exports
  return exports
}

/** Prisma's parsed and validated reading of a schema: what `prisma generate` hands to generators. */
function getDatamodel(schemaText: string): Datamodel {
  const wasm = loadSchemaWasm()
  const input = new TextEncoder().encode(JSON.stringify({ prismaSchema: schemaText, noColor: true }))
  const ptr = wasm.__wbindgen_malloc(input.length, 1) >>> 0
  new Uint8Array(wasm.memory.buffer, ptr, input.length).set(input)
  let result: [number, number, number, number]
  try {
    result = wasm.get_dmmf(ptr, input.length)
  } catch (err) {
    // A trapped instance is unusable; the next call starts from a fresh one.
    schemaWasm = undefined
    if (err instanceof WebAssembly.RuntimeError) throw new Error(`Prisma's schema module panicked: ${lastPanicMessage}`)
    throw err
  }
  const [outPtr, outLen, errorRef, isError] = result
  if (isError) {
    const error = wasm.__wbindgen_externrefs.get(errorRef) as Error
    wasm.__externref_table_dealloc(errorRef)
    let detail = error.message
    try {
      detail = (JSON.parse(error.message) as { message?: string }).message ?? detail
    } catch {
      // Not Prisma's JSON error envelope; show it as it is.
    }
    throw new Error(`Prisma rejected the schema:\n${detail}`)
  }
  try {
    const out = new TextDecoder().decode(new Uint8Array(wasm.memory.buffer, outPtr >>> 0, outLen))
    return (JSON.parse(out) as { datamodel: Datamodel }).datamodel
  } finally {
    wasm.__wbindgen_free(outPtr, outLen, 1)
  }
}

// ---------------------------------------------------------------------------------------------------------------
// What the database holds, from pg_catalog.
// ---------------------------------------------------------------------------------------------------------------

interface DbColumn {
  type: string
  nullable: boolean
  default: string | null
}

interface DbIndex {
  name: string
  table: string
  unique: boolean
  primary: boolean
  method: string
  /** Column names, with " DESC" where descending; null entries are expressions. */
  columns: Array<string | null>
  predicate: string | null
}

interface DbForeignKey {
  name: string
  table: string
  columns: string[]
  referencedTable: string
  referencedColumns: string[]
  onDelete: string
  onUpdate: string
}

interface DbSchema {
  tables: Map<string, Map<string, DbColumn>>
  primaryKeys: Map<string, string[]>
  indexes: DbIndex[]
  foreignKeys: DbForeignKey[]
  enums: Map<string, string[]>
}

// Tables are keyed "schema.table" so a table in the wrong PostgreSQL schema cannot pass for the right one.
const USER_NAMESPACES = `n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'`

const REFERENTIAL_ACTIONS: Record<string, string> = {
  a: 'NoAction',
  r: 'Restrict',
  c: 'Cascade',
  n: 'SetNull',
  d: 'SetDefault',
}

async function introspect(databaseUrl: string): Promise<DbSchema> {
  const client = new pg.Client({ connectionString: databaseUrl })
  await client.connect()
  try {
    const columns = await client.query<{
      tbl: string
      col: string | null
      type: string | null
      typtype: string | null
      typname: string | null
      elem_typtype: string | null
      elem_typname: string | null
      notnull: boolean | null
      default: string | null
    }>(`
      SELECT n.nspname || '.' || c.relname AS tbl, a.attname AS col, format_type(a.atttypid, a.atttypmod) AS type,
             t.typtype, t.typname, et.typtype AS elem_typtype, et.typname AS elem_typname,
             a.attnotnull AS notnull, pg_get_expr(d.adbin, d.adrelid) AS default
        FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
        LEFT JOIN pg_type t ON t.oid = a.atttypid
        LEFT JOIN pg_type et ON et.oid = t.typelem AND t.typcategory = 'A'
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
       WHERE c.relkind IN ('r', 'p') AND ${USER_NAMESPACES}
       ORDER BY 1, a.attnum`)
    const tables = new Map<string, Map<string, DbColumn>>()
    for (const row of columns.rows) {
      const table = tables.get(row.tbl) ?? new Map<string, DbColumn>()
      tables.set(row.tbl, table)
      if (row.col === null) continue
      // Enums by name rather than format_type's rendering, which quotes or not depending on the name's case.
      const type =
        row.typtype === 'e'
          ? `enum ${row.typname}`
          : row.elem_typtype === 'e'
            ? `enum ${row.elem_typname}[]`
            : (row.type ?? '?')
      table.set(row.col, { type, nullable: row.notnull !== true, default: row.default })
    }

    const indexes = await client.query<{
      name: string
      tbl: string
      unique: boolean
      primary: boolean
      method: string
      columns: Array<string | null>
      predicate: string | null
    }>(`
      SELECT ic.relname AS name, n.nspname || '.' || tc.relname AS tbl, i.indisunique AS unique,
             i.indisprimary AS primary, am.amname AS method, pg_get_expr(i.indpred, i.indrelid) AS predicate,
             ARRAY(
               SELECT CASE WHEN k.attnum = 0 THEN NULL
                           ELSE a.attname || CASE WHEN (i.indoption[k.ord - 1] & 1) = 1 THEN ' DESC' ELSE '' END END
                 FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
                 LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
                WHERE k.ord <= i.indnkeyatts
                ORDER BY k.ord) AS columns
        FROM pg_index i
        JOIN pg_class ic ON ic.oid = i.indexrelid
        JOIN pg_class tc ON tc.oid = i.indrelid
        JOIN pg_namespace n ON n.oid = tc.relnamespace
        JOIN pg_am am ON am.oid = ic.relam
       WHERE ${USER_NAMESPACES}`)
    const primaryKeys = new Map<string, string[]>()
    for (const index of indexes.rows) {
      if (index.primary) primaryKeys.set(index.tbl, index.columns.map((c) => c ?? '?'))
    }

    const foreignKeys = await client.query<{
      name: string
      tbl: string
      columns: string[]
      ref_tbl: string
      ref_columns: string[]
      on_delete: string
      on_update: string
    }>(`
      SELECT con.conname AS name, n.nspname || '.' || c.relname AS tbl,
             ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY AS k(attnum, ord)
                     JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum ORDER BY k.ord) AS columns,
             rn.nspname || '.' || rc.relname AS ref_tbl,
             ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY AS k(attnum, ord)
                     JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum ORDER BY k.ord) AS ref_columns,
             con.confdeltype AS on_delete, con.confupdtype AS on_update
        FROM pg_constraint con
        JOIN pg_class c ON c.oid = con.conrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        JOIN pg_class rc ON rc.oid = con.confrelid
        JOIN pg_namespace rn ON rn.oid = rc.relnamespace
       WHERE con.contype = 'f' AND ${USER_NAMESPACES}`)

    const enums = await client.query<{ name: string; labels: string[] }>(`
      SELECT n.nspname || '.' || t.typname AS name, array_agg(e.enumlabel::text ORDER BY e.enumsortorder) AS labels
        FROM pg_type t
        JOIN pg_enum e ON e.enumtypid = t.oid
        JOIN pg_namespace n ON n.oid = t.typnamespace
       WHERE ${USER_NAMESPACES}
       GROUP BY 1`)

    return {
      tables,
      primaryKeys,
      indexes: indexes.rows.map((row) => ({
        name: row.name,
        table: row.tbl,
        unique: row.unique,
        primary: row.primary,
        method: row.method,
        columns: row.columns,
        predicate: row.predicate,
      })),
      foreignKeys: foreignKeys.rows.map((row) => ({
        name: row.name,
        table: row.tbl,
        columns: row.columns,
        referencedTable: row.ref_tbl,
        referencedColumns: row.ref_columns,
        onDelete: REFERENTIAL_ACTIONS[row.on_delete] ?? row.on_delete,
        onUpdate: REFERENTIAL_ACTIONS[row.on_update] ?? row.on_update,
      })),
      enums: new Map(enums.rows.map((row) => [row.name, row.labels])),
    }
  } finally {
    await client.end()
  }
}

// ---------------------------------------------------------------------------------------------------------------
// What Prisma would have created for the schema, and the comparison.
// ---------------------------------------------------------------------------------------------------------------

// PostgreSQL's NAMEDATALEN - 1; Prisma truncates its default constraint names to fit.
const MAX_IDENTIFIER_BYTES = 63

/** Prisma's default index name (psl ConstraintNames): table_col1_col2 truncated to fit, then the suffix. */
function defaultIndexName(table: string, columns: string[], suffix: '_key' | '_idx'): string {
  let joined = `${table}_${columns.join('_')}`
  const limit = MAX_IDENTIFIER_BYTES - suffix.length
  if (Buffer.byteLength(joined) >= limit) {
    let bytes = Buffer.from(joined).subarray(0, limit)
    // Never cut a UTF-8 sequence in half (Prisma's floor_char_boundary).
    while (bytes.length > 0 && ((bytes[bytes.length] ?? 0) & 0xc0) === 0x80) bytes = bytes.subarray(0, bytes.length - 1)
    joined = bytes.toString()
  }
  return `${joined}${suffix}`
}

/** The column type Prisma's PostgreSQL connector creates for a scalar, in format_type()'s spelling. */
function expectedScalarType(field: DmmfField): string | undefined {
  const native = field.nativeType
  if (native) {
    const [name, args] = native
    const precision = args.length > 0 ? `(${args.join(',')})` : ''
    const byNative: Record<string, string> = {
      Text: 'text',
      Uuid: 'uuid',
      VarChar: `character varying${precision}`,
      Char: `character${precision}`,
      Citext: 'citext',
      Xml: 'xml',
      Inet: 'inet',
      Bit: `bit${precision}`,
      VarBit: `bit varying${precision}`,
      SmallInt: 'smallint',
      Integer: 'integer',
      BigInt: 'bigint',
      Oid: 'oid',
      Real: 'real',
      DoublePrecision: 'double precision',
      Decimal: `numeric${precision}`,
      Money: 'money',
      Boolean: 'boolean',
      Date: 'date',
      Timestamp: `timestamp${precision} without time zone`,
      Timestamptz: `timestamp${precision} with time zone`,
      Time: `time${precision} without time zone`,
      Timetz: `time${precision} with time zone`,
      Json: 'json',
      JsonB: 'jsonb',
      ByteA: 'bytea',
    }
    return byNative[name]
  }
  const byScalar: Record<string, string> = {
    String: 'text',
    Int: 'integer',
    BigInt: 'bigint',
    Float: 'double precision',
    Decimal: 'numeric(65,30)',
    Boolean: 'boolean',
    DateTime: 'timestamp(3) without time zone',
    Json: 'jsonb',
    Bytes: 'bytea',
  }
  return byScalar[field.type]
}

function quoteLiteral(value: string): string {
  return `'${value.replaceAll("'", "''")}'`
}

/** How format_type/pg_get_expr print a type name inside an expression: quoted unless plain lower case. */
function typeNameInExpression(name: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(name) ? name : `"${name.replaceAll('"', '""')}"`
}

type DefaultExpectation =
  | { kind: 'none' }
  | { kind: 'exact'; expression: string }
  | { kind: 'pattern'; pattern: RegExp; description: string }
  | { kind: 'present' }

/**
 * The column default Prisma puts in the database for a field's @default, in pg_get_expr()'s spelling. Client-side
 * generators (uuid(), cuid(), nanoid(), ulid()) put none; literals PostgreSQL may re-spell (floats, decimals,
 * dates, dbgenerated expressions, non-empty lists) are only required to be present.
 */
function expectedDefault(field: DmmfField, columnType: string, enumDbName: string | undefined): DefaultExpectation {
  if (!field.hasDefaultValue) return { kind: 'none' }
  const value = field.default
  if (value !== null && typeof value === 'object' && !Array.isArray(value) && 'name' in value) {
    const fn = (value as { name: string }).name
    if (fn === 'now') return { kind: 'exact', expression: 'CURRENT_TIMESTAMP' }
    if (fn === 'autoincrement') {
      return { kind: 'pattern', pattern: /^nextval\('[^']+'::regclass\)$/, description: "nextval('…_seq'::regclass)" }
    }
    if (['uuid', 'cuid', 'nanoid', 'ulid'].includes(fn)) return { kind: 'none' }
    return { kind: 'present' }
  }
  if (Array.isArray(value)) {
    return value.length === 0 ? { kind: 'exact', expression: `ARRAY[]::${columnType}` } : { kind: 'present' }
  }
  if (enumDbName !== undefined && typeof value === 'string') {
    return { kind: 'exact', expression: `${quoteLiteral(value)}::${typeNameInExpression(enumDbName)}` }
  }
  if (typeof value === 'boolean') return { kind: 'exact', expression: String(value) }
  if ((field.type === 'Int' || field.type === 'BigInt') && (typeof value === 'number' || typeof value === 'string')) {
    const n = String(value)
    return { kind: 'exact', expression: n.startsWith('-') ? `${quoteLiteral(n)}::${columnType}` : n }
  }
  if (typeof value === 'string' && (field.type === 'String' || field.type === 'Json')) {
    return { kind: 'exact', expression: `${quoteLiteral(value)}::${columnType}` }
  }
  return { kind: 'present' }
}

function describeDefault(expectation: DefaultExpectation): string {
  switch (expectation.kind) {
    case 'none':
      return 'no default'
    case 'exact':
      return `DEFAULT ${expectation.expression}`
    case 'pattern':
      return `DEFAULT ${expectation.description}`
    case 'present':
      return 'a default'
  }
}

function defaultMatches(expectation: DefaultExpectation, actual: string | null): boolean {
  switch (expectation.kind) {
    case 'none':
      return actual === null
    case 'exact':
      return actual === expectation.expression
    case 'pattern':
      return actual !== null && expectation.pattern.test(actual)
    case 'present':
      return actual !== null
  }
}

function formatIndex(index: { name: string; unique: boolean; method: string; columns: Array<string | null> }): string {
  const columns = index.columns.map((c) => c ?? '(expression)').join(', ')
  return `${index.unique ? 'UNIQUE ' : ''}INDEX ${index.name} USING ${index.method} (${columns})`
}

function formatForeignKey(fk: Omit<DbForeignKey, 'name'>): string {
  return (
    `FOREIGN KEY (${fk.columns.join(', ')}) REFERENCES ${fk.referencedTable} (${fk.referencedColumns.join(', ')}) ` +
    `ON DELETE ${fk.onDelete} ON UPDATE ${fk.onUpdate}`
  )
}

/**
 * Every way the database differs from what Prisma would create for the datamodel, one readable line each; empty
 * when they match. Extra CHECK constraints, triggers, functions and partial or expression indexes are allowed:
 * Prisma's schema language cannot state them, so they live only in migrations.
 */
function compareSchema(datamodel: Datamodel, db: DbSchema): string[] {
  const problems: string[] = []
  const modelsByName = new Map(datamodel.models.map((m) => [m.name, m]))
  const enumsByName = new Map(datamodel.enums.map((e) => [e.name, e]))
  const tableOf = (model: DmmfModel): string => `${model.schema ?? 'public'}.${model.dbName ?? model.name}`
  const columnOf = (model: DmmfModel, fieldName: string): string => {
    const field = model.fields.find((f) => f.name === fieldName)
    return field?.dbName ?? fieldName
  }
  const show = (table: string): string => table.replace(/^public\./, '')

  // Enums: same types, same values in the same order (order decides comparisons and sorting in SQL).
  const expectedEnums = new Map<string, string[]>()
  for (const e of datamodel.enums) {
    expectedEnums.set(`public.${e.dbName ?? e.name}`, e.values.map((v) => v.dbName ?? v.name))
  }
  for (const [name, values] of expectedEnums) {
    const actual = db.enums.get(name)
    if (!actual) problems.push(`enum ${show(name)} is missing`)
    else if (actual.join(',') !== values.join(',')) {
      problems.push(`enum ${show(name)} has values (${actual.join(', ')}), schema says (${values.join(', ')})`)
    }
  }
  for (const name of db.enums.keys()) {
    if (!expectedEnums.has(name)) problems.push(`enum ${show(name)} exists in the database but not in schema.prisma`)
  }

  // Tables and columns.
  const expectedTables = new Set<string>()
  for (const model of datamodel.models) {
    const table = tableOf(model)
    expectedTables.add(table)
    const columns = db.tables.get(table)
    if (!columns) {
      problems.push(`table ${show(table)} (model ${model.name}) is missing`)
      continue
    }
    const expectedColumns = new Set<string>()
    for (const field of model.fields) {
      if (field.kind === 'object') {
        const other = modelsByName.get(field.type)
        const otherSide = other?.fields.find((f) => f.relationName === field.relationName && f !== field)
        if (field.isList && otherSide?.isList) {
          problems.push(
            `relation ${field.relationName} is an implicit many-to-many; this test does not model its join table ` +
              `(_${field.relationName}) yet: extend compareSchema() or make the relation explicit`,
          )
        }
        continue
      }
      const column = field.dbName ?? field.name
      expectedColumns.add(column)
      const actual = columns.get(column)
      const where = `${show(table)}.${column} (${model.name}.${field.name})`
      if (!actual) {
        problems.push(`column ${where} is missing`)
        continue
      }
      const enumDef = field.kind === 'enum' ? enumsByName.get(field.type) : undefined
      let type: string | undefined
      if (field.kind === 'enum') type = `enum ${enumDef?.dbName ?? field.type}`
      else if (field.kind === 'scalar') type = expectedScalarType(field)
      if (field.kind === 'scalar' && type === undefined) {
        problems.push(
          `column ${where}: this test has no PostgreSQL mapping for ${field.type}` +
            `${field.nativeType ? ` @db.${field.nativeType[0]}` : ''}; add one to expectedScalarType()`,
        )
      }
      if (type !== undefined) {
        const fullType = field.isList ? `${type}[]` : type
        if (actual.type !== fullType) problems.push(`column ${where} has type ${actual.type}, schema says ${fullType}`)
      }
      // Prisma creates list columns nullable even when the field is required.
      const nullable = !field.isRequired || field.isList
      if (actual.nullable !== nullable) {
        problems.push(`column ${where} is ${actual.nullable ? 'NULL' : 'NOT NULL'}, schema says ${nullable ? 'NULL' : 'NOT NULL'}`)
      }
      if (field.kind !== 'unsupported') {
        const columnType = type === undefined ? '' : field.isList ? `${type}[]` : type
        const expectation = expectedDefault(field, columnType, enumDef ? (enumDef.dbName ?? enumDef.name) : undefined)
        if (!defaultMatches(expectation, actual.default)) {
          problems.push(
            `column ${where} has ${actual.default === null ? 'no default' : `DEFAULT ${actual.default}`}, ` +
              `schema says ${describeDefault(expectation)}`,
          )
        }
      }
    }
    for (const column of columns.keys()) {
      if (!expectedColumns.has(column)) {
        problems.push(`column ${show(table)}.${column} exists in the database but not in model ${model.name}`)
      }
    }

    // Primary key.
    const idFields = model.primaryKey?.fields ?? model.fields.filter((f) => f.isId).map((f) => f.name)
    const expectedPk = idFields.map((f) => columnOf(model, f))
    const actualPk = db.primaryKeys.get(table)
    if (expectedPk.length > 0 && (actualPk ?? []).join(',') !== expectedPk.join(',')) {
      problems.push(
        `table ${show(table)} has primary key (${(actualPk ?? []).join(', ') || 'none'}), schema says (${expectedPk.join(', ')})`,
      )
    }
    if (expectedPk.length === 0 && actualPk) problems.push(`table ${show(table)} has a primary key the schema lacks`)
  }
  for (const table of db.tables.keys()) {
    if (!expectedTables.has(table) && table !== 'public._prisma_migrations') {
      problems.push(`table ${show(table)} exists in the database but no model maps to it`)
    }
  }

  // Unique constraints (@unique, @@unique) and indexes (@@index): Prisma creates all of them as indexes.
  const expectedIndexNames = new Set<string>()
  for (const index of datamodel.indexes) {
    if (index.type === 'id') continue
    const model = modelsByName.get(index.model)
    if (!model) continue
    const table = tableOf(model)
    const columns = index.fields.map((f) => columnOf(model, f.name))
    const unique = index.type === 'unique'
    const expected = {
      name: index.dbName ?? defaultIndexName(model.dbName ?? model.name, columns, unique ? '_key' : '_idx'),
      unique,
      method: (index.algorithm ?? 'BTree').toLowerCase(),
      columns: index.fields.map((f, i) => `${columns[i]}${f.sortOrder === 'desc' ? ' DESC' : ''}`),
    }
    expectedIndexNames.add(`${table}/${expected.name}`)
    const actual = db.indexes.find((i) => i.table === table && i.name === expected.name)
    if (!actual) {
      const sameColumns = db.indexes.find(
        (i) => i.table === table && !i.primary && i.columns.join(',') === expected.columns.join(','),
      )
      problems.push(
        `${show(table)}: ${formatIndex(expected)} is missing` +
          (sameColumns ? ` (the database has ${formatIndex(sameColumns)})` : ''),
      )
    } else if (formatIndex(actual) !== formatIndex(expected) || actual.predicate !== null) {
      problems.push(
        `${show(table)}: ${formatIndex(actual)}${actual.predicate ? ` WHERE ${actual.predicate}` : ''}, ` +
          `schema says ${formatIndex(expected)}`,
      )
    }
  }
  for (const index of db.indexes) {
    if (index.primary || expectedIndexNames.has(`${index.table}/${index.name}`)) continue
    if (index.table === 'public._prisma_migrations') continue
    // A plain index Prisma could have declared must be declared, or `prisma migrate dev` would drop it as drift.
    if (index.predicate === null && !index.columns.includes(null)) {
      problems.push(`${show(index.table)}: ${formatIndex(index)} exists in the database but not in schema.prisma`)
    }
  }

  // Foreign keys: one per relation field that holds `fields:`, with Prisma's default actions where none is given.
  const expectedFks: Array<Omit<DbForeignKey, 'name'>> = []
  for (const model of datamodel.models) {
    for (const field of model.fields) {
      if (field.kind !== 'object' || !field.relationFromFields?.length) continue
      const target = modelsByName.get(field.type)
      if (!target) continue
      expectedFks.push({
        table: tableOf(model),
        columns: field.relationFromFields.map((f) => columnOf(model, f)),
        referencedTable: tableOf(target),
        referencedColumns: (field.relationToFields ?? []).map((f) => columnOf(target, f)),
        onDelete: field.relationOnDelete ?? (field.isRequired ? 'Restrict' : 'SetNull'),
        onUpdate: field.relationOnUpdate ?? 'Cascade',
      })
    }
  }
  const actualFks = new Map(db.foreignKeys.map((fk) => [`${fk.table}: ${formatForeignKey(fk)}`, fk]))
  const expectedFkKeys = new Set(expectedFks.map((fk) => `${fk.table}: ${formatForeignKey(fk)}`))
  for (const fk of expectedFks) {
    if (actualFks.has(`${fk.table}: ${formatForeignKey(fk)}`)) continue
    const sameColumns = db.foreignKeys.find((a) => a.table === fk.table && a.columns.join(',') === fk.columns.join(','))
    problems.push(
      `${show(fk.table)}: ${formatForeignKey(fk)} is missing` +
        (sameColumns ? ` (the database has ${formatForeignKey(sameColumns)})` : ''),
    )
  }
  for (const [key, fk] of actualFks) {
    if (!expectedFkKeys.has(key)) problems.push(`${show(fk.table)}: ${fk.name} ${formatForeignKey(fk)} is not in schema.prisma`)
  }

  return problems
}

// ---------------------------------------------------------------------------------------------------------------

describe('prisma/migrations build exactly prisma/schema.prisma', () => {
  const databaseUrl = freshDatabaseUrl('schema')
  const datamodel = getDatamodel(SCHEMA_TEXT)
  let db: DbSchema

  beforeAll(async () => {
    await ensureDatabase(databaseUrl)
    await applyMigrations(databaseUrl)
    db = await introspect(databaseUrl)
  }, 120_000)

  afterAll(async () => {
    await dropDatabase(databaseUrl)
  }, 60_000)

  it('reads the datamodel from Prisma itself', () => {
    expect(datamodel.models.length).toBeGreaterThan(0)
    expect(datamodel.models.map((m) => m.name)).toContain('User')
  })

  it('has every table, column, type, nullability, default, key, index, foreign key and enum, and nothing else', () => {
    expect(compareSchema(datamodel, db)).toEqual([])
  })

  // The comparison is only worth something if it fails when schema and migrations drift apart; each case edits
  // the schema the way a hurried change would and checks that the drift is reported.
  describe('catches drift between schema.prisma and the migrations', () => {
    // Only what the edit adds, so a real drift fails the test above and not all of these too.
    const drifted = (edit: (schema: string) => string): string[] => {
      const edited = edit(SCHEMA_TEXT)
      expect(edited).not.toBe(SCHEMA_TEXT)
      const baseline = new Set(compareSchema(datamodel, db))
      return compareSchema(getDatamodel(edited), db).filter((problem) => !baseline.has(problem))
    }

    it('a field added without a migration', () => {
      const problems = drifted((s) => s.replace(/model User \{\n/, 'model User {\n  nickname String?\n'))
      expect(problems).toEqual(['column users.nickname (User.nickname) is missing'])
    })

    it('a model added without a migration', () => {
      const problems = drifted((s) => `${s}\nmodel Note {\n  id   Int    @id @default(autoincrement())\n  text String\n}\n`)
      expect(problems).toEqual(['table Note (model Note) is missing'])
    })

    it('a changed type, nullability or default', () => {
      expect(drifted((s) => s.replace('shareBps    Int ', 'shareBps    BigInt '))).toEqual([
        'column companies.share_bps (Company.shareBps) has type integer, schema says bigint',
      ])
      expect(drifted((s) => s.replace('memo            String?', 'memo            String'))).toEqual([
        'column transfers.memo (Transfer.memo) is NULL, schema says NOT NULL',
      ])
      expect(drifted((s) => s.replace('@default(offline)', '@default(online)'))).toEqual([
        `column operators.presence (Operator.presence) has DEFAULT 'offline'::"PresenceStatus", schema says DEFAULT 'online'::"PresenceStatus"`,
      ])
    })

    it('a column or table the schema no longer has', () => {
      const problems = drifted((s) => s.replace(/\n\s*memo\s+String\?\n/, '\n'))
      expect(problems).toEqual(['column transfers.memo exists in the database but not in model Transfer'])
      const withoutAuditLog = drifted((s) =>
        s.replace(/\n\s*auditEntries\s+AuditLogEntry\[\]\n/, '\n').replace(/\nmodel AuditLogEntry \{[^}]*\}\n/, '\n'),
      )
      expect(withoutAuditLog).toEqual([
        'table audit_log exists in the database but no model maps to it',
        'audit_log: INDEX audit_log_created_at_idx USING btree (created_at) exists in the database but not in schema.prisma',
        'audit_log: audit_log_actor_id_fkey FOREIGN KEY (actor_id) REFERENCES public.users (id) ON DELETE SetNull ON UPDATE Cascade is not in schema.prisma',
      ])
    })

    it('a new enum value, unique, index or changed relation', () => {
      expect(drifted((s) => s.replace('  busy\n', '  busy\n  away\n'))).toEqual([
        'enum PresenceStatus has values (online, busy, offline), schema says (online, busy, away, offline)',
      ])
      expect(drifted((s) => s.replace('name        String\n', 'name        String   @unique\n'))).toEqual([
        'companies: UNIQUE INDEX companies_name_key USING btree (name) is missing',
      ])
      expect(drifted((s) => s.replace('  @@index([createdAt])\n', '  @@index([createdAt])\n  @@index([action])\n'))).toEqual([
        'audit_log: INDEX audit_log_action_idx USING btree (action) is missing',
      ])
      expect(
        drifted((s) =>
          s.replace('call          Call?   @relation(fields: [callId], references: [id])', 'call          Call?   @relation(fields: [callId], references: [id], onDelete: Cascade)'),
        ),
      ).toEqual([
        'transfers: FOREIGN KEY (call_id) REFERENCES public.calls (id) ON DELETE Cascade ON UPDATE Cascade is missing ' +
          '(the database has FOREIGN KEY (call_id) REFERENCES public.calls (id) ON DELETE SetNull ON UPDATE Cascade)',
        'transfers: transfers_call_id_fkey FOREIGN KEY (call_id) REFERENCES public.calls (id) ON DELETE SetNull ON UPDATE Cascade is not in schema.prisma',
      ])
    })
  })
})

describe('applyMigrations', () => {
  const scratchDirs: string[] = []
  const databases: string[] = []

  const scratchMigrations = (migrations: Record<string, string>): string => {
    const dir = mkdtempSync(path.join(tmpdir(), 'perminute-migrations-'))
    scratchDirs.push(dir)
    cpSync(path.join(DEFAULT_MIGRATIONS_DIR, 'migration_lock.toml'), path.join(dir, 'migration_lock.toml'))
    for (const [name, sql] of Object.entries(migrations)) writeMigration(dir, name, sql)
    return dir
  }
  const writeMigration = (dir: string, name: string, sql: string): void => {
    mkdirSync(path.join(dir, name), { recursive: true })
    writeFileSync(path.join(dir, name, 'migration.sql'), sql)
  }
  const freshDatabase = async (purpose: string): Promise<string> => {
    const url = freshDatabaseUrl(purpose)
    databases.push(url)
    await ensureDatabase(url)
    return url
  }
  const query = async <T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> => {
    const client = new pg.Client({ connectionString: url })
    await client.connect()
    try {
      return (await client.query<T>(sql)).rows
    } finally {
      await client.end()
    }
  }

  afterAll(async () => {
    for (const url of databases) await dropDatabase(url)
    for (const dir of scratchDirs) rmSync(dir, { recursive: true, force: true })
  }, 60_000)

  it('is idempotent and records each migration with its checksum as Prisma does', async () => {
    const url = await freshDatabase('books')
    const migrations = await listMigrations()
    const lines: string[] = []
    const first = await applyMigrations(url, { log: (line) => lines.push(line) })
    expect(first.applied).toEqual(migrations.map((m) => m.name))
    expect(lines).toEqual(migrations.map((m) => `applied ${m.name}`))

    const second = await applyMigrations(url)
    expect(second.applied).toEqual([])

    const rows = await query<{
      migration_name: string
      checksum: string
      finished_at: Date | null
      rolled_back_at: Date | null
      logs: string | null
      applied_steps_count: number
      id: string
    }>(url, 'SELECT * FROM "_prisma_migrations" ORDER BY migration_name')
    expect(rows).toEqual(
      migrations.map((m) =>
        expect.objectContaining({
          migration_name: m.name,
          checksum: createHash('sha256').update(readFileSync(m.scriptPath)).digest('hex'),
          finished_at: expect.any(Date),
          rolled_back_at: null,
          logs: null,
          applied_steps_count: 1,
          id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        }),
      ),
    )

    // The bookkeeping table must be the one Prisma's engine creates, or `prisma migrate deploy` would balk at it.
    const columns = await query<{ column_name: string; data_type: string; is_nullable: string; column_default: string | null }>(
      url,
      `SELECT column_name, format_type(a.atttypid, a.atttypmod) AS data_type, c.is_nullable, c.column_default
         FROM information_schema.columns c
         JOIN pg_attribute a ON a.attrelid = '"_prisma_migrations"'::regclass AND a.attname = c.column_name
        WHERE c.table_name = '_prisma_migrations' ORDER BY c.ordinal_position`,
    )
    expect(columns).toEqual([
      { column_name: 'id', data_type: 'character varying(36)', is_nullable: 'NO', column_default: null },
      { column_name: 'checksum', data_type: 'character varying(64)', is_nullable: 'NO', column_default: null },
      { column_name: 'finished_at', data_type: 'timestamp with time zone', is_nullable: 'YES', column_default: null },
      { column_name: 'migration_name', data_type: 'character varying(255)', is_nullable: 'NO', column_default: null },
      { column_name: 'logs', data_type: 'text', is_nullable: 'YES', column_default: null },
      { column_name: 'rolled_back_at', data_type: 'timestamp with time zone', is_nullable: 'YES', column_default: null },
      { column_name: 'started_at', data_type: 'timestamp with time zone', is_nullable: 'NO', column_default: 'now()' },
      { column_name: 'applied_steps_count', data_type: 'integer', is_nullable: 'NO', column_default: '0' },
    ])
    const pk = await query<{ conname: string }>(
      url,
      `SELECT conname FROM pg_constraint WHERE conrelid = '"_prisma_migrations"'::regclass AND contype = 'p'`,
    )
    expect(pk).toEqual([{ conname: '_prisma_migrations_pkey' }])
  }, 60_000)

  it('lets concurrent runs on one database apply each migration exactly once', async () => {
    const url = await freshDatabase('race')
    const runs = await Promise.all([applyMigrations(url), applyMigrations(url), applyMigrations(url)])
    const names = (await listMigrations()).map((m) => m.name)
    expect(runs.flatMap((r) => r.applied).sort()).toEqual(names)
    const rows = await query<{ n: number }>(url, 'SELECT count(*)::int AS n FROM "_prisma_migrations"')
    expect(rows).toEqual([{ n: names.length }])
  }, 60_000)

  it('creates a missing database once, however many callers race to do it', async () => {
    const url = freshDatabaseUrl('create')
    databases.push(url)
    const results = await Promise.all(Array.from({ length: 4 }, () => ensureDatabase(url)))
    expect(results.filter((r) => r.created)).toHaveLength(1)
    expect(await ensureDatabase(url)).toEqual({ created: false })
  }, 60_000)

  it('refuses a migration edited after it was applied, but not one whose line endings changed', async () => {
    const url = await freshDatabase('edited')
    const dir = scratchMigrations({ '20260101000000_first': 'CREATE TABLE "a" ("id" INTEGER PRIMARY KEY);\n' })
    await applyMigrations(url, { migrationsDir: dir })

    writeMigration(dir, '20260101000000_first', 'CREATE TABLE "a" ("id" INTEGER PRIMARY KEY);\r\n')
    expect((await applyMigrations(url, { migrationsDir: dir })).applied).toEqual([])

    writeMigration(dir, '20260101000000_first', 'CREATE TABLE "a" ("id" BIGINT PRIMARY KEY);\n')
    writeMigration(dir, '20260102000000_second', 'CREATE TABLE "b" ("id" INTEGER PRIMARY KEY);\n')
    await expect(applyMigrations(url, { migrationsDir: dir })).rejects.toThrow(
      'The migration `20260101000000_first` was modified after it was applied.',
    )
    // Refused before anything ran.
    expect(await query(url, `SELECT 1 FROM pg_class WHERE relname = 'b'`)).toEqual([])
  }, 60_000)

  it('rolls a failing migration back, records it, and refuses to go on until it is resolved', async () => {
    const url = await freshDatabase('failed')
    const dir = scratchMigrations({
      '20260101000000_ok': 'CREATE TABLE "a" ("id" INTEGER PRIMARY KEY);\n',
      '20260102000000_broken': 'CREATE TABLE "b" ("id" INTEGER PRIMARY KEY);\nINSERT INTO "a" VALUES (1);\nSELEC 1;\n',
    })
    const failure = await applyMigrations(url, { migrationsDir: dir }).catch((err: unknown) => err)
    expect(failure).toBeInstanceOf(Error)
    const message = (failure as Error).message
    expect(message).toContain('Migration name: 20260102000000_broken')
    expect(message).toContain('Database error code: 42601')
    expect(message).toContain('line 3')
    expect(describeDatabaseError(failure, url)).toBe(message)

    // One transaction per migration: the first stays applied, nothing of the broken one survives.
    expect(await query(url, `SELECT relname FROM pg_class WHERE relname IN ('a', 'b') ORDER BY 1`)).toEqual([{ relname: 'a' }])
    expect(await query(url, 'SELECT count(*)::int AS n FROM "a"')).toEqual([{ n: 0 }])
    const rows = await query<{ migration_name: string; finished_at: Date | null; logs: string | null }>(
      url,
      'SELECT migration_name, finished_at, logs FROM "_prisma_migrations" ORDER BY migration_name',
    )
    expect(rows).toEqual([
      { migration_name: '20260101000000_ok', finished_at: expect.any(Date), logs: null },
      { migration_name: '20260102000000_broken', finished_at: null, logs: expect.stringContaining('syntax error') },
    ])

    writeMigration(dir, '20260102000000_broken', 'CREATE TABLE "b" ("id" INTEGER PRIMARY KEY);\n')
    await expect(applyMigrations(url, { migrationsDir: dir })).rejects.toThrow(
      /migrate found failed migrations.*\n.*`20260102000000_broken` migration started at/,
    )

    // What `prisma migrate resolve --rolled-back` does; the message tells the operator to run this.
    await query(url, `UPDATE "_prisma_migrations" SET rolled_back_at = now() WHERE finished_at IS NULL`)
    expect((await applyMigrations(url, { migrationsDir: dir })).applied).toEqual(['20260102000000_broken'])
  }, 60_000)

  it('explains an unreachable server in one paragraph, without a stack trace', async () => {
    const url = 'postgresql://postgres@127.0.0.1:1/nowhere'
    const err = await applyMigrations(url).catch((e: unknown) => e)
    const message = describeDatabaseError(err, url)
    expect(message).toMatch(/^PostgreSQL is not reachable at 127\.0\.0\.1:1 \(connection refused\): start it \(.+\), or set DATABASE_URL/)
    expect(message).not.toMatch(/\n|\bat .+:\d+:\d+/)
  })
})

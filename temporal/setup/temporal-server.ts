import { ensureGoTool, goToolCacheDir, type EnsureGoToolOptions, type GoTool } from './go-tool.js'

/**
 * Finds or builds the Temporal server and its SQL schema tool, which run the platform's Temporal on PostgreSQL
 * (TEMPORAL_BACKEND=postgres, temporal/setup/temporal-cluster.ts; docs/decisions/072-temporal-on-postgresql.md).
 *
 * Neither is on npm: they are found the way the Temporal CLI is (temporal/setup/go-tool.ts): $TEMPORAL_SERVER /
 * $TEMPORAL_SQL_TOOL, `temporal-server` / `temporal-sql-tool` on PATH, the per-user cache, or `go install` at the
 * pinned version into that cache. 1.29.1 is the server inside our Temporal CLI (1.5.1), so Go's module cache already
 * holds most of what they need once the CLI is built; its go.mod has no `replace` directive. The schema files are
 * embedded in the SQL tool (`--schema-name postgresql/v12/...`), so nothing else is needed from the module.
 */

export const TEMPORAL_SERVER_VERSION = '1.29.1'

export const TEMPORAL_SERVER: GoTool = {
  id: 'temporal-server',
  title: 'the Temporal server',
  version: TEMPORAL_SERVER_VERSION,
  envVar: 'TEMPORAL_SERVER',
  binaryName: 'temporal-server',
  goPackage: 'go.temporal.io/server/cmd/server',
  builtName: 'server',
  // The CLI prints "temporal version 1.5.1 (Server 1.29.1, …)": only the server itself prints its version first.
  versionPattern: new RegExp(`^temporal version ${TEMPORAL_SERVER_VERSION.replace(/\./g, '\\.')}\\b`, 'm'),
  coldBuildTime: 'about 6 minutes (both Temporal binaries, with the CLI already built)',
  warmBuildTime: '~20 s',
  alternatives: [
    'set TEMPORAL_SERVER to the path of a temporal-server binary (v1.29.1)',
    'put temporal-server on PATH (https://docs.temporal.io/self-hosted-guide)',
    'keep TEMPORAL_BACKEND=dev (the default), the embedded dev server',
  ],
}

export const TEMPORAL_SQL_TOOL: GoTool = {
  id: 'temporal-sql-tool',
  title: "the Temporal server's SQL schema tool",
  version: TEMPORAL_SERVER_VERSION,
  envVar: 'TEMPORAL_SQL_TOOL',
  binaryName: 'temporal-sql-tool',
  goPackage: 'go.temporal.io/server/cmd/tools/sql',
  builtName: 'sql',
  versionPattern: new RegExp(`^temporal-sql-tool version ${TEMPORAL_SERVER_VERSION.replace(/\./g, '\\.')}\\b`, 'm'),
  coldBuildTime: 'about 1 minute once the server is built',
  warmBuildTime: '~10 s',
  alternatives: [
    'set TEMPORAL_SQL_TOOL to the path of a temporal-sql-tool binary (v1.29.1)',
    'put temporal-sql-tool on PATH',
    'keep TEMPORAL_BACKEND=dev (the default), the embedded dev server',
  ],
}

/**
 * Temporal's Web UI server, pointed at the cluster's frontend (the CLI's UI serves only its own dev server). 2.42.1 is
 * the UI inside our CLI, so Go's module cache holds it once the CLI is built: seconds to build then.
 */
export const TEMPORAL_UI_SERVER_VERSION = '2.42.1'

export const TEMPORAL_UI_SERVER: GoTool = {
  id: 'temporal-ui-server',
  title: "Temporal's Web UI server",
  version: TEMPORAL_UI_SERVER_VERSION,
  envVar: 'TEMPORAL_UI_SERVER',
  binaryName: 'temporal-ui-server',
  goPackage: 'github.com/temporalio/ui-server/v2/cmd/server',
  builtName: 'server',
  versionPattern: new RegExp(`^Temporal UI version ${TEMPORAL_UI_SERVER_VERSION.replace(/\./g, '\\.')}\\b`, 'm'),
  coldBuildTime: 'about 2 minutes (seconds once the Temporal CLI is built)',
  warmBuildTime: '~15 s',
  alternatives: [
    'set TEMPORAL_UI_SERVER to the path of a Temporal UI server binary (v2.42.1)',
    'put temporal-ui-server on PATH',
    'keep TEMPORAL_BACKEND=dev (the default), whose dev server has the UI built in',
  ],
}

export interface TemporalServerTools {
  server: string
  sqlTool: string
  uiServer: string
}

/** `${XDG_CACHE_HOME:-$HOME/.cache}/perminute/temporal-server/<version>`: where a built server is kept. */
export function temporalServerCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return goToolCacheDir(TEMPORAL_SERVER, env)
}

/**
 * Working `temporal-server`, `temporal-sql-tool` and `temporal-ui-server` binaries. One after the other: the later
 * builds reuse what the first compiled (they share most packages), so they take seconds. Expected failures throw
 * SetupError.
 */
export async function ensureTemporalServerTools(opts: EnsureGoToolOptions = {}): Promise<TemporalServerTools> {
  const server = await ensureGoTool(TEMPORAL_SERVER, opts)
  const sqlTool = await ensureGoTool(TEMPORAL_SQL_TOOL, opts)
  const uiServer = await ensureGoTool(TEMPORAL_UI_SERVER, opts)
  return { server, sqlTool, uiServer }
}

import type { PlatformConfig } from '../../config/env.js'
import { createDb, type Db } from '../../prisma/client.js'

/**
 * The stack a benchmark drives: either one it starts for itself (./local-stack.ts) or one already running (below).
 */

export interface BillingOverrides {
  periodMs: number
  graceMs: number
  heartbeatTimeoutMs: number
}

export interface BenchStack {
  /** The web origin the plugin API is under. */
  webUrl: string
  /** For preparing users and reading the ledger afterwards. */
  db: Db
  databaseUrl: string
  /** Whether the platform runs on this machine's clock, so client and database timestamps compare exactly. */
  sameClock: boolean
  /** Processes whose CPU and memory the report shows (besides the benchmark's own). */
  processes: Array<{ name: string; pid: number }>
  /** Warnings of the in-process worker by kind, with counts (empty when the worker runs elsewhere). */
  workerWarnings(): Record<string, number>
  description: {
    summary: string
    /** Whether the web and the worker run in the benchmark's own process (and share its CPU with the client). */
    inProcess: boolean
    endpoints: Record<string, string>
    settings: Record<string, string | number>
  }
  /** The Temporal server and task queue of a stack the benchmark started (for its ceilings and history counts). */
  temporal?: { address: string; namespace: string; taskQueue: string }
  /** The configuration the stack's worker and web run with, when the benchmark started them. */
  config?: PlatformConfig
  /** Stops what the benchmark started; returns what it kept (with keepData) for the user to inspect. */
  stop(options: { keepData: boolean }): Promise<string[]>
}

export type Log = (line: string) => void

/** A stack someone else runs: the benchmark only adds its own users and calls to it. */
export async function connectTargetStack(options: { webUrl: string; databaseUrl: string; log: Log }): Promise<BenchStack> {
  const db = createDb(options.databaseUrl, { maxConnections: 8 })
  try {
    await db.$queryRaw`SELECT 1`
  } catch (error) {
    await db.$disconnect()
    throw new Error(`cannot reach the database given with --database-url: ${(error as Error).message.split('\n')[0]}`)
  }
  const webUrl = options.webUrl.replace(/\/+$/, '')
  const host = new URL(webUrl).hostname
  options.log(`driving the stack at ${webUrl}`)
  return {
    webUrl,
    db,
    databaseUrl: options.databaseUrl,
    // Timestamps compare exactly only when the web and the worker share this machine's clock.
    sameClock: ['127.0.0.1', 'localhost', '::1', '[::1]'].includes(host),
    processes: [],
    workerWarnings: () => ({}),
    description: {
      summary: `an already running stack at ${webUrl}`,
      inProcess: false,
      endpoints: { web: webUrl },
      settings: {},
    },
    async stop() {
      await db.$disconnect()
      return []
    },
  }
}

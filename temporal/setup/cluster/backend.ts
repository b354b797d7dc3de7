import { SetupError } from '../errors.js'

/**
 * Which Temporal a locally started platform runs on: the CLI's dev server (one process, SQLite; the default), or a
 * cluster of Temporal's own processes on PostgreSQL (./cluster.ts, docs/decisions/072). Read by the launchers
 * (`./platform up`, the benchmark), not by config/env.ts: the worker and the web only see TEMPORAL_ADDRESS.
 */
export type TemporalBackend = 'dev' | 'postgres'

export const TEMPORAL_BACKENDS: readonly TemporalBackend[] = ['dev', 'postgres']

export function parseTemporalBackend(value: string | undefined, from = 'TEMPORAL_BACKEND'): TemporalBackend {
  if (value === undefined || value === '') return 'dev'
  if ((TEMPORAL_BACKENDS as readonly string[]).includes(value)) return value as TemporalBackend
  throw new SetupError(
    `${from} must be one of ${TEMPORAL_BACKENDS.join(', ')} (dev: the embedded dev server, the default; postgres: a Temporal ` +
      `cluster on PostgreSQL), not "${value}".`,
  )
}

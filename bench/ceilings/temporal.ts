import { fileURLToPath } from 'node:url'
import { Client, Connection } from '@temporalio/client'
import { bundleWorkflowCode, NativeConnection, Worker } from '@temporalio/worker'
import type { PlatformConfig } from '../../config/env.js'
import { summarize, type Summary } from '../support/stats.js'
import type { BareTicks } from './bare-workflow.js'

/**
 * The Temporal ceiling: how many periods per second the same dev server and the same worker settings carry when a
 * period costs nothing but its timer and a no-op local activity. W workflows run K periods each, with 1-ms timers,
 * so the server is never idle waiting for a clock: what comes out is its throughput in periods per second, the
 * number the call stack's holds per second is a fraction of.
 */

export interface TemporalCeiling {
  workflows: number
  periodsEach: number
  periodMs: number
  seconds: number
  periodsPerSecond: number
  /** How late each no-op ran after its timer was due (ms). */
  tickLagMs: Summary
}

const workflowsPath = fileURLToPath(new URL('./bare-workflow.ts', import.meta.url))

export async function measureTemporalCeiling(options: {
  address: string
  namespace: string
  config: PlatformConfig
  workflows: number
  periodsEach: number
  periodMs?: number
  runTag: string
  log: (line: string) => void
}): Promise<TemporalCeiling> {
  const periodMs = options.periodMs ?? 1
  const taskQueue = `bench-ceiling-${options.runTag}`
  const lags: number[] = []
  const activities: BareTicks = {
    async tick({ dueAtMs }) {
      lags.push(Date.now() - dueAtMs)
    },
  }
  const workflowBundle = await bundleWorkflowCode({ workflowsPath, logger: { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} } as never })
  const connection = await NativeConnection.connect({ address: options.address })
  // The call worker's settings (temporal/worker.ts), so the comparison is like for like.
  const worker = await Worker.create({
    connection,
    namespace: options.namespace,
    taskQueue,
    workflowBundle,
    activities,
    maxConcurrentActivityTaskExecutions: options.config.WORKER_MAX_CONCURRENT_ACTIVITIES,
    maxConcurrentLocalActivityExecutions: options.config.WORKER_MAX_CONCURRENT_ACTIVITIES,
    maxConcurrentWorkflowTaskExecutions: options.config.WORKER_MAX_CONCURRENT_WORKFLOW_TASKS,
    maxCachedWorkflows: options.config.WORKER_MAX_CACHED_WORKFLOWS,
  })
  const clientConnection = await Connection.connect({ address: options.address })
  const client = new Client({ connection: clientConnection, namespace: options.namespace })
  const running = worker.run()
  try {
    options.log(`Temporal ceiling: ${options.workflows} bare workflows × ${options.periodsEach} periods (one timer, one no-op local activity each)…`)
    const began = performance.now()
    const handles = await Promise.all(
      Array.from({ length: options.workflows }, (_, i) =>
        client.workflow.start('bareLoop', {
          taskQueue,
          workflowId: `bench-ceiling-${options.runTag}-${i}`,
          args: [{ periods: options.periodsEach, periodMs }],
        }),
      ),
    )
    await Promise.all(handles.map((handle) => handle.result()))
    const seconds = (performance.now() - began) / 1000
    const periods = options.workflows * options.periodsEach
    return {
      workflows: options.workflows,
      periodsEach: options.periodsEach,
      periodMs,
      seconds: Math.round(seconds * 10) / 10,
      periodsPerSecond: Math.round((periods / seconds) * 10) / 10,
      tickLagMs: summarize(lags),
    }
  } finally {
    worker.shutdown()
    await running
    await connection.close()
    await clientConnection.close()
  }
}

import { Client, Connection } from '@temporalio/client'
import { callWorkflowId } from '../../workflows/definitions.js'

/**
 * What a call costs Temporal, read from the histories of settled calls: per period boundary (a timer that fired),
 * the workflow tasks it caused and the events from the timer firing to the next timer starting; per call, the tasks,
 * timers, local-activity markers and events in all. The per-period cost of the workflow bounds how many calls one
 * Temporal server carries (DESIGN.md, "Signals, not polling"): about one timer, one task and one marker is the floor.
 */

export interface HistoryCost {
  calls: number
  /** Periods the sampled calls held (from the ledger). */
  periods: number
  perBoundary: { workflowTasks: number; events: number }
  perCall: { workflowTasks: number; timers: number; markers: number; events: number }
  /** Workflow tasks that failed or timed out (a local activity that outlived its task, say), in all. */
  failedOrTimedOutTasks: number
}

// temporal.api.enums.v1.EventType, whose numbers are part of Temporal's wire protocol.
const T = {
  WORKFLOW_TASK_SCHEDULED: 5,
  WORKFLOW_TASK_COMPLETED: 7,
  WORKFLOW_TASK_TIMED_OUT: 8,
  WORKFLOW_TASK_FAILED: 9,
  TIMER_STARTED: 17,
  TIMER_FIRED: 18,
  MARKER_RECORDED: 25,
} as const

export async function historyCost(options: { address: string; namespace: string; calls: Array<{ callId: string; periods: number }> }): Promise<HistoryCost> {
  const connection = await Connection.connect({ address: options.address })
  const client = new Client({ connection, namespace: options.namespace })
  let tasks = 0
  let timers = 0
  let markers = 0
  let events = 0
  let failed = 0
  let periods = 0
  let boundaries = 0
  let boundaryTasks = 0
  let boundaryEvents = 0
  try {
    for (const call of options.calls) {
      const history = await client.workflow.getHandle(callWorkflowId(call.callId)).fetchHistory()
      let inBoundary = false
      for (const event of history.events ?? []) {
        const type = Number(event.eventType)
        events += 1
        if (type === T.WORKFLOW_TASK_COMPLETED) tasks += 1
        if (type === T.TIMER_STARTED) timers += 1
        if (type === T.MARKER_RECORDED) markers += 1
        if (type === T.WORKFLOW_TASK_FAILED || type === T.WORKFLOW_TASK_TIMED_OUT) failed += 1
        // A boundary: from a timer firing to the next timer starting (or the run ending).
        if (type === T.TIMER_FIRED) {
          inBoundary = true
          boundaries += 1
        }
        if (inBoundary) {
          boundaryEvents += 1
          if (type === T.WORKFLOW_TASK_SCHEDULED) boundaryTasks += 1
          if (type === T.TIMER_STARTED) inBoundary = false
        }
      }
      periods += call.periods
    }
  } finally {
    await connection.close()
  }
  const per = (n: number, d: number) => (d > 0 ? Math.round((n / d) * 100) / 100 : 0)
  const n = options.calls.length
  return {
    calls: n,
    periods,
    perBoundary: { workflowTasks: per(boundaryTasks, boundaries), events: per(boundaryEvents, boundaries) },
    perCall: { workflowTasks: per(tasks, n), timers: per(timers, n), markers: per(markers, n), events: per(events, n) },
    failedOrTimedOutTasks: failed,
  }
}

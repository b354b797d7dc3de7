import { proxyLocalActivities, sleep } from '@temporalio/workflow'

/**
 * The Temporal ceiling's workflow: per period exactly one timer and one no-op local activity, the least a call's
 * workflow can cost per period (workflows/call.ts adds the hold's database work to the activity). Bundled only by the
 * benchmark; the platform's worker never loads it.
 */

export interface BareTicks {
  tick(input: { period: number; dueAtMs: number }): Promise<void>
}

const { tick } = proxyLocalActivities<BareTicks>({ startToCloseTimeout: '10 seconds' })

export async function bareLoop(input: { periods: number; periodMs: number }): Promise<void> {
  const startedAtMs = Date.now()
  for (let period = 1; period <= input.periods; period++) {
    const dueAtMs = startedAtMs + period * input.periodMs
    await sleep(Math.max(1, dueAtMs - Date.now()))
    await tick({ period, dueAtMs })
  }
}

import type { Client } from '@temporalio/client'
import { findQuietCalls } from '../activities/calls.js'
import type { Db } from '../prisma/client.js'
import { heartbeatLost } from '../workflows/definitions.js'

/**
 * Heartbeats are row updates, not workflow signals. This loop finds the calls whose plugin went quiet and signals
 * only those, so a lost plugin is noticed within its timeout plus one scan interval. Any number of workers may
 * run it: a duplicate signal changes nothing. The workflow's own check at each period boundary is the backstop.
 */
export function startHeartbeatMonitor(deps: { db: Db; client: Client; intervalMs: number; log?: (message: string) => void }) {
  let stopped = false
  let timer: NodeJS.Timeout | undefined
  let running: Promise<void> = Promise.resolve()

  async function scan(): Promise<void> {
    const quiet = await findQuietCalls(deps.db)
    await Promise.all(
      quiet.map(async (call) => {
        try {
          await deps.client.workflow.getHandle(call.workflowId).signal(heartbeatLost, { lastHeartbeatAtMs: call.lastHeartbeatAtMs })
        } catch (error) {
          deps.log?.(`heartbeat monitor: could not signal ${call.workflowId}: ${(error as Error).message}`)
        }
      }),
    )
  }

  const tick = () => {
    if (stopped) return
    running = scan()
      .catch((error: unknown) => deps.log?.(`heartbeat monitor: scan failed: ${(error as Error).message}`))
      .finally(() => {
        if (!stopped) timer = setTimeout(tick, deps.intervalMs)
      })
  }
  tick()

  return {
    async stop() {
      stopped = true
      clearTimeout(timer)
      await running
    },
  }
}

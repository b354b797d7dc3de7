/**
 * The call worker as the fault drills run it: the platform's worker (temporal/worker.ts, heartbeat monitor included)
 * in a process of its own, with a pre-built workflow bundle (DRILL_WORKFLOW_BUNDLE) so a restart takes a second, not
 * a webpack build. With DRILL_CRASH_AFTER_WRITE=n it dies by SIGKILL right after its n-th ledger activity has
 * committed and before the activity reports back to Temporal: the worst moment for a ledger.
 */
import { loadConfig } from '../../config/env.js'
import { getDb } from '../../prisma/client.js'
import { createCallWorker } from '../../temporal/worker.js'
import type { CallActivities } from '../../workflows/definitions.js'

const config = loadConfig()
const db = getDb(config.DATABASE_URL)
const crashAfter = Number(process.env.DRILL_CRASH_AFTER_WRITE ?? 0)
const bundlePath = process.env.DRILL_WORKFLOW_BUNDLE
let writes = 0

function crashing(activities: CallActivities): CallActivities {
  const after = <A extends unknown[], R>(name: string, run: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      const result = await run(...args)
      writes += 1
      if (crashAfter > 0 && writes === crashAfter) {
        process.stdout.write(`drill-worker: SIGKILL after write ${writes} (${name})\n`)
        process.kill(process.pid, 'SIGKILL')
      }
      return result
    }
  return {
    openCall: after('openCall', activities.openCall),
    acceptCall: after('acceptCall', activities.acceptCall),
    startConnectedCall: after('startConnectedCall', activities.startConnectedCall),
    closeCallRoom: activities.closeCallRoom,
    holdNextPeriod: after('holdNextPeriod', activities.holdNextPeriod),
    settleCall: after('settleCall', activities.settleCall),
  }
}

const { worker, run } = await createCallWorker({
  config,
  db,
  ...(bundlePath ? { workflowBundle: { codePath: bundlePath } } : {}),
  wrapActivities: crashing,
})
process.once('SIGTERM', () => worker.shutdown())
process.stdout.write('worker-ready\n')
await run()
await db.$disconnect()

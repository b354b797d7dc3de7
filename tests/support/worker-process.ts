import { existsSync, writeFileSync } from 'node:fs'
import { NativeConnection, Worker } from '@temporalio/worker'
import { createActivities } from '../../activities/index.js'
import { loadConfig } from '../../config/env.js'
import { getDb } from '../../prisma/client.js'
import { workflowsPath } from '../../temporal/worker.js'

/**
 * A call worker in its own process, for tests that kill it. With CRASH_AFTER_HOLD=k and CRASH_MARKER=<file>, it
 * dies by SIGKILL right after period k's hold has committed and before the activity reports back: the worst moment
 * for a ledger, once (the marker file remembers that the crash happened).
 */
const config = loadConfig()
const db = getDb(config.DATABASE_URL)
const activities = createActivities({ db })
const crashAfter = Number(process.env.CRASH_AFTER_HOLD ?? 0)
const marker = process.env.CRASH_MARKER

const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS })
const worker = await Worker.create({
  connection,
  namespace: config.TEMPORAL_NAMESPACE,
  taskQueue: config.TEMPORAL_TASK_QUEUE,
  workflowsPath,
  activities: {
    ...activities,
    async holdNextPeriod(input: { callId: string; period: number }) {
      const result = await activities.holdNextPeriod(input)
      if (crashAfter && marker && input.period === crashAfter && !existsSync(marker)) {
        writeFileSync(marker, String(Date.now()))
        process.kill(process.pid, 'SIGKILL')
      }
      return result
    },
  },
})
process.once('SIGTERM', () => worker.shutdown())
console.log('worker-ready')
await worker.run()
await connection.close()
await db.$disconnect()

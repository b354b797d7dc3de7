import { fileURLToPath } from 'node:url'
import { createMailDispatcher } from '../activities/mail/dispatcher.js'
import { mailTransportFrom } from '../activities/mail/transport.js'
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker'
import { loadConfig, type PlatformConfig } from '../config/env.js'
import { createActivities } from '../activities/index.js'
import type { CallActivities } from '../workflows/definitions.js'
import { getDb, type Db } from '../prisma/client.js'
import { closeTemporalClients, getTemporalClient } from './client.js'
import { startHeartbeatMonitor } from './heartbeat-monitor.js'
import { startMediaMonitor } from './media-monitor.js'
import { createLiveKit, liveKitSettings } from '../activities/media/livekit.js'
import { createCallRooms } from '../activities/media/livekit-rooms.js'

export const workflowsPath = fileURLToPath(new URL('../workflows/index.ts', import.meta.url))

export interface CallWorkerOptions {
  config: PlatformConfig
  db: Db
  taskQueue?: string
  /** A pre-built workflow bundle (tests build it once for many workers). */
  workflowBundle?: WorkerOptions['workflowBundle']
  /** Wraps the activities, e.g. to crash the process right after a ledger write (the fault drills). */
  wrapActivities?: (activities: CallActivities) => CallActivities
}

/** Creates the worker that runs call workflows and their activities, plus the heartbeat and media monitors beside it. */
export async function createCallWorker(options: CallWorkerOptions) {
  const { config, db } = options
  const rooms = createCallRooms(createLiveKit(liveKitSettings(config)))
  const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS })
  const worker = await Worker.create({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: options.taskQueue ?? config.TEMPORAL_TASK_QUEUE,
    ...(options.workflowBundle ? { workflowBundle: options.workflowBundle } : { workflowsPath }),
    activities: (options.wrapActivities ?? ((activities) => activities))(createActivities({ db, config, rooms })),
    maxConcurrentActivityTaskExecutions: config.WORKER_MAX_CONCURRENT_ACTIVITIES,
    maxConcurrentLocalActivityExecutions: config.WORKER_MAX_CONCURRENT_ACTIVITIES,
    maxConcurrentWorkflowTaskExecutions: config.WORKER_MAX_CONCURRENT_WORKFLOW_TASKS,
    maxCachedWorkflows: config.WORKER_MAX_CACHED_WORKFLOWS,
  })
  const client = await getTemporalClient({ address: config.TEMPORAL_ADDRESS, namespace: config.TEMPORAL_NAMESPACE })
  return {
    worker,
    async run() {
      const monitor = startHeartbeatMonitor({
        db,
        client,
        intervalMs: config.HEARTBEAT_SCAN_MS,
        log: (m) => console.warn(m),
      })
      const media = startMediaMonitor({ db, rooms, client, intervalMs: config.MEDIA_SCAN_MS, log: (m) => console.warn(m) })
      try {
        await worker.run()
      } finally {
        await media.stop()
        await monitor.stop()
        await connection.close()
      }
    },
  }
}

async function main() {
  const config = loadConfig()
  const db = getDb(config.DATABASE_URL)
  const { worker, run } = await createCallWorker({ config, db })
  // The worker process also delivers the mail outbox: one background process to run, not two.
  const mail = createMailDispatcher({
    db,
    transport: mailTransportFrom(config),
    from: config.MAIL_FROM,
    databaseUrl: config.DATABASE_URL,
    pollMs: config.MAIL_POLL_MS,
    redactStored: config.NODE_ENV === 'production',
    log: (line) => console.log(`worker: ${line}`),
  })
  mail.start()
  const shutdown = () => worker.shutdown()
  process.once('SIGINT', shutdown)
  process.once('SIGTERM', shutdown)
  console.log(`worker: polling task queue "${config.TEMPORAL_TASK_QUEUE}" on ${config.TEMPORAL_ADDRESS} (${config.TEMPORAL_NAMESPACE})`)
  await run()
  await mail.stop()
  await db.$disconnect()
  // The heartbeat monitor's client: closed, so the process ends by itself (and writes a --cpu-prof profile).
  await closeTemporalClients()
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((error: unknown) => {
    console.error(`worker: ${(error as Error).message}`)
    process.exit(1)
  })
}

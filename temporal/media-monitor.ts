import type { Client } from '@temporalio/client'
import type { CallRooms } from '../activities/media/call-rooms.js'
import type { Db } from '../prisma/client.js'
import { connectCallWorkflow } from './calls.js'

/**
 * For calls the platform carries, what the media server sees is the call's heartbeat (docs/decisions/060): this loop
 * asks LiveKit, in one request, which running calls' rooms hold both parties, and records that as the call's last
 * heartbeat, in one statement. If both stop being seen (LiveKit itself gone, a party lost without a webhook), the
 * heartbeat goes stale and the heartbeat monitor ends the call, billed to the last moment both were seen. Any number
 * of workers may run it: recording the same moment twice changes nothing.
 *
 * It is also the backstop of the webhooks: a call still connecting whose room holds both parties (LiveKit's
 * participant_joined never arrived in two scans' time) is started at the moment the first of those scans saw them,
 * later than the webhook would have said, never earlier. The first connection counts, so the webhook's own moment wins when it arrives first.
 */
export function startMediaMonitor(deps: { db: Db; rooms: CallRooms; client: Client; intervalMs: number; log?: (message: string) => void }) {
  let stopped = false
  let timer: NodeJS.Timeout | undefined
  let running: Promise<void> = Promise.resolve()
  // Connecting calls seen with both parties at the last scan: started only if still so at the next (the webhook first).
  let bothSeenBefore = new Map<string, number>()

  async function scan(): Promise<void> {
    const calls = await deps.db.$queryRaw<{ id: string; status: string }[]>`
      SELECT id, status::text FROM calls WHERE status IN ('active', 'connecting') AND channel IN ('audio', 'video')`
    // The moment the question is asked: LiveKit's answer holds at some moment after it, so this one is never late.
    const seenAtMs = Date.now()
    const present = calls.length === 0 ? new Set<string>() : await deps.rooms.bothPresent(calls.map((c) => c.id))
    const talking = calls.filter((c) => c.status === 'active' && present.has(c.id)).map((c) => c.id)
    if (talking.length > 0) {
      await deps.db.$executeRaw`
        UPDATE calls SET last_heartbeat_at = greatest(last_heartbeat_at, ${new Date(seenAtMs)}::timestamptz)
        WHERE id = ANY(${talking}::uuid[]) AND status = 'active'`
    }
    const seenNow = new Map<string, number>()
    for (const connecting of calls.filter((c) => c.status === 'connecting' && present.has(c.id))) {
      const firstSeenAtMs = bothSeenBefore.get(connecting.id)
      if (firstSeenAtMs === undefined) {
        seenNow.set(connecting.id, seenAtMs)
        continue
      }
      await connectCallWorkflow(deps.client, connecting.id, firstSeenAtMs, { wait: false }).catch((error: unknown) =>
        deps.log?.(`media monitor: could not start ${connecting.id}: ${(error as Error).message}`),
      )
    }
    bothSeenBefore = seenNow
  }

  const tick = () => {
    if (stopped) return
    running = scan()
      .catch((error: unknown) => deps.log?.(`media monitor: scan failed: ${(error as Error).message}`))
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

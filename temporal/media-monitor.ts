import type { CallRooms } from '../activities/media/call-rooms.js'
import type { Db } from '../prisma/client.js'

/**
 * For calls the platform carries, what the media server sees is the call's heartbeat (docs/decisions/060): this loop
 * asks LiveKit, in one request, which running calls' rooms hold both parties, and records that as the call's last
 * heartbeat, in one statement. If both stop being seen (LiveKit itself gone, a party lost without a webhook), the
 * heartbeat goes stale and the heartbeat monitor ends the call, billed to the last moment both were seen. Any number
 * of workers may run it: recording the same moment twice changes nothing.
 */
export function startMediaMonitor(deps: { db: Db; rooms: CallRooms; intervalMs: number; log?: (message: string) => void }) {
  let stopped = false
  let timer: NodeJS.Timeout | undefined
  let running: Promise<void> = Promise.resolve()

  async function scan(): Promise<void> {
    const calls = await deps.db.$queryRaw<{ id: string }[]>`
      SELECT id FROM calls WHERE status = 'active' AND channel IN ('audio', 'video')`
    if (calls.length === 0) return
    const present = [...(await deps.rooms.bothPresent(calls.map((c) => c.id)))]
    if (present.length === 0) return
    await deps.db.$executeRaw`
      UPDATE calls SET last_heartbeat_at = now() WHERE id = ANY(${present}::uuid[]) AND status = 'active'`
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

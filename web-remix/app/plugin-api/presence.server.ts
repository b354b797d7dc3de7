import { z } from 'zod'
import type { PlatformServices } from './services.server.js'

/** The operator's status on the public profiles page, kept alive by the plugin's reports. */

export const presenceRequest = z.object({ status: z.enum(['online', 'busy', 'offline']) })

export type PresenceReport = z.infer<typeof presenceRequest>

/**
 * "online" and "busy" last PRESENCE_TTL_MS after the last report, so an operator whose plugin crashed or lost its
 * network drops off on its own; "offline" takes effect at once. Expiry is computed by PostgreSQL's clock, the same
 * clock that the profiles page compares it with.
 */
export async function reportPresence(services: PlatformServices, operatorId: string, report: PresenceReport): Promise<void> {
  const ttlMs = services.config.PRESENCE_TTL_MS
  if (report.status === 'offline') {
    await services.db.$executeRaw`
      UPDATE operators SET presence = 'offline', presence_expires_at = NULL WHERE user_id = ${operatorId}::uuid`
  } else {
    await services.db.$executeRaw`
      UPDATE operators SET presence = ${report.status}::"PresenceStatus",
        presence_expires_at = now() + make_interval(secs => ${ttlMs}::double precision / 1000)
      WHERE user_id = ${operatorId}::uuid`
  }
}

import type { Db } from '../../../prisma/client.js'
import { bearerToken, hashToken } from './auth.server.js'
import { uuid } from './validation.server.js'

/**
 * The plugin's heartbeat in one statement, its token included (docs/decisions/030). Nine requests in ten under load
 * are heartbeats; web-remix/server.ts answers them here, in front of Remix's router and its request and response
 * conversions.
 *
 * Only the ordinary case is answered here: a live token of an active operator, used within the last minute, and
 * their active call, whose row the worker is not holding. Then the heartbeat is recorded and the answer is 204, as
 * the route would give. Anything else changes nothing and answers false, and the request goes on to the route
 * (routes/api.plugin.v1.calls.$callId.heartbeat.ts), whose requireOperator and recordHeartbeat give the precise
 * answer: 401, 403, 404, 410, or 204 for a row the worker holds; a token quiet for a minute gets its use recorded.
 * So the route stays the one definition of the endpoint's answers, and the fast path can only agree with it.
 */
export async function recordHeartbeatFast(db: Db, authorization: string | undefined, callIdParam: string): Promise<boolean> {
  const token = bearerToken(authorization)
  const callId = uuid.safeParse(callIdParam)
  if (!token || !callId.success) return false
  const updated = await db.$executeRaw`
    UPDATE calls SET last_heartbeat_at = now()
    WHERE id = (SELECT c.id FROM calls c
                JOIN plugin_tokens t ON t.user_id = c.operator_id
                JOIN users u ON u.id = c.operator_id
                JOIN operators o ON o.user_id = c.operator_id
                WHERE c.id = ${callId.data}::uuid AND c.status = 'active'
                  AND t.token_hash = ${hashToken(token)} AND t.revoked_at IS NULL
                  AND t.last_used_at >= now() - interval '1 minute'
                  AND u.role = 'operator' AND u.status = 'active' AND o.rate_per_minute_cents IS NOT NULL
                FOR NO KEY UPDATE OF c SKIP LOCKED)`
  return updated === 1
}

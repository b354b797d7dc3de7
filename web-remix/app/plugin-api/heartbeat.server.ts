import pg from 'pg'
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
 *
 * Its few connections commit asynchronously (synchronous_commit off): a heartbeat does not wait for the WAL to reach
 * the disk. A database crash may then forget the last fraction of a second of heartbeats, which only makes a call's
 * last heartbeat look that much older against a timeout of tens of seconds; money never goes through this pool. At
 * 3,000 calls heartbeats are two commits in three, and each waiting for its own flush queued the holds and
 * settlements behind them (docs/benchmarks.md).
 */
export interface HeartbeatRecorder {
  /** Records the heartbeat if all is in order, and says whether it did; false changes nothing. */
  record(authorization: string | undefined, callIdParam: string): Promise<boolean>
  close(): Promise<void>
}

const RECORD_HEARTBEAT = `
  UPDATE calls SET last_heartbeat_at = now()
  WHERE id = (SELECT c.id FROM calls c
              JOIN plugin_tokens t ON t.user_id = c.operator_id
              JOIN users u ON u.id = c.operator_id
              JOIN operators o ON o.user_id = c.operator_id
              WHERE c.id = $1::uuid AND c.status = 'active' AND c.channel = 'outside'
                AND t.token_hash = $2 AND t.revoked_at IS NULL AND t.expires_at > now() AND t.last_used_at >= now() - interval '1 minute'
                AND u.role = 'operator' AND u.status = 'active' AND o.rate_per_minute_cents IS NOT NULL
              FOR NO KEY UPDATE OF c SKIP LOCKED)`

export function createHeartbeatRecorder(databaseUrl: string, options: { maxConnections?: number } = {}): HeartbeatRecorder {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: options.maxConnections ?? 5, options: '-c synchronous_commit=off' })
  // An idle connection the server dropped (a restart) is replaced on the next query; its error must not kill the process.
  pool.on('error', () => undefined)
  return {
    async record(authorization, callIdParam) {
      const token = bearerToken(authorization)
      const callId = uuid.safeParse(callIdParam)
      if (!token || !callId.success) return false
      const result = await pool.query({ name: 'record-heartbeat', text: RECORD_HEARTBEAT, values: [callId.data, hashToken(token)] })
      return result.rowCount === 1
    },
    close: () => pool.end(),
  }
}

import { randomBytes } from 'node:crypto'

/**
 * The environment a bench stack runs its web and worker with: production mode (what a user's request pays for), with
 * secrets of the run's own, never a development default. The sandbox payment provider is allowed because the bench
 * tops wallets up through it, and cookies are not Secure because the stack speaks plain HTTP on loopback. The bench's
 * calls are reported by the plugin API, not carried: LiveKit is configured (production requires it) but not started.
 */
export function benchProductionEnv(): Record<string, string> {
  return {
    NODE_ENV: 'production',
    SESSION_SECRET: randomBytes(32).toString('base64url'),
    PAYMENT_WEBHOOK_SECRET: randomBytes(32).toString('base64url'),
    DATA_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    PAYMENT_SANDBOX_IN_PRODUCTION: 'true',
    COOKIE_SECURE: 'false',
    // The bench opens no admin page: the portal is closed to every address.
    ADMIN_ALLOWED_CIDRS: 'none',
    // Every simulated plugin opens its event stream from this one machine.
    EVENT_STREAMS_PER_ADDRESS: '1000000',
    LIVEKIT_URL: 'ws://127.0.0.1:7880',
    LIVEKIT_API_KEY: 'bench',
    LIVEKIT_API_SECRET: randomBytes(32).toString('base64url'),
  }
}

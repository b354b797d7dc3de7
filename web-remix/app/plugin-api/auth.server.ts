import { createHash, randomBytes } from 'node:crypto'
import { apiError } from './errors.server.js'
import type { PlatformServices } from './services.server.js'

/**
 * Bearer tokens for the plugin. A token is 32 random bytes (base64url, 43 characters); only its SHA-256 is stored,
 * so a leaked database cannot be replayed against the API. A token is good until it expires (PLUGIN_TOKEN_TTL_DAYS after
 * it was issued; the plugin renews it before, POST /sessions/current/renew) or is revoked: by signing out, from the
 * operator portal, by a password change or reset, or when the account is disabled.
 */

export interface AuthenticatedOperator {
  id: string
  displayName: string
  ratePerMinuteCents: number
  companyId: string | null
  /** The company's agreed share in basis points, or null without a company. */
  companyShareBps: number | null
  tokenHash: string
  /** The token's id (what the operator portal lists it by). */
  tokenId: string
}

const BEARER = /^Bearer ([A-Za-z0-9_-]{43})$/

/** The token of an `Authorization: Bearer …` header, or null when there is none of the right shape. */
export function bearerToken(header: string | null | undefined): string | null {
  return BEARER.exec(header ?? '')?.[1] ?? null
}

export function newToken(): string {
  return randomBytes(32).toString('base64url')
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex')
}

const unauthorized = () =>
  apiError(401, 'unauthorized', 'a valid bearer token is required (POST /api/plugin/v1/sessions)', {
    'WWW-Authenticate': 'Bearer realm="plugin"',
  })

/** The operator this request is made for; throws a 401 (or 403 for an operator disabled since) response otherwise. */
export async function requireOperator(request: Request, services: PlatformServices): Promise<AuthenticatedOperator> {
  const token = bearerToken(request.headers.get('authorization'))
  if (!token) throw unauthorized()
  const tokenHash = hashToken(token)
  const [row] = await services.db.$queryRaw<
    {
      id: string
      role: string
      status: string
      display_name: string
      rate_per_minute_cents: number | null
      company_id: string | null
      share_bps: number | null
      verified: boolean
      token_id: string
      stale: boolean
      first_use: boolean
    }[]
  >`
    SELECT u.id, u.role, u.status, u.display_name, o.rate_per_minute_cents, o.company_id, c.share_bps, t.id::text AS token_id,
           u.email_verified_at IS NOT NULL AS verified,
           (t.last_used_at IS NULL OR t.last_used_at < now() - interval '1 minute') AS stale,
           t.last_used_at IS NULL AS first_use
    FROM plugin_tokens t
    JOIN users u ON u.id = t.user_id
    LEFT JOIN operators o ON o.user_id = u.id
    LEFT JOIN companies c ON c.id = o.company_id
    WHERE t.token_hash = ${tokenHash} AND t.revoked_at IS NULL AND t.expires_at > now()`
  if (!row || row.rate_per_minute_cents === null) throw unauthorized()
  if (row.role !== 'operator') throw apiError(403, 'not_an_operator', 'only operators may use the plugin API')
  if (row.status !== 'active') throw apiError(403, 'account_disabled', 'this operator account is disabled')
  if (!row.verified) throw apiError(403, 'email_not_verified', 'confirm your e-mail address before using the plugin')
  // Heartbeats come every few seconds: record the token's use at most once a minute, not on every request.
  if (row.stale) {
    await services.db.$executeRaw`UPDATE plugin_tokens SET last_used_at = now() WHERE token_hash = ${tokenHash}`
  }
  // The first use of a renewed token proves the plugin received it: the token it replaced ends now.
  if (row.first_use) {
    await services.db.$executeRaw`UPDATE plugin_tokens SET revoked_at = now() WHERE replaced_by = ${tokenHash} AND revoked_at IS NULL`
  }
  return {
    id: row.id,
    displayName: row.display_name,
    ratePerMinuteCents: row.rate_per_minute_cents,
    companyId: row.company_id,
    companyShareBps: row.share_bps,
    tokenHash,
    tokenId: row.token_id,
  }
}

/**
 * Whether a token still holds (not revoked or expired, its operator still active): what a long response (the event
 * stream) asks every few seconds. One indexed read; it does not count as a use.
 */
export async function tokenStillValid(services: PlatformServices, tokenHash: string): Promise<boolean> {
  const [row] = await services.db.$queryRaw<{ ok: boolean }[]>`
    SELECT true AS ok FROM plugin_tokens t JOIN users u ON u.id = t.user_id
    WHERE t.token_hash = ${tokenHash} AND t.revoked_at IS NULL AND t.expires_at > now() AND u.status = 'active'`
  return row?.ok === true
}

import { redirect, type AppLoadContext } from '@remix-run/node'
import { requireRole, sessionIdHashOf, type SessionUser } from '../auth/session.server.js'
import { servicesFrom } from '../plugin-api/services.server.js'
import { parseAllowList } from './address-allow-list.js'
import { parsePublicHosts, portalOfHost, type Portal } from './portal-hosts.js'

/**
 * The admin portal's door, in this order: with PUBLIC_HOSTS, the request must have come to the admin host (404
 * otherwise: the web server already refuses admin paths on other hosts, this holds even if a spelling of a path got
 * past it); the client's address must be on ADMIN_ALLOWED_CIDRS (403 otherwise, whoever asks and with whatever
 * credentials); then an admin's session; then that session must have passed the second factor. The address is the
 * load context's clientAddress, which trusts X-Forwarded-For only behind TRUST_PROXY.
 */

const matchers = new Map<string, (address: string | null | undefined) => boolean>()

export function adminAddressAllowed(context: AppLoadContext | undefined): boolean {
  const { config } = servicesFrom(context)
  let allowed = matchers.get(config.ADMIN_ALLOWED_CIDRS)
  if (!allowed) {
    allowed = parseAllowList(config.ADMIN_ALLOWED_CIDRS)
    matchers.set(config.ADMIN_ALLOWED_CIDRS, allowed)
  }
  return allowed(context?.clientAddress ?? null)
}

const hostTables = new Map<string, Map<string, Portal> | null>()

/** 404 on a host PUBLIC_HOSTS gives to another portal (or does not list). The Host header, as the web server reads it. */
export function requireAdminHost(request: Request, context: AppLoadContext | undefined): void {
  const { PUBLIC_HOSTS } = servicesFrom(context).config
  const key = PUBLIC_HOSTS ?? ''
  if (!hostTables.has(key)) hostTables.set(key, parsePublicHosts(PUBLIC_HOSTS))
  const hosts = hostTables.get(key)!
  if (hosts && portalOfHost(hosts, request.headers.get('host')) !== 'admin') {
    throw new Response('Not found on this host.', { status: 404, statusText: 'Not Found' })
  }
}

export function requireAdminAddress(context: AppLoadContext | undefined): void {
  if (!adminAddressAllowed(context)) {
    throw new Response('The admin portal is not reachable from this network.', { status: 403, statusText: 'Forbidden' })
  }
}

/** The hash of this browser's session id, as web_sessions stores it. */
export const sessionIdHash = sessionIdHashOf

/** An admin from an allowed address who has not necessarily passed the second factor yet (the second-factor page). */
export async function requireAdminFirstFactor(request: Request, context: AppLoadContext | undefined): Promise<SessionUser> {
  requireAdminHost(request, context)
  requireAdminAddress(context)
  return requireRole(request, 'admin', context)
}

/**
 * Whether this session passed the second factor. The pass lapses with the session (its row goes with it) and, in any
 * case, no later than an admin session may last (ADMIN_SESSION_MAX_HOURS after it was given).
 */
export async function sessionPassedSecondFactor(request: Request, context: AppLoadContext | undefined): Promise<boolean> {
  const idHash = await sessionIdHash(request, context)
  if (!idHash) return false
  const { db, config } = servicesFrom(context)
  const row = await db.sessionSecondFactor.findUnique({ where: { sessionIdHash: idHash } })
  return row !== null && row.verifiedAt.getTime() + config.ADMIN_SESSION_MAX_HOURS * 3_600_000 > Date.now()
}

/** Every admin page and action: allowed address, admin session, second factor passed. */
export async function requireAdmin(request: Request, context: AppLoadContext | undefined): Promise<SessionUser> {
  const user = await requireAdminFirstFactor(request, context)
  if (!(await sessionPassedSecondFactor(request, context))) {
    const url = new URL(request.url)
    throw redirect(`/admin/second-factor?redirectTo=${encodeURIComponent(url.pathname + url.search)}`)
  }
  return user
}

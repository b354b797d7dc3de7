import { redirect } from '@remix-run/node'
import type { AppLoadContext } from '@remix-run/node'
import type { PlatformConfig } from '../../../config/env.js'
import { servicesFrom } from '../plugin-api/services.server.js'
import { portalCookies } from './cookies.server.js'
import { hashSecret, newSecret } from './tokens.server.js'

/**
 * Browser sessions. A log-in creates a new session (a new random id: the id rotates at every log-in, so an id
 * planted before it is worthless), stored as a hash with its expiry; log-out deletes it; a password change deletes
 * them all. Access checks are require… helpers that throw a redirect or a 403 on the first line of a loader/action.
 */

export type Role = 'member' | 'operator' | 'company' | 'admin'

export interface SessionUser {
  id: string
  email: string
  role: Role
  displayName: string
  emailVerified: boolean
}

// last_seen_at is written at most this often (and at most a tenth of the idle timeout), so browsing does not turn
// every page view into a write.
const TOUCH_AFTER_MS = 5 * 60_000

const resolved = new WeakMap<Request, Promise<SessionUser | null>>()

async function readSessionId(request: Request, context?: AppLoadContext): Promise<string | null> {
  const { config } = servicesFrom(context)
  const value: unknown = await portalCookies(config).session.parse(request.headers.get('Cookie'))
  return typeof value === 'string' && value.length > 0 ? value : null
}

/** The hash of this browser's session id, as web_sessions stores it; null without a session cookie. */
export async function sessionIdHashOf(request: Request, context?: AppLoadContext): Promise<string | null> {
  const sessionId = await readSessionId(request, context)
  return sessionId ? hashSecret(sessionId) : null
}

/**
 * How long a session may sit unused, and how long it may last at most, by role (docs/decisions/053): admins' sessions
 * idle out after ADMIN_SESSION_IDLE_MINUTES and end ADMIN_SESSION_MAX_HOURS after log-in; everyone else's idle out after
 * SESSION_IDLE_MINUTES and end SESSION_MAX_AGE_DAYS after log-in (the row's expiry).
 */
export function sessionLimits(config: PlatformConfig, role: Role): { idleMs: number; maxAgeMs: number } {
  return role === 'admin'
    ? { idleMs: config.ADMIN_SESSION_IDLE_MINUTES * 60_000, maxAgeMs: Math.min(config.ADMIN_SESSION_MAX_HOURS * 3_600_000, config.SESSION_MAX_AGE_DAYS * 86_400_000) }
    : { idleMs: config.SESSION_IDLE_MINUTES * 60_000, maxAgeMs: config.SESSION_MAX_AGE_DAYS * 86_400_000 }
}

async function lookUp(request: Request, context: AppLoadContext | undefined, options: { touch: boolean }): Promise<SessionUser | null> {
  const idHash = await sessionIdHashOf(request, context)
  if (!idHash) return null
  const { db, config } = servicesFrom(context)
  const session = await db.webSession.findUnique({
    where: { idHash },
    select: {
      idHash: true,
      createdAt: true,
      expiresAt: true,
      lastSeenAt: true,
      user: { select: { id: true, email: true, role: true, displayName: true, status: true, emailVerifiedAt: true } },
    },
  })
  if (!session) return null
  const now = Date.now()
  const { idleMs, maxAgeMs } = sessionLimits(config, session.user.role)
  const over =
    session.expiresAt.getTime() <= now || session.createdAt.getTime() + maxAgeMs <= now || session.lastSeenAt.getTime() + idleMs <= now
  if (over || session.user.status !== 'active') {
    // Gone for good: deleting it takes its second factor along (session_second_factors cascade).
    if (over) await db.webSession.deleteMany({ where: { idHash } })
    return null
  }
  if (options.touch && now - session.lastSeenAt.getTime() > Math.min(TOUCH_AFTER_MS, idleMs / 10)) {
    await db.webSession.update({ where: { idHash: session.idHash }, data: { lastSeenAt: new Date(now) } })
  }
  const { user } = session
  return { id: user.id, email: user.email, role: user.role, displayName: user.displayName, emailVerified: user.emailVerifiedAt !== null }
}

/**
 * Whether the session this request was made with still holds (not logged out, revoked, idle, expired, or its user
 * suspended), asked afresh: what a long response (an event stream) checks now and then. Does not count as activity.
 */
export async function sessionStillValid(request: Request, context: AppLoadContext | undefined, userId: string): Promise<boolean> {
  const user = await lookUp(request, context, { touch: false })
  return user?.id === userId
}

/** The signed-in user, or null. Looked up once per request however many loaders ask. */
export function getSessionUser(request: Request, context?: AppLoadContext): Promise<SessionUser | null> {
  let user = resolved.get(request)
  if (!user) {
    user = lookUp(request, context, { touch: true })
    resolved.set(request, user)
  }
  return user
}

function loginRedirect(request: Request): Response {
  const url = new URL(request.url)
  const back = `${url.pathname}${url.search}`
  return redirect(`/login?redirectTo=${encodeURIComponent(back)}`)
}

export async function requireUser(request: Request, context?: AppLoadContext): Promise<SessionUser> {
  const user = await getSessionUser(request, context)
  if (!user) throw loginRedirect(request)
  return user
}

export async function requireRole(
  request: Request,
  role: Role | Role[],
  context?: AppLoadContext,
  options: { verified?: boolean } = {},
): Promise<SessionUser> {
  const user = await requireUser(request, context)
  const allowed = Array.isArray(role) ? role : [role]
  if (!allowed.includes(user.role)) {
    throw new Response('This page belongs to another kind of account.', { status: 403, statusText: 'Forbidden' })
  }
  if (options.verified && !user.emailVerified) {
    throw redirect(`/account?notice=verify-first`)
  }
  return user
}

/** Opens a new session for the user and returns the Set-Cookie header that carries it. */
export async function startSession(
  request: Request,
  context: AppLoadContext | undefined,
  userId: string,
  clientAddress: string | null,
): Promise<string> {
  const { db, config } = servicesFrom(context)
  const sessionId = newSecret()
  const { role } = await db.user.findUniqueOrThrow({ where: { id: userId }, select: { role: true } })
  const { maxAgeMs } = sessionLimits(config, role)
  await db.webSession.create({
    data: {
      idHash: hashSecret(sessionId),
      userId,
      expiresAt: new Date(Date.now() + maxAgeMs),
      userAgent: request.headers.get('User-Agent')?.slice(0, 300) ?? null,
      clientAddress,
    },
  })
  return portalCookies(config).session.serialize(sessionId, { maxAge: Math.floor(maxAgeMs / 1000) })
}

/** Ends this browser's session; returns the Set-Cookie header that clears the cookie. */
export async function endSession(request: Request, context?: AppLoadContext): Promise<string> {
  const { db, config } = servicesFrom(context)
  const sessionId = await readSessionId(request, context)
  if (sessionId) await db.webSession.deleteMany({ where: { idHash: hashSecret(sessionId) } })
  return portalCookies(config).session.serialize('', { maxAge: 0 })
}

/** The home page of each kind of account: the account page until a role's portal has a home of its own. */
const homes: Record<Role, string> = { member: '/account', operator: '/operator', company: '/company', admin: '/admin' }

export function homeFor(role: Role): string {
  return homes[role]
}

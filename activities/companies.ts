import type { Prisma } from '../prisma/client.js'
import type { Db } from '../prisma/client.js'
import { recordAuditEntry, type AuditContext } from './admin/audit.js'

/**
 * Account changes of the back office: disabling and re-enabling users (a company its operators, an admin anyone) and
 * editing an operator's profile and price. No money moves here; an operator's call in progress is ended by the caller,
 * through the call's workflow, with the ids returned.
 */

export class ProfileInputError extends Error {
  override name = 'ProfileInputError'
  constructor(readonly field: string, message: string) {
    super(message)
  }
}

export interface StatusChange {
  userId: string
  status: 'active' | 'disabled'
  /** Calls of a disabled operator that are still running: the caller signals their workflows to end. */
  activeCallIds: string[]
  changed: boolean
}

/**
 * Disables or re-enables a user. Disabling signs them out everywhere (web sessions deleted, plugin tokens revoked, so
 * the plugin API refuses them) and takes an operator offline; their calls still running are returned.
 */
export async function setUserStatus(
  db: Db,
  input: { userId: string; status: 'active' | 'disabled'; reason?: string | null },
  audit: AuditContext & { action: string },
): Promise<StatusChange> {
  return db.$transaction(async (tx) => {
    const [user] = await tx.$queryRaw<{ status: string; role: string }[]>`
      SELECT status::text, role::text FROM users WHERE id = ${input.userId}::uuid FOR UPDATE`
    if (!user) throw new ProfileInputError('userId', 'no such user')
    if (user.role === 'admin' && input.status === 'disabled' && audit.actorId === input.userId) {
      throw new ProfileInputError('userId', 'an admin cannot disable their own account')
    }
    const changed = user.status !== input.status
    if (changed) {
      await tx.user.update({ where: { id: input.userId }, data: { status: input.status } })
      await recordAuditEntry(tx, {
        channel: audit.channel,
        actorId: audit.actorId,
        action: audit.action,
        subject: `user:${input.userId}`,
        details: { status: input.status, reason: input.reason ?? null, ...(audit.origin ? { origin: audit.origin } : {}) } as Prisma.InputJsonObject,
      })
    }
    let activeCallIds: string[] = []
    if (input.status === 'disabled') {
      await tx.webSession.deleteMany({ where: { userId: input.userId } })
      await tx.pluginToken.updateMany({ where: { userId: input.userId, revokedAt: null }, data: { revokedAt: new Date() } })
      if (user.role === 'operator') {
        await tx.operator.update({ where: { userId: input.userId }, data: { presence: 'offline', presenceExpiresAt: null } })
        const calls = await tx.call.findMany({ where: { operatorId: input.userId, status: { in: ['active', 'ending'] } }, select: { id: true } })
        activeCallIds = calls.map((c) => c.id)
      }
    }
    return { userId: input.userId, status: input.status, activeCallIds, changed }
  })
}

export interface ProfileChange {
  headline?: string
  tags?: string[]
  ratePerMinuteCents?: number
}

/** Tags as typed ("calm, tarot ,Tarot") → a clean list: lower-case, unique, at most 10 of at most 30 characters. */
export function parseTags(input: string): string[] {
  const tags = [...new Set(input.split(',').map((t) => t.trim().toLowerCase()).filter(Boolean))]
  if (tags.length > 10) throw new ProfileInputError('tags', 'at most 10 tags')
  const long = tags.find((t) => t.length > 30)
  if (long) throw new ProfileInputError('tags', `the tag "${long}" is longer than 30 characters`)
  return tags
}

/**
 * Changes an operator's headline, tags and price (within the platform's price bounds). A new price applies to calls
 * that start after it: a call freezes its rate at its start.
 */
export async function updateOperatorProfile(
  db: Db,
  operatorId: string,
  change: ProfileChange,
  bounds: { priceMinCents: number; priceMaxCents: number },
  audit: AuditContext,
): Promise<void> {
  if (change.headline !== undefined && change.headline.length > 140) throw new ProfileInputError('headline', 'the headline may have at most 140 characters')
  if (change.ratePerMinuteCents !== undefined) {
    const rate = change.ratePerMinuteCents
    if (!Number.isSafeInteger(rate) || rate < bounds.priceMinCents || rate > bounds.priceMaxCents) {
      throw new ProfileInputError(
        'ratePerMinuteCents',
        `the price must be between ${(bounds.priceMinCents / 100).toFixed(2)} and ${(bounds.priceMaxCents / 100).toFixed(2)} per minute`,
      )
    }
  }
  await db.$transaction(async (tx) => {
    const before = await tx.operator.findUnique({ where: { userId: operatorId }, select: { headline: true, tags: true, ratePerMinuteCents: true } })
    if (!before) throw new ProfileInputError('operatorId', 'no such operator')
    const data = {
      ...(change.headline !== undefined ? { headline: change.headline.trim() } : {}),
      ...(change.tags !== undefined ? { tags: change.tags } : {}),
      ...(change.ratePerMinuteCents !== undefined ? { ratePerMinuteCents: change.ratePerMinuteCents } : {}),
    }
    await tx.operator.update({ where: { userId: operatorId }, data })
    await recordAuditEntry(tx, {
      channel: audit.channel,
      actorId: audit.actorId,
      action: 'operator.profile.update',
      subject: `user:${operatorId}`,
      details: { before, after: data, ...(audit.origin ? { origin: audit.origin } : {}) } as Prisma.InputJsonObject,
    })
  })
}

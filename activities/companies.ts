import { randomUUID } from 'node:crypto'
import type { PlatformConfig } from '../config/env.js'
import type { Prisma } from '../prisma/client.js'
import type { Db } from '../prisma/client.js'
import { isValidTimeZone, validateWindows, type WeeklyWindow } from '../workflows/availability.js'
import { recordAuditEntry, type AuditContext } from './admin/audit.js'
import type { Tx } from './ledger/tx.js'
import { readPlatformSettings } from './settings.js'

/**
 * Account changes of the back office: disabling and re-enabling users (a company its operators, an admin anyone) and
 * editing an operator's profile, price and weekly availability. No money moves here; an operator's call in progress is ended by the caller,
 * through the call's workflow, with the ids returned.
 */

export class ProfileInputError extends Error {
  override name = 'ProfileInputError'
  /** Every field that is wrong, with its problem; `field` and the message are the first of them. */
  readonly problems: Readonly<Record<string, string>>
  constructor(readonly field: string, message: string, problems?: Record<string, string>) {
    super(message)
    this.problems = problems ?? { [field]: message }
  }

  static of(problems: Record<string, string>): ProfileInputError {
    const [field, message] = Object.entries(problems)[0]!
    return new ProfileInputError(field, message, problems)
  }
}

/** The longest bio (Markdown source) a profile keeps; the storefront renders no more than this. */
export const MAX_BIO_LENGTH = 10_000
export const MAX_CAPTIONS_URL_LENGTH = 500

/**
 * The share of its operators' earnings a new company takes: the one agreed with it, or, when none was given, the
 * platform's default company share as an admin last set it (settings), never a constant of the code.
 */
export async function shareForNewCompany(tx: Tx, config: PlatformConfig, agreedBps?: number): Promise<number> {
  if (agreedBps !== undefined) return agreedBps
  return (await readPlatformSettings(tx, config)).defaultCompanyShareBps
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
  /** Markdown; rendered and sanitised by the storefront (web-remix/app/storefront/markdown.server.ts). */
  bioMarkdown?: string
  /** A WebVTT file for the video preview, at an https address; null takes the captions off. */
  videoCaptionsUrl?: string | null
}

/** Tags as typed ("calm, tarot ,Tarot") → a clean list: lower-case, unique, at most 10 of at most 30 characters. */
export function parseTags(input: string): string[] {
  const tags = [...new Set(input.split(',').map((t) => t.trim().toLowerCase()).filter(Boolean))]
  if (tags.length > 10) throw new ProfileInputError('tags', 'at most 10 tags')
  const long = tags.find((t) => t.length > 30)
  if (long) throw new ProfileInputError('tags', `the tag "${long}" is longer than 30 characters`)
  return tags
}

/** Every problem of a profile change, by field (empty when there is none). */
export function profileChangeProblems(change: ProfileChange, bounds: { priceMinCents: number; priceMaxCents: number }): Record<string, string> {
  const problems: Record<string, string> = {}
  if (change.headline !== undefined && change.headline.trim().length > 140) problems.headline = 'the headline may have at most 140 characters'
  if (change.ratePerMinuteCents !== undefined) {
    const rate = change.ratePerMinuteCents
    if (!Number.isSafeInteger(rate) || rate < bounds.priceMinCents || rate > bounds.priceMaxCents) {
      problems.ratePerMinuteCents = `the price must be between ${(bounds.priceMinCents / 100).toFixed(2)} and ${(bounds.priceMaxCents / 100).toFixed(2)} per minute`
    }
  }
  const bioLength = change.bioMarkdown?.replace(/\r\n/g, '\n').length ?? 0
  if (bioLength > MAX_BIO_LENGTH) problems.bioMarkdown = `the bio may have at most ${MAX_BIO_LENGTH} characters (it has ${bioLength})`
  const captions = change.videoCaptionsUrl
  if (captions) {
    let url: URL | null = null
    try {
      url = new URL(captions)
    } catch {
      url = null
    }
    if (!url || url.protocol !== 'https:' || captions.length > MAX_CAPTIONS_URL_LENGTH) {
      problems.videoCaptionsUrl = 'the captions address must be an https:// address of a WebVTT (.vtt) file'
    }
  }
  return problems
}

/**
 * Changes an operator's headline, tags, price (within the platform's price bounds), bio and video captions. A new
 * price applies to calls that start after it: a call freezes its rate at its start.
 */
export async function updateOperatorProfile(
  db: Db,
  operatorId: string,
  change: ProfileChange,
  bounds: { priceMinCents: number; priceMaxCents: number },
  audit: AuditContext,
): Promise<void> {
  const problems = profileChangeProblems(change, bounds)
  if (Object.keys(problems).length > 0) throw ProfileInputError.of(problems)
  await db.$transaction(async (tx) => {
    const before = await tx.operator.findUnique({
      where: { userId: operatorId },
      select: { headline: true, tags: true, ratePerMinuteCents: true, bioMarkdown: true, videoUrl: true, videoCaptionsUrl: true },
    })
    if (!before) throw new ProfileInputError('operatorId', 'no such operator')
    const captions = change.videoCaptionsUrl === undefined ? undefined : change.videoCaptionsUrl?.trim() || null
    if (captions && !before.videoUrl) throw new ProfileInputError('videoCaptionsUrl', 'captions need a video preview: record one in the plugin first')
    const data = {
      ...(change.headline !== undefined ? { headline: change.headline.trim() } : {}),
      ...(change.tags !== undefined ? { tags: change.tags } : {}),
      ...(change.ratePerMinuteCents !== undefined ? { ratePerMinuteCents: change.ratePerMinuteCents } : {}),
      ...(change.bioMarkdown !== undefined ? { bioMarkdown: change.bioMarkdown.replace(/\r\n/g, '\n').trimEnd() } : {}),
      ...(captions !== undefined ? { videoCaptionsUrl: captions } : {}),
    }
    await tx.operator.update({ where: { userId: operatorId }, data })
    const { videoUrl: _videoUrl, ...shown } = before
    await recordAuditEntry(tx, {
      channel: audit.channel,
      actorId: audit.actorId,
      action: 'operator.profile.update',
      subject: `user:${operatorId}`,
      details: { before: shown, after: data, ...(audit.origin ? { origin: audit.origin } : {}) } as Prisma.InputJsonObject,
    })
  })
}

/**
 * Replaces an operator's weekly availability and the time zone it is kept in, at once: the windows mean wall-clock
 * times in that zone (workflows/availability.ts), so the two never change apart.
 */
export async function replaceOperatorAvailability(
  db: Db,
  operatorId: string,
  input: { timeZone: string; windows: readonly WeeklyWindow[] },
  audit: AuditContext,
): Promise<void> {
  if (!isValidTimeZone(input.timeZone)) throw new ProfileInputError('timeZone', `“${input.timeZone}” is not a time zone: choose one from the list, such as Europe/Paris`)
  const problem = validateWindows(input.windows)
  if (problem) throw new ProfileInputError('windows', problem)
  await db.$transaction(async (tx) => {
    const before = await tx.operator.findUnique({ where: { userId: operatorId }, select: { timeZone: true } })
    if (!before) throw new ProfileInputError('operatorId', 'no such operator')
    // The operator row is the lock: two saves at once end with one of them, not a mix.
    await tx.$executeRaw`SELECT 1 FROM operators WHERE user_id = ${operatorId}::uuid FOR UPDATE`
    const previous = await tx.operatorAvailability.findMany({ where: { operatorId }, select: { weekday: true, startMinute: true, endMinute: true }, orderBy: [{ weekday: 'asc' }, { startMinute: 'asc' }] })
    await tx.operatorAvailability.deleteMany({ where: { operatorId } })
    await tx.operatorAvailability.createMany({
      data: input.windows.map((w) => ({ id: randomUUID(), operatorId, weekday: w.weekday, startMinute: w.startMinute, endMinute: w.endMinute })),
    })
    await tx.operator.update({ where: { userId: operatorId }, data: { timeZone: input.timeZone } })
    await recordAuditEntry(tx, {
      channel: audit.channel,
      actorId: audit.actorId,
      action: 'operator.availability.update',
      subject: `user:${operatorId}`,
      details: {
        before: { timeZone: before.timeZone, windows: previous },
        after: { timeZone: input.timeZone, windows: input.windows.map((w) => ({ weekday: w.weekday, startMinute: w.startMinute, endMinute: w.endMinute })) },
        ...(audit.origin ? { origin: audit.origin } : {}),
      } as Prisma.InputJsonObject,
    })
  })
}

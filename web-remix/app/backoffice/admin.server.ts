import type { AppLoadContext } from '@remix-run/node'
import { Prisma } from '../../../prisma/client.js'
import { servicesFrom } from '../plugin-api/services.server.js'
import { isUuid } from '../ids.server.js'

/** What the admin portal's pages read. Reads only: every change goes through an audited path of its own. */

export async function overview(context: AppLoadContext | undefined) {
  const { db } = servicesFrom(context)
  const [activeCalls, waitingPayouts, users, disabled] = await Promise.all([
    db.call.count({ where: { status: { in: ['active', 'ending'] } } }),
    db.payout.count({ where: { status: 'requested' } }),
    db.user.count(),
    db.user.count({ where: { status: 'disabled' } }),
  ])
  return { activeCalls, waitingPayouts, users, disabled }
}

const ROLES = ['member', 'operator', 'company', 'admin'] as const

export async function searchUsers(context: AppLoadContext | undefined, query: string, role: string | null) {
  const { db } = servicesFrom(context)
  const q = query.trim()
  const users = await db.user.findMany({
    where: {
      ...(q ? { OR: [{ email: { contains: q, mode: 'insensitive' } }, { displayName: { contains: q, mode: 'insensitive' } }] } : {}),
      ...(role && (ROLES as readonly string[]).includes(role) ? { role: role as (typeof ROLES)[number] } : {}),
    },
    orderBy: { createdAt: 'desc' },
    take: 100,
    select: { id: true, email: true, displayName: true, role: true, status: true, createdAt: true },
  })
  return users
}

export async function userDetail(context: AppLoadContext | undefined, userId: string) {
  const { db } = servicesFrom(context)
  if (!isUuid(userId)) throw new Response('No such user.', { status: 404, statusText: 'Not Found' })
  const user = await db.user.findUnique({
    where: { id: userId },
    select: {
      id: true,
      email: true,
      displayName: true,
      role: true,
      status: true,
      createdAt: true,
      emailVerifiedAt: true,
      operator: { select: { ratePerMinuteCents: true, companyId: true } },
      ownedCompany: { select: { id: true, name: true, shareBps: true } },
    },
  })
  if (!user) throw new Response('No such user.', { status: 404 })
  const accounts = await db.account.findMany({
    where: { OR: [{ ownerId: user.id }, ...(user.ownedCompany ? [{ ownerId: user.ownedCompany.id }] : [])] },
    select: { id: true, kind: true, creditsPosted: true, debitsPosted: true, debitsPending: true, creditsPending: true },
  })
  const audit = await db.auditLogEntry.findMany({ where: { subject: `user:${user.id}` }, orderBy: { id: 'desc' }, take: 50 })
  return {
    user,
    accounts: accounts.map((a) => ({
      id: a.id,
      kind: a.kind,
      postedCents: Number(a.creditsPosted - a.debitsPosted),
      availableCents: Number(a.creditsPosted - a.debitsPosted - a.debitsPending),
      pendingInCents: Number(a.creditsPending),
    })),
    audit: audit.map(auditView),
  }
}

export function auditView(entry: { id: bigint; actorId: string | null; channel: string; action: string; subject: string; details: Prisma.JsonValue; createdAt: Date }) {
  return { id: entry.id.toString(), actorId: entry.actorId, channel: entry.channel, action: entry.action, subject: entry.subject, details: JSON.stringify(entry.details), createdAt: entry.createdAt.toISOString() }
}

export async function auditLog(context: AppLoadContext | undefined, beforeId: string | null, action: string | null) {
  const { db } = servicesFrom(context)
  const before = beforeId && /^\d+$/.test(beforeId) ? BigInt(beforeId) : null
  const entries = await db.auditLogEntry.findMany({
    where: { ...(before ? { id: { lt: before } } : {}), ...(action ? { action: { startsWith: action } } : {}) },
    orderBy: { id: 'desc' },
    take: 100,
    include: { actor: { select: { email: true } } },
  })
  return entries.map((e) => ({ ...auditView(e), actorEmail: e.actor?.email ?? null }))
}

export async function payoutQueue(context: AppLoadContext | undefined) {
  const { db } = servicesFrom(context)
  const select = {
    id: true,
    accountId: true,
    amountCents: true,
    status: true,
    workflowId: true,
    requestedAt: true,
    decidedAt: true,
    paidAt: true,
    decisionReason: true,
    providerReference: true,
    requester: { select: { displayName: true, email: true } },
  } as const
  const [waiting, recent] = await Promise.all([
    db.payout.findMany({ where: { status: 'requested' }, orderBy: { requestedAt: 'asc' }, take: 200, select }),
    db.payout.findMany({ where: { status: { not: 'requested' } }, orderBy: { requestedAt: 'desc' }, take: 50, select }),
  ])
  const view = (p: (typeof waiting)[number]) => ({ ...p, amountCents: Number(p.amountCents) })
  return { waiting: waiting.map(view), recent: recent.map(view) }
}

export async function callsForAdmin(context: AppLoadContext | undefined) {
  const { db } = servicesFrom(context)
  const select = {
    id: true,
    workflowId: true,
    status: true,
    startedAt: true,
    endedAt: true,
    endReason: true,
    ratePerMinuteCents: true,
    billedMinutes: true,
    chargedCents: true,
    member: { select: { displayName: true } },
    operator: { select: { user: { select: { displayName: true } } } },
  } as const
  const [active, recent] = await Promise.all([
    db.call.findMany({ where: { status: { in: ['active', 'ending'] } }, orderBy: { startedAt: 'desc' }, take: 200, select }),
    db.call.findMany({ where: { status: 'settled' }, orderBy: { settledAt: 'desc' }, take: 50, select }),
  ])
  const view = (c: (typeof active)[number]) => ({
    id: c.id,
    workflowId: c.workflowId,
    status: c.status,
    startedAt: c.startedAt.toISOString(),
    endedAt: c.endedAt?.toISOString() ?? null,
    endReason: c.endReason,
    ratePerMinuteCents: c.ratePerMinuteCents,
    billedMinutes: c.billedMinutes,
    chargedCents: c.chargedCents === null ? null : Number(c.chargedCents),
    memberName: c.member.displayName,
    operatorName: c.operator.user.displayName,
  })
  return { active: active.map(view), recent: recent.map(view) }
}

/** Revenue and activity per UTC day over the last `days` days, and the top operators of the period. */
export async function revenueStatistics(context: AppLoadContext | undefined, days = 30) {
  const { db } = servicesFrom(context)
  const since = new Date(Date.now() - days * 86_400_000)
  const perDay = await db.$queryRaw<{ day: string; revenue: bigint | null; charged: bigint | null; minutes: bigint | null; operators: bigint; calls: bigint }[]>`
    SELECT to_char(date_trunc('day', settled_at AT TIME ZONE 'UTC'), 'YYYY-MM-DD') AS day,
           sum(commission_cents) AS revenue, sum(charged_cents) AS charged, sum(billed_minutes) AS minutes,
           count(DISTINCT operator_id) AS operators, count(*) AS calls
    FROM calls WHERE status = 'settled' AND settled_at >= ${since}
    GROUP BY 1 ORDER BY 1`
  const top = await db.$queryRaw<{ id: string; display_name: string; charged: bigint | null; minutes: bigint | null; calls: bigint }[]>`
    SELECT u.id, u.display_name, sum(c.charged_cents) AS charged, sum(c.billed_minutes) AS minutes, count(*) AS calls
    FROM calls c JOIN users u ON u.id = c.operator_id
    WHERE c.status = 'settled' AND c.settled_at >= ${since}
    GROUP BY u.id, u.display_name ORDER BY sum(c.charged_cents) DESC NULLS LAST LIMIT 10`
  const byDay = new Map(perDay.map((r) => [r.day, r]))
  const series = Array.from({ length: days }, (_, i) => {
    const day = new Date(Date.now() - (days - 1 - i) * 86_400_000).toISOString().slice(0, 10)
    const row = byDay.get(day)
    return {
      day,
      revenueCents: Number(row?.revenue ?? 0n),
      chargedCents: Number(row?.charged ?? 0n),
      minutes: Number(row?.minutes ?? 0n),
      activeOperators: Number(row?.operators ?? 0n),
      calls: Number(row?.calls ?? 0n),
    }
  })
  return {
    series,
    totals: {
      revenueCents: series.reduce((s, d) => s + d.revenueCents, 0),
      chargedCents: series.reduce((s, d) => s + d.chargedCents, 0),
      minutes: series.reduce((s, d) => s + d.minutes, 0),
      calls: series.reduce((s, d) => s + d.calls, 0),
    },
    top: top.map((t) => ({ id: t.id, displayName: t.display_name, chargedCents: Number(t.charged ?? 0n), minutes: Number(t.minutes ?? 0n), calls: Number(t.calls) })),
  }
}

export async function mailOutbox(context: AppLoadContext | undefined) {
  const { db } = servicesFrom(context)
  const mails = await db.mailMessage.findMany({
    orderBy: { id: 'desc' },
    take: 100,
    select: { id: true, template: true, toAddress: true, subject: true, status: true, attempts: true, lastError: true, createdAt: true, sentAt: true },
  })
  return mails.map((m) => ({ ...m, id: m.id.toString() }))
}

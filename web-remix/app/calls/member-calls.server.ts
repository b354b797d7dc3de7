import { walletBalance } from '../../../activities/ledger/balances.js'
import { toCents } from '../../../activities/ledger/tx.js'
import { fundedPeriods } from '../../../workflows/billing.js'
import type { EndReason } from '../../../workflows/definitions.js'
import type { SessionUser } from '../auth/session.server.js'
import { connectCallWorkflow } from '../../../temporal/calls.js'
import { viewCallAs } from '../plugin-api/calls.server.js'
import { mediaJoinFor } from './call-media.server.js'
import type { PlatformServices } from '../plugin-api/services.server.js'

/** A member's calls: the live panel's figures and the history, only ever the member's own. */

export const endReasonText: Record<EndReason, string> = {
  operator_hangup: 'The operator hung up.',
  member_hangup: 'You hung up.',
  other: 'The call ended.',
  funds_exhausted: 'The platform ended the call: your balance ran out.',
  heartbeat_lost: 'The platform ended the call: the operator’s app lost its connection. You pay only up to that moment.',
  prepaid_exhausted: 'Your prepaid block is used up.',
  operator_disabled: 'The platform ended the call: the operator’s account was disabled.',
  spending_cap: 'The platform ended the call: the next minute would pass your spending cap. You can change your caps on your wallet page.',
  not_connected: 'The call did not connect in time, so it never started.',
  member_left: 'You left the call. You pay only up to that moment.',
  operator_left: 'The operator left the call. You pay only up to that moment.',
}

export async function memberCallPanel(services: PlatformServices, member: SessionUser, callId: string) {
  const call = await services.db.call.findFirst({
    where: { id: callId, memberId: member.id },
    select: {
      mode: true,
      prepaidMinutes: true,
      ratePerMinuteCents: true,
      periodMs: true,
      operatorId: true,
      operator: { select: { user: { select: { displayName: true, callingProvider: true, callingHandle: true } } } },
    },
  })
  if (!call) return null
  const view = await viewCallAs(services, { memberId: member.id }, callId)
  const [wallet, rating] = await Promise.all([
    walletBalance(services.db, member.id),
    services.db.rating.findUnique({ where: { callId }, select: { stars: true } }),
  ])
  const availableCents = wallet?.availableCents ?? 0
  const rate = call.ratePerMinuteCents
  // Minutes the call can still run: a prepaid block's unused minutes; per minute, the periods already held but not
  // yet begun plus those the available balance pays for.
  const periodSeconds = call.periodMs / 1000
  const elapsedPeriods = Math.ceil(view.elapsedSeconds / periodSeconds) || 1
  const minutesLeft =
    call.mode === 'prepaid'
      ? Math.max(0, (call.prepaidMinutes ?? 0) - elapsedPeriods)
      : Math.max(0, Math.floor(view.heldCents / rate) - elapsedPeriods) + fundedPeriods(availableCents, rate)
  return {
    ...view,
    mode: call.mode,
    prepaidMinutes: call.prepaidMinutes,
    ratePerMinuteCents: rate,
    periodSeconds,
    operatorId: call.operatorId,
    operatorName: call.operator.user.displayName,
    /** Where to call the operator, for a call on their outside app that is not over: the member needs it to call. */
    outsideApp:
      view.channel === 'outside' && view.status !== 'settled' && call.operator.user.callingHandle
        ? { provider: call.operator.user.callingProvider ?? 'other', handle: call.operator.user.callingHandle }
        : null,
    availableCents,
    minutesLeft: view.status === 'active' ? minutesLeft : 0,
    /** Stars the member gave this call, or null; a settled call with a billed minute may be rated once. */
    ratedStars: rating?.stars ?? null,
  }
}

export type MemberCallPanel = NonNullable<Awaited<ReturnType<typeof memberCallPanel>>>

/**
 * What the member's page needs to join the call's room (docs/decisions/061): a fresh token for their own call while it
 * is connecting or running, and the ICE servers their browser is to use (LIVEKIT_ICE_SERVERS); null for a call on an
 * outside app or one that is ending or over. The panel is the member's own: memberCallPanel answered it for them.
 */
export async function memberCallMedia(services: PlatformServices, member: SessionUser, panel: MemberCallPanel) {
  if (panel.status !== 'connecting' && panel.status !== 'active') return null
  const join = await mediaJoinFor(services, { id: panel.callId, channel: panel.channel, status: panel.status }, member)
  if (!join) return null
  return { join: { url: join.url, room: join.room, token: join.token }, iceServers: join.iceServers }
}

export const HISTORY_PAGE_SIZE = 25

export async function memberCallHistory(services: PlatformServices, member: SessionUser, page: number) {
  const where = { memberId: member.id }
  const [total, rows] = await Promise.all([
    services.db.call.count({ where }),
    services.db.call.findMany({
      where,
      orderBy: { startedAt: 'desc' },
      skip: (page - 1) * HISTORY_PAGE_SIZE,
      take: HISTORY_PAGE_SIZE,
      select: callHistoryColumns,
    }),
  ])
  return { total, pages: Math.max(1, Math.ceil(total / HISTORY_PAGE_SIZE)), rows: rows.map(historyRow) }
}

const callHistoryColumns = {
  id: true,
  startedAt: true,
  endedAt: true,
  status: true,
  mode: true,
  ratePerMinuteCents: true,
  billedMinutes: true,
  chargedCents: true,
  endReason: true,
  operator: { select: { user: { select: { displayName: true } } } },
} as const

function historyRow(row: {
  id: string
  startedAt: Date
  endedAt: Date | null
  status: string
  mode: string
  ratePerMinuteCents: number
  billedMinutes: number | null
  chargedCents: bigint | null
  endReason: string | null
  operator: { user: { displayName: string } }
}) {
  return {
    id: row.id,
    startedAt: row.startedAt.toISOString(),
    endedAt: row.endedAt?.toISOString() ?? null,
    durationSeconds: row.endedAt ? Math.round((row.endedAt.getTime() - row.startedAt.getTime()) / 1000) : null,
    status: row.status,
    mode: row.mode,
    operatorName: row.operator.user.displayName,
    ratePerMinuteCents: row.ratePerMinuteCents,
    billedMinutes: row.billedMinutes,
    chargedCents: row.chargedCents === null ? null : toCents(row.chargedCents),
    endReason: row.endReason,
  }
}

/** Every call of the member, oldest first, as CSV (RFC 4180: quoted fields, doubled quotes, CRLF). */
export async function memberCallsCsv(services: PlatformServices, member: SessionUser): Promise<string> {
  const rows = (
    await services.db.call.findMany({ where: { memberId: member.id }, orderBy: { startedAt: 'asc' }, select: callHistoryColumns })
  ).map(historyRow)
  const header = ['call_id', 'started_at', 'ended_at', 'operator', 'mode', 'status', 'rate_per_minute_cents', 'billed_minutes', 'charged_cents', 'end_reason']
  const lines = rows.map((row) => [
    row.id,
    row.startedAt,
    row.endedAt ?? '',
    row.operatorName,
    row.mode,
    row.status,
    String(row.ratePerMinuteCents),
    row.billedMinutes === null ? '' : String(row.billedMinutes),
    row.chargedCents === null ? '' : String(row.chargedCents),
    row.endReason ?? '',
  ])
  return [header, ...lines].map((fields) => fields.map(csvField).join(',')).join('\r\n') + '\r\n'
}

function csvField(value: string): string {
  // A leading =, +, - or @ would make a spreadsheet run the cell as a formula: prefix it with a quote.
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value
  return /[",\r\n']/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe
}

/**
 * A call on the operator's outside app starts when its member says it is connected, on their own page (the platform
 * cannot see that app): the moment of this confirmation, on the platform's clock, is the call's start. Answers false
 * when the call is not this member's, not on an outside app, or not waiting for its start any more.
 */
export async function confirmConnected(services: PlatformServices, member: SessionUser, callId: string): Promise<boolean> {
  const [confirmed] = await services.db.$queryRaw<{ confirmed_at: Date }[]>`
    UPDATE calls SET member_confirmed_at = coalesce(member_confirmed_at, now())
    WHERE id = ${callId}::uuid AND member_id = ${member.id}::uuid AND channel = 'outside' AND status = 'connecting'
    RETURNING member_confirmed_at AS confirmed_at`
  if (!confirmed) return false
  await connectCallWorkflow(await services.temporal(), callId, confirmed.confirmed_at.getTime(), { wait: false })
  return true
}

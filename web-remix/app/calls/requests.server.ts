import { walletBalance } from '../../../activities/ledger/balances.js'
import { recordCallRequests } from '../../../activities/call-requests.js'
import { spendingCapAllows } from '../../../activities/spending-caps.js'
import { capRefusalMessage } from '../wallet/caps.js'
import { canStartCall } from '../../../workflows/billing.js'
import type { PlatformServices } from '../plugin-api/services.server.js'
import type { SessionUser } from '../auth/session.server.js'
import { CALL_CHANNELS, type CallChannel } from '../../../workflows/definitions.js'

/**
 * A member asking an operator for a call. The request reaches the operator's plugin as a `call.requested` event; the
 * operator accepts by starting the call through the plugin API (which links it here and tells the member's page),
 * or declines. Nothing is reserved by a request: the call's workflow reserves money when the call starts.
 */

export { CALL_REQUEST_TTL_MS } from '../../../activities/call-requests.js'
export const MAX_PREPAID_BOOKING_MINUTES = 240

/** A channel the member may ask for: audio or video in the platform's room, or the operator's outside app. */
export const isCallChannel = (value: string): value is CallChannel => (CALL_CHANNELS as readonly string[]).includes(value)

export type RequestRefusal =
  | { reason: 'operator_not_found'; message: string }
  | { reason: 'operator_unavailable'; message: string }
  | { reason: 'insufficient_funds'; message: string; requiredCents: number; availableCents: number }
  | { reason: 'invalid'; message: string }
  | { reason: 'spending_cap'; message: string }

export type RequestOutcome = { ok: true; requestId: string } | ({ ok: false } & RequestRefusal)

export async function requestCall(
  services: PlatformServices,
  member: SessionUser,
  input: { operatorId: string; mode: 'per_minute' | 'prepaid'; prepaidMinutes: number | null; channel?: CallChannel },
  now = new Date(),
): Promise<RequestOutcome> {
  // In the platform's room unless the member chose the operator's outside app.
  const channel = input.channel ?? 'audio'
  const { db } = services
  if (input.mode === 'prepaid') {
    const minutes = input.prepaidMinutes
    if (minutes === null || !Number.isInteger(minutes) || minutes < 1 || minutes > MAX_PREPAID_BOOKING_MINUTES) {
      return { ok: false, reason: 'invalid', message: `Choose between 1 and ${MAX_PREPAID_BOOKING_MINUTES} minutes.` }
    }
  }
  const operator = await db.operator.findUnique({
    where: { userId: input.operatorId },
    select: {
      userId: true,
      ratePerMinuteCents: true,
      presence: true,
      presenceExpiresAt: true,
      user: { select: { status: true, displayName: true, callingProvider: true, callingHandle: true } },
    },
  })
  if (!operator || operator.user.status !== 'active') return { ok: false, reason: 'operator_not_found', message: 'This operator does not exist.' }
  if (channel === 'outside' && !operator.user.callingHandle) {
    return { ok: false, reason: 'invalid', message: `${operator.user.displayName} takes calls only here on the platform.` }
  }
  const online = operator.presence === 'online' && operator.presenceExpiresAt !== null && operator.presenceExpiresAt > now
  if (!online) {
    const why = operator.presence === 'busy' ? 'is on another call' : 'is offline'
    return { ok: false, reason: 'operator_unavailable', message: `${operator.user.displayName} ${why} right now. Try again later or schedule a call.` }
  }
  const rate = operator.ratePerMinuteCents
  const requiredCents = input.mode === 'prepaid' ? rate * input.prepaidMinutes! : rate
  const availableCents = (await walletBalance(db, member.id))?.availableCents ?? 0
  if (!canStartCall(availableCents, requiredCents)) {
    return {
      ok: false,
      reason: 'insufficient_funds',
      requiredCents,
      availableCents,
      message: input.mode === 'prepaid' ? 'Your balance does not cover this block of minutes.' : 'Your balance does not cover one minute with this operator.',
    }
  }
  // The member's own cap: the first minute (or the whole block) must fit in what today and this month still allow.
  const cap = await spendingCapAllows(db, member.id, requiredCents, now)
  if (!cap.allowed) return { ok: false, reason: 'spending_cap', message: capRefusalMessage(cap) }
  return db.$transaction(async (tx) => {
    // A second click while the first request waits is the same request.
    const waiting = await tx.callRequest.findFirst({
      where: { memberId: member.id, operatorId: operator.userId, status: 'pending', expiresAt: { gt: now }, mode: input.mode, prepaidMinutes: input.prepaidMinutes, channel },
      select: { id: true },
    })
    if (waiting) return { ok: true as const, requestId: waiting.id }
    const [recorded] = await recordCallRequests(
      tx,
      [{ memberId: member.id, operatorId: operator.userId, mode: input.mode, prepaidMinutes: input.prepaidMinutes, ratePerMinuteCents: rate, channel }],
      now,
    )
    return { ok: true as const, requestId: recorded!.id }
  })
}

export type RequestState = 'waiting' | 'accepted' | 'declined' | 'expired' | 'cancelled'

export async function viewCallRequest(services: PlatformServices, member: SessionUser, requestId: string, now = new Date()) {
  const row = await services.db.callRequest.findUnique({
    where: { id: requestId },
    select: {
      id: true,
      memberId: true,
      status: true,
      mode: true,
      prepaidMinutes: true,
      ratePerMinuteCents: true,
      channel: true,
      callId: true,
      expiresAt: true,
      operator: { select: { userId: true, user: { select: { displayName: true, callingProvider: true } } } },
    },
  })
  // Another member's request does not exist, as far as this member can tell.
  if (!row || row.memberId !== member.id) return null
  const state: RequestState =
    row.status === 'accepted' ? 'accepted' : row.status === 'declined' ? 'declined' : row.status === 'cancelled' ? 'cancelled' : row.expiresAt <= now ? 'expired' : 'waiting'
  return {
    id: row.id,
    state,
    mode: row.mode,
    prepaidMinutes: row.prepaidMinutes,
    ratePerMinuteCents: row.ratePerMinuteCents,
    channel: row.channel as CallChannel,
    callingProvider: row.operator.user.callingProvider,
    callId: row.callId,
    expiresAt: row.expiresAt.toISOString(),
    operatorId: row.operator.userId,
    operatorName: row.operator.user.displayName,
  }
}

export async function cancelCallRequest(services: PlatformServices, member: SessionUser, requestId: string): Promise<boolean> {
  const { count } = await services.db.callRequest.updateMany({
    where: { id: requestId, memberId: member.id, status: 'pending' },
    data: { status: 'cancelled', answeredAt: new Date() },
  })
  return count === 1
}

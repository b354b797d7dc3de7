import { z } from 'zod'
import { walletBalance } from '../../../activities/ledger/balances.js'
import { latestOpenRequest } from '../../../activities/call-requests.js'
import { memberRatingSummary } from '../../../activities/ratings.js'
import { fundedPeriods } from '../../../workflows/billing.js'
import type { AuthenticatedOperator } from './auth.server.js'
import { apiError } from './errors.server.js'
import type { PlatformServices } from './services.server.js'
import { text } from './validation.server.js'

/** Who is calling: what the plugin shows the operator before they pick up. */

export const lookupQuery = z.object({
  handle: text(1, 200)
    .transform((handle) => handle.trim())
    .pipe(z.string().min(1, 'must not be blank')),
})

/** The member's consent this operator may answer now: their open request, or their booking whose money is reserved. */
export interface MemberRequestSummary {
  requestId: string
  mode: 'per_minute' | 'prepaid'
  prepaidMinutes: number | null
  ratePerMinuteCents: number
  requestedAt: string
  expiresAt: string
}

export interface MemberBookingSummary {
  scheduledCallId: string
  prepaidMinutes: number
  ratePerMinuteCents: number
  startsAt: string
}

export interface MemberSummary {
  id: string
  displayName: string
  availableCents: number
  /** Whole minutes the member's available balance pays for at the price of their request (else this operator's). */
  fundedMinutes: number
  /** The average charge of the member's paid calls (rounded to the cent), 0 before the first. */
  averageSpendCents: number
  paidCalls: number
  /** What operators gave this member (member_ratings, docs/decisions/012-ratings.md): average stars and how many. */
  rating: { average: number | null; count: number }
  /** The member's latest open request to this operator, which a call may answer (null when none). */
  request: MemberRequestSummary | null
  /** The member's scheduled call with this operator whose money is reserved now, which a call may answer. */
  booking: MemberBookingSummary | null
}

/** Bookings that make a member this operator's caller: asked for, agreed, or due now. */
const UPCOMING_BOOKINGS = ['proposed', 'accepted', 'reserved'] as const

/**
 * Who is calling. An operator learns about a member only when that member is asking them for a call: an open request
 * to this operator, or a booking with them (docs/decisions/046). Everyone else is unknown (404), exactly like a handle
 * nobody uses, so the look-up cannot be used to read strangers' balances.
 */
export async function lookupMember(services: PlatformServices, operator: AuthenticatedOperator, handle: string, now = new Date()): Promise<MemberSummary> {
  const member = await services.db.user.findFirst({
    where: {
      callingHandle: handle,
      role: 'member',
      status: 'active',
      OR: [
        { callRequests: { some: { operatorId: operator.id, status: 'pending', expiresAt: { gt: now } } } },
        { scheduledCalls: { some: { operatorId: operator.id, status: { in: [...UPCOMING_BOOKINGS] } } } },
      ],
    },
    select: { id: true, displayName: true },
  })
  if (!member) throw apiError(404, 'member_not_found', 'no member uses this handle')

  const [balance, spend, rating, request, booking] = await Promise.all([
    walletBalance(services.db, member.id),
    // Averaged by PostgreSQL over exact numerics: no floating point touches an amount.
    services.db.$queryRaw<{ paid_calls: bigint; average_cents: bigint | null }[]>`
      SELECT count(*) AS paid_calls, round(avg(charged_cents))::bigint AS average_cents
      FROM calls WHERE member_id = ${member.id}::uuid AND status = 'settled' AND billed_minutes > 0`,
    memberRatingSummary(services.db, member.id),
    latestOpenRequest(services.db, member.id, operator.id, now),
    services.db.scheduledCall.findFirst({
      where: { memberId: member.id, operatorId: operator.id, status: 'reserved' },
      select: { id: true, minutes: true, ratePerMinuteCents: true, startsAt: true },
    }),
  ])
  const availableCents = balance?.availableCents ?? 0
  return {
    id: member.id,
    displayName: member.displayName,
    availableCents,
    fundedMinutes: fundedPeriods(availableCents, request?.ratePerMinuteCents ?? operator.ratePerMinuteCents),
    averageSpendCents: Number(spend[0]?.average_cents ?? 0),
    paidCalls: Number(spend[0]?.paid_calls ?? 0),
    rating,
    request,
    booking: booking
      ? { scheduledCallId: booking.id, prepaidMinutes: booking.minutes, ratePerMinuteCents: booking.ratePerMinuteCents, startsAt: booking.startsAt.toISOString() }
      : null,
  }
}

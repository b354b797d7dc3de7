import { z } from 'zod'
import { walletBalance } from '../../../activities/ledger/balances.js'
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

export interface MemberSummary {
  id: string
  displayName: string
  availableCents: number
  /** Whole minutes the member's available balance pays for at this operator's price. */
  fundedMinutes: number
  /** The average charge of the member's paid calls (rounded to the cent), 0 before the first. */
  averageSpendCents: number
  paidCalls: number
  /** What operators gave this member (member_ratings, docs/decisions/012-ratings.md): average stars and how many. */
  rating: { average: number | null; count: number }
}

export async function lookupMember(services: PlatformServices, operator: AuthenticatedOperator, handle: string): Promise<MemberSummary> {
  const member = await services.db.user.findFirst({
    where: { callingHandle: handle, role: 'member', status: 'active' },
    select: { id: true, displayName: true },
  })
  if (!member) throw apiError(404, 'member_not_found', 'no member uses this handle')

  const [balance, spend, rating] = await Promise.all([
    walletBalance(services.db, member.id),
    // Averaged by PostgreSQL over exact numerics: no floating point touches an amount.
    services.db.$queryRaw<{ paid_calls: bigint; average_cents: bigint | null }[]>`
      SELECT count(*) AS paid_calls, round(avg(charged_cents))::bigint AS average_cents
      FROM calls WHERE member_id = ${member.id}::uuid AND status = 'settled' AND billed_minutes > 0`,
    memberRatingSummary(services.db, member.id),
  ])
  const availableCents = balance?.availableCents ?? 0
  return {
    id: member.id,
    displayName: member.displayName,
    availableCents,
    fundedMinutes: fundedPeriods(availableCents, operator.ratePerMinuteCents),
    averageSpendCents: Number(spend[0]?.average_cents ?? 0),
    paidCalls: Number(spend[0]?.paid_calls ?? 0),
    rating,
  }
}

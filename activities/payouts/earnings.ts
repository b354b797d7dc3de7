import { accountIds } from '../ledger/accounts.js'
import { toCents, type Tx } from '../ledger/tx.js'
import type { PayeeKind } from '../../workflows/payout.js'

/**
 * What an operator or a company has earned, and how much of it can be paid out. Earnings of a call stay "clearing"
 * for the clearing period after its settlement (chargebacks and disputes land in that window); money reserved by
 * payout requests in flight is not available either. Read-only: safe for the web.
 */

export interface EarningsSummary {
  accountId: string
  /** Credits posted minus debits posted: what the account holds. */
  balanceCents: number
  /** Holds of calls in progress, not earned yet. */
  inCallsCents: number
  /** Earned from calls settled within the clearing period. */
  clearingCents: number
  /** Reserved by payout requests waiting for approval or payment. */
  inPayoutCents: number
  /** What a payout may take now. */
  availableCents: number
  clearingHours: number
}

export function earningsAccountId(kind: PayeeKind, id: string): string {
  return kind === 'operator' ? accountIds.operatorEarnings(id) : accountIds.companyEarnings(id)
}

export async function earningsSummary(tx: Tx, kind: PayeeKind, id: string, clearingHours: number, now = new Date()): Promise<EarningsSummary> {
  const accountId = earningsAccountId(kind, id)
  const [account] = await tx.$queryRaw<{ debits_posted: bigint; credits_posted: bigint; debits_pending: bigint; credits_pending: bigint }[]>`
    SELECT debits_posted, credits_posted, debits_pending, credits_pending FROM accounts WHERE id = ${accountId}`
  const since = new Date(now.getTime() - clearingHours * 3_600_000)
  const [clearing] =
    kind === 'operator'
      ? await tx.$queryRaw<{ cents: bigint | null }[]>`
          SELECT sum(operator_earnings_cents)::bigint AS cents FROM calls WHERE operator_id = ${id}::uuid AND status = 'settled' AND settled_at > ${since}`
      : await tx.$queryRaw<{ cents: bigint | null }[]>`
          SELECT sum(company_share_cents)::bigint AS cents FROM calls WHERE company_id = ${id}::uuid AND status = 'settled' AND settled_at > ${since}`
  const balanceCents = account ? toCents(account.credits_posted) - toCents(account.debits_posted) : 0
  const inPayoutCents = account ? toCents(account.debits_pending) : 0
  const clearingCents = toCents(clearing?.cents ?? 0n)
  return {
    accountId,
    balanceCents,
    inCallsCents: account ? toCents(account.credits_pending) : 0,
    clearingCents,
    inPayoutCents,
    availableCents: Math.max(0, balanceCents - inPayoutCents - clearingCents),
    clearingHours,
  }
}

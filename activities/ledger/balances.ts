import { accountIds } from './accounts.js'
import { toCents, type Tx } from './tx.js'

/** Reading balances: no locks, no writes, safe for the web to import. */

export interface AccountBalance {
  accountId: string
  postedCents: number
  pendingDebitCents: number
  /** What can still be spent: credits posted − debits posted − debits pending. */
  availableCents: number
}

export async function accountBalance(tx: Tx, accountId: string): Promise<AccountBalance | null> {
  const rows = await tx.$queryRaw<{ debits_posted: bigint; credits_posted: bigint; debits_pending: bigint }[]>`
    SELECT debits_posted, credits_posted, debits_pending FROM accounts WHERE id = ${accountId}`
  const row = rows[0]
  if (!row) return null
  const posted = toCents(row.credits_posted) - toCents(row.debits_posted)
  const pending = toCents(row.debits_pending)
  return { accountId, postedCents: posted, pendingDebitCents: pending, availableCents: posted - pending }
}

/** A member's wallet: posted, reserved by holds, and available. */
export async function walletBalance(tx: Tx, memberId: string): Promise<AccountBalance | null> {
  return accountBalance(tx, accountIds.memberWallet(memberId))
}

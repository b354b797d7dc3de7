import type { Db } from '../prisma/client.js'
import { accountIds } from './ledger/accounts.js'
import { accountBalance, type AccountBalance } from './ledger/balances.js'
import { createTransfer } from './ledger/transfers.js'
import type { Tx } from './ledger/tx.js'
import { updateLowBalance } from './calls.js'

/**
 * Money into a member's wallet. A credit is a posted transfer from the source account (payment clearing for a
 * top-up, adjustments for promotions and manual corrections); it clears the low-balance warning of the member's
 * live calls in the same transaction, so the call simply continues.
 */

export type WalletCreditSource = 'payment_clearing' | 'adjustments'

export interface WalletCredit {
  /** Deterministic id, e.g. "topup:<paymentId>" or "adjustment:<uuid>": crediting twice changes nothing. */
  transferId: string
  memberId: string
  amountCents: number
  source: WalletCreditSource
  code: 'topup' | 'wallet_adjustment'
  memo?: string
}

/**
 * `alongside` runs in the credit's own transaction (an audit entry, say), so the two commit or fail together.
 */
export async function creditMemberWallet<T = undefined>(
  db: Db,
  credit: WalletCredit,
  alongside?: (tx: Tx, outcome: { created: boolean; balance: AccountBalance }) => Promise<T>,
): Promise<{ created: boolean; balance: AccountBalance; alongside: T | undefined }> {
  return db.$transaction(async (tx) => {
    const wallet = accountIds.memberWallet(credit.memberId)
    const { created } = await createTransfer(tx, {
      id: credit.transferId,
      debitAccountId: credit.source === 'payment_clearing' ? accountIds.paymentClearing : accountIds.adjustments,
      creditAccountId: wallet,
      amountCents: credit.amountCents,
      pending: false,
      code: credit.code,
      memo: credit.memo ?? null,
    })
    const balance = (await accountBalance(tx, wallet))!
    if (created) {
      const calls = await tx.$queryRaw<
        { id: string; member_id: string; operator_id: string; mode: 'per_minute' | 'prepaid'; low_balance: boolean; rate_per_minute_cents: number; low_balance_periods: number }[]
      >`SELECT id, member_id, operator_id, mode, low_balance, rate_per_minute_cents, low_balance_periods
        FROM calls WHERE member_id = ${credit.memberId}::uuid AND status = 'active' AND low_balance FOR UPDATE`
      for (const call of calls) await updateLowBalance(tx, call, balance.availableCents)
    }
    return { created, balance, alongside: alongside ? await alongside(tx, { created, balance }) : undefined }
  })
}

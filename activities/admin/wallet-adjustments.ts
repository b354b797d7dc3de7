import { randomUUID } from 'node:crypto'
import type { Db } from '../../prisma/client.js'
import type { AccountBalance } from '../ledger/balances.js'
import { creditMemberWallet } from '../wallets.js'
import { recordAuditEntry, type AuditContext } from './audit.js'

/**
 * A manual credit to a member's wallet (a goodwill gesture, a correction): a posted transfer from the adjustments
 * account with a reason, and an audit entry. The idempotency key makes it safe to repeat: the same key credits once.
 */

export interface WalletAdjustmentRequest {
  memberId: string
  amountCents: number
  reason: string
  /** The same key credits once; without one, a fresh key makes this a new adjustment. */
  idempotencyKey?: string
}

export interface WalletAdjustment {
  transferId: string
  /** False when the key had been used already: nothing was credited this time. */
  created: boolean
  amountCents: number
  balance: AccountBalance
  auditEntryId: string
}

export const adjustmentTransferId = (idempotencyKey: string) => `adjustment:${idempotencyKey}`

export async function adjustMemberWallet(
  db: Db,
  request: WalletAdjustmentRequest,
  audit: AuditContext,
): Promise<WalletAdjustment> {
  if (!Number.isSafeInteger(request.amountCents) || request.amountCents <= 0) {
    throw new RangeError(`an adjustment credits a positive whole number of cents, got ${request.amountCents}`)
  }
  const reason = request.reason.trim()
  if (!reason) throw new RangeError('an adjustment needs a reason')
  const transferId = adjustmentTransferId(request.idempotencyKey ?? randomUUID())

  // The audit entry commits with the credit. A repeat with the same key credits nothing and finds the first entry.
  const { created, balance, alongside: auditEntryId } = await creditMemberWallet(
    db,
    {
      transferId,
      memberId: request.memberId,
      amountCents: request.amountCents,
      source: 'adjustments',
      code: 'wallet_adjustment',
      // The reason travels with the money too, so the ledger alone explains the movement.
      memo: reason,
    },
    async (tx, outcome) => {
      if (!outcome.created) {
        const existing = await tx.$queryRaw<{ id: bigint }[]>`
          SELECT id FROM audit_log WHERE action = 'wallet.credit' AND details->>'transferId' = ${transferId} LIMIT 1`
        if (existing[0]) return existing[0].id.toString()
      }
      return recordAuditEntry(tx, {
        channel: audit.channel,
        actorId: audit.actorId,
        action: 'wallet.credit',
        subject: `user:${request.memberId}`,
        details: {
          transferId,
          memberId: request.memberId,
          amountCents: request.amountCents,
          reason,
          ...(audit.origin ? { origin: audit.origin } : {}),
        },
      })
    },
  )
  return { transferId, created, amountCents: request.amountCents, balance, auditEntryId: auditEntryId! }
}

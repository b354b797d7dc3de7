import type { PlatformConfig } from '../../config/env.js'
import type { Db } from '../../prisma/client.js'
import type { PayoutActivities, PayoutInput, PayoutRequestOutcome } from '../../workflows/payout.js'
import { payoutWorkflowId } from '../../workflows/payout.js'
import { recordAuditEntry } from '../admin/audit.js'
import { accountIds, openAccount } from '../ledger/accounts.js'
import { createTransfer, postPendingTransfer, voidPendingTransfer } from '../ledger/transfers.js'
import { readPlatformSettings } from '../settings.js'
import { earningsAccountId, earningsSummary } from './earnings.js'
import { createSandboxPayoutProvider, type PayoutProvider } from './provider.js'

/** The payout workflow's side effects. Each one is idempotent: the payout's id is the key of its row and transfer. */

export const payoutTransferId = (payoutId: string) => `payout:${payoutId}`

export class PayoutStateError extends Error {
  override name = 'PayoutStateError'
}

export function createPayoutActivities(db: Db, config: PlatformConfig, provider: PayoutProvider = createSandboxPayoutProvider(db)): PayoutActivities {
  async function payoutRow(payoutId: string) {
    const payout = await db.payout.findUnique({ where: { id: payoutId } })
    if (!payout) throw new PayoutStateError(`no payout ${payoutId}`)
    return payout
  }

  return {
    async requestPayout(input: PayoutInput): Promise<PayoutRequestOutcome> {
      const { payoutId, payee, amountCents } = input
      const refused = (reason: 'below_minimum' | 'insufficient_available' | 'payee_not_found', extra: object = {}): PayoutRequestOutcome => ({
        status: 'refused',
        payoutId,
        reason,
        ...extra,
      })
      return db.$transaction(async (tx) => {
        const existing = await tx.payout.findUnique({ where: { id: payoutId } })
        if (existing) return { status: 'requested', payoutId, amountCents: Number(existing.amountCents) }

        // The payee must exist, and the requester must be the operator or the company's owner.
        const owns =
          payee.kind === 'operator'
            ? input.requestedBy === payee.id && (await tx.operator.count({ where: { userId: payee.id } })) === 1
            : (await tx.company.count({ where: { id: payee.id, ownerUserId: input.requestedBy } })) === 1
        if (!owns) return refused('payee_not_found')

        const settings = await readPlatformSettings(tx, config)
        if (!Number.isSafeInteger(amountCents) || amountCents < settings.payoutMinimumCents) {
          return refused('below_minimum', { minimumCents: settings.payoutMinimumCents })
        }
        const accountId = earningsAccountId(payee.kind, payee.id)
        await openAccount(tx, accountId, payee.kind === 'operator' ? 'operator_earnings' : 'company_earnings', payee.id)
        // Requests for the same account queue here, so two of them cannot both take the same available money.
        await tx.$queryRaw`SELECT id FROM accounts WHERE id = ${accountId} FOR NO KEY UPDATE`
        const earnings = await earningsSummary(tx, payee.kind, payee.id, settings.earningsClearingHours)
        if (amountCents > earnings.availableCents) {
          return refused('insufficient_available', { availableCents: earnings.availableCents })
        }
        await createTransfer(tx, {
          id: payoutTransferId(payoutId),
          debitAccountId: accountId,
          creditAccountId: accountIds.payoutClearing,
          amountCents,
          code: 'payout',
          pending: true,
          memo: `payout ${payoutId}`,
        })
        await tx.payout.create({
          data: {
            id: payoutId,
            accountId,
            operatorId: payee.kind === 'operator' ? payee.id : null,
            companyId: payee.kind === 'company' ? payee.id : null,
            requestedBy: input.requestedBy,
            amountCents: BigInt(amountCents),
            workflowId: payoutWorkflowId(payoutId),
          },
        })
        await recordAuditEntry(tx, {
          channel: 'web',
          actorId: input.requestedBy,
          action: 'payout.request',
          subject: `payout:${payoutId}`,
          details: { payoutId, accountId, amountCents, transferId: payoutTransferId(payoutId) },
        })
        return { status: 'requested', payoutId, amountCents }
      })
    },

    async recordPayoutApproval({ payoutId, adminId }) {
      await db.$transaction(async (tx) => {
        const approved = await tx.payout.updateMany({
          where: { id: payoutId, status: 'requested' },
          data: { status: 'approved', decidedBy: adminId, decidedAt: new Date() },
        })
        if (approved.count === 0) {
          const row = await tx.payout.findUnique({ where: { id: payoutId }, select: { status: true } })
          if (row?.status === 'approved' || row?.status === 'paid') return
          throw new PayoutStateError(`payout ${payoutId} is ${row?.status ?? 'missing'}, it cannot be approved`)
        }
        await recordAuditEntry(tx, { channel: 'web', actorId: adminId, action: 'payout.approve', subject: `payout:${payoutId}`, details: { payoutId } })
      })
    },

    async sendPayout({ payoutId }) {
      const payout = await payoutRow(payoutId)
      if (payout.status === 'paid' && payout.provider && payout.providerReference) {
        return { provider: payout.provider, reference: payout.providerReference }
      }
      if (payout.status !== 'approved') throw new PayoutStateError(`payout ${payoutId} is ${payout.status}, it cannot be sent`)
      const { reference } = await provider.send({ idempotencyKey: payoutId, amountCents: Number(payout.amountCents), payee: payout.accountId })
      return { provider: provider.name, reference }
    },

    async completePayout({ payoutId, provider: providerName, reference }) {
      await db.$transaction(async (tx) => {
        const payout = await tx.payout.findUnique({ where: { id: payoutId } })
        if (!payout) throw new PayoutStateError(`no payout ${payoutId}`)
        if (payout.status === 'paid') return
        if (payout.status !== 'approved') throw new PayoutStateError(`payout ${payoutId} is ${payout.status}, it cannot be paid`)
        await postPendingTransfer(tx, payoutTransferId(payoutId))
        await tx.payout.update({ where: { id: payoutId }, data: { status: 'paid', paidAt: new Date(), provider: providerName, providerReference: reference } })
        await recordAuditEntry(tx, {
          channel: 'web',
          actorId: null,
          action: 'payout.paid',
          subject: `payout:${payoutId}`,
          details: { payoutId, amountCents: Number(payout.amountCents), provider: providerName, reference },
        })
      })
    },

    async rejectPayout({ payoutId, adminId, reason }) {
      await db.$transaction(async (tx) => {
        const payout = await tx.payout.findUnique({ where: { id: payoutId } })
        if (!payout) throw new PayoutStateError(`no payout ${payoutId}`)
        if (payout.status === 'rejected') return
        if (payout.status !== 'requested') throw new PayoutStateError(`payout ${payoutId} is ${payout.status}, it cannot be rejected`)
        await voidPendingTransfer(tx, payoutTransferId(payoutId))
        await tx.payout.update({ where: { id: payoutId }, data: { status: 'rejected', decidedBy: adminId, decidedAt: new Date(), decisionReason: reason } })
        await recordAuditEntry(tx, {
          channel: 'web',
          actorId: adminId,
          action: 'payout.reject',
          subject: `payout:${payoutId}`,
          details: { payoutId, amountCents: Number(payout.amountCents), reason },
        })
      })
    },
  }
}

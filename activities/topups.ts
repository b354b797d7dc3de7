import { ApplicationFailure } from '@temporalio/activity'
import type { Db } from '../prisma/client.js'
import {
  nextTopUpStatus,
  topUpTransferId,
  type FinalPaymentResult,
  type PaymentConfirmation,
  type TopUpActivities,
  type TopUpCompletion,
  type TopUpFinalStatus,
  type TopUpInput,
  type TopUpOpening,
  type TopUpStatus,
} from '../workflows/topup.js'
import { toCents, type Tx } from './ledger/tx.js'
import type { PaymentProvider } from './payments/provider.js'
import { depositCapAllows } from './spending-caps.js'
import { creditMemberWallet } from './wallets.js'

/** A top-up's side effects (workflows/topup.ts). Each runs in one transaction where it writes, and is idempotent. */

export interface TopUpActivityDeps {
  db: Db
  payments: PaymentProvider
  /** How long a checkout stays payable. */
  checkoutTtlMs: number
  minCents: number
  maxCents: number
  /** Runs in the credit's transaction when a payment is credited (the receipt mail). */
  onCredited?: (tx: Tx, receipt: TopUpReceipt) => Promise<void>
}

export interface TopUpReceipt {
  paymentId: string
  memberId: string
  amountCents: number
  providerPaymentId: string
  balanceCents: number
}

interface TopUpRow {
  id: string
  member_id: string
  amount_cents: bigint
  provider: string
  provider_session_id: string | null
  checkout_url: string | null
  status: TopUpStatus
  expires_at: Date
  confirmed_by: string | null
}

async function findTopUp(tx: Tx, paymentId: string, lock = false): Promise<TopUpRow | null> {
  const rows = lock
    ? await tx.$queryRaw<TopUpRow[]>`
        SELECT id, member_id, amount_cents, provider, provider_session_id, checkout_url, status, expires_at, confirmed_by
        FROM topups WHERE id = ${paymentId}::uuid FOR UPDATE`
    : await tx.$queryRaw<TopUpRow[]>`
        SELECT id, member_id, amount_cents, provider, provider_session_id, checkout_url, status, expires_at, confirmed_by
        FROM topups WHERE id = ${paymentId}::uuid`
  return rows[0] ?? null
}

function conflict(message: string): never {
  throw ApplicationFailure.create({ type: 'TopUpConflictError', message, nonRetryable: true })
}

export function createTopUpActivities(deps: TopUpActivityDeps): TopUpActivities {
  const { db, payments } = deps

  /** Records the top-up unless it exists; refuses amounts out of range and deposits over a cap. */
  async function recordTopUp(input: TopUpInput): Promise<TopUpOpening | TopUpRow> {
    const request = input.request!
    return db.$transaction(async (tx) => {
      const existing = await findTopUp(tx, input.paymentId)
      if (existing) return existing
      const amount = request.amountCents
      if (!Number.isSafeInteger(amount) || amount < deps.minCents || amount > deps.maxCents) {
        return { status: 'refused', paymentId: input.paymentId, reason: 'amount_out_of_range' }
      }
      const member = await tx.$queryRaw<{ id: string }[]>`
        SELECT id FROM users WHERE id = ${request.memberId}::uuid AND role = 'member' AND status = 'active'`
      if (!member[0]) return { status: 'refused', paymentId: input.paymentId, reason: 'member_not_found' }
      const now = new Date()
      const cap = await depositCapAllows(tx, request.memberId, amount, now)
      if (!cap.allowed) {
        return {
          status: 'refused',
          paymentId: input.paymentId,
          reason: 'spending_cap',
          detail: { cap: cap.cap, limitCents: cap.limitCents, usedCents: cap.usedCents },
        }
      }
      const expiresAt = new Date(now.getTime() + deps.checkoutTtlMs)
      const rows = await tx.$queryRaw<TopUpRow[]>`
        INSERT INTO topups (id, member_id, amount_cents, idempotency_key, provider, status, created_at, expires_at)
        VALUES (${input.paymentId}::uuid, ${request.memberId}::uuid, ${amount}, ${request.idempotencyKey}, ${payments.name},
                'open', ${now}, ${expiresAt})
        RETURNING id, member_id, amount_cents, provider, provider_session_id, checkout_url, status, expires_at, confirmed_by`
      return rows[0]!
    })
  }

  return {
    async openTopUp(input) {
      const recorded = input.request ? await recordTopUp(input) : await findTopUp(db, input.paymentId)
      if (!recorded) return { status: 'refused', paymentId: input.paymentId, reason: 'not_found' }
      if ('paymentId' in recorded) return recorded
      let row = recorded
      const amountCents = toCents(row.amount_cents)
      if (input.request && (input.request.memberId !== row.member_id || input.request.amountCents !== amountCents)) {
        conflict(`payment ${input.paymentId} exists for another member or amount`)
      }
      if (row.status !== 'open') return { status: 'finished', paymentId: row.id, amountCents, topUpStatus: row.status }
      if (!row.checkout_url) {
        // Without the member's request there is no return address to open a checkout with; and without a checkout
        // nothing can have been paid, so the workflow lets the top-up expire.
        if (!input.request) return { status: 'open', paymentId: row.id, amountCents, checkoutUrl: '', expiresAtMs: row.expires_at.getTime() }
        // The provider's own idempotency key makes a retried activity find the same checkout.
        const session = await payments.createCheckoutSession({
          paymentId: row.id,
          memberId: row.member_id,
          amountCents,
          description: 'Wallet top-up',
          idempotencyKey: `topup:${row.id}`,
          returnUrl: input.request.returnUrl,
          webhookUrl: input.request.webhookUrl,
          expiresAt: row.expires_at,
        })
        await db.$executeRaw`
          UPDATE topups SET provider_session_id = ${session.sessionId}, checkout_url = ${session.checkoutUrl}
          WHERE id = ${row.id}::uuid AND provider_session_id IS NULL`
        row = (await findTopUp(db, row.id))!
      }
      return { status: 'open', paymentId: row.id, amountCents, checkoutUrl: row.checkout_url!, expiresAtMs: row.expires_at.getTime() }
    },

    async expireCheckout({ paymentId }): Promise<FinalPaymentResult> {
      const row = await findTopUp(db, paymentId)
      if (!row?.provider_session_id) return { status: 'expired' }
      const state = await payments.expireCheckoutSession(row.provider_session_id)
      return state.result
    },

    async completeTopUp({ paymentId, confirmation }): Promise<TopUpCompletion> {
      const row = await findTopUp(db, paymentId)
      if (!row) conflict(`no top-up ${paymentId}`)
      const { result } = confirmation
      if (result.status === 'succeeded') return credit(row, result, confirmation)
      return db.$transaction(async (tx) => {
        const locked = (await findTopUp(tx, paymentId, true))!
        const status = nextTopUpStatus(locked.status, result) as TopUpFinalStatus
        if (status !== locked.status) {
          await tx.$executeRaw`
            UPDATE topups SET status = ${status}::"TopUpStatus", completed_at = now(), confirmed_by = ${confirmation.source},
                   decline_reason = ${result.status === 'declined' ? result.reason : null}
            WHERE id = ${paymentId}::uuid`
        }
        return { paymentId, status, credited: false, confirmedBy: (status !== locked.status ? confirmation.source : locked.confirmed_by) as TopUpCompletion['confirmedBy'] }
      })
    },
  }

  async function credit(
    row: TopUpRow,
    result: Extract<FinalPaymentResult, { status: 'succeeded' }>,
    confirmation: PaymentConfirmation,
  ): Promise<TopUpCompletion> {
    const amountCents = toCents(row.amount_cents)
    if (result.amountCents !== amountCents) {
      throw ApplicationFailure.create({
        type: 'PaymentAmountMismatchError',
        message: `payment ${row.id}: the provider took ${result.amountCents} cents for a top-up of ${amountCents}`,
        nonRetryable: true,
      })
    }
    // The transfer's id is the payment's: whichever confirmation gets here first credits, every other one finds the
    // transfer made and changes nothing. The top-up's row is marked in the same transaction.
    const { created, alongside } = await creditMemberWallet(
      db,
      {
        transferId: topUpTransferId(row.id),
        memberId: row.member_id,
        amountCents,
        source: 'payment_clearing',
        code: 'topup',
        memo: `${row.provider} payment ${result.providerPaymentId}`,
      },
      async (tx, outcome) => {
        const updated = await tx.$queryRaw<{ confirmed_by: string | null }[]>`
          UPDATE topups SET status = 'succeeded', completed_at = now(), provider_payment_id = ${result.providerPaymentId},
                 decline_reason = NULL, confirmed_by = ${confirmation.source}
          WHERE id = ${row.id}::uuid AND status <> 'succeeded'
          RETURNING confirmed_by`
        if (outcome.created && deps.onCredited) {
          await deps.onCredited(tx, {
            paymentId: row.id,
            memberId: row.member_id,
            amountCents,
            providerPaymentId: result.providerPaymentId,
            balanceCents: outcome.balance.postedCents,
          })
        }
        if (updated[0]) return confirmation.source
        const current = await findTopUp(tx, row.id)
        return current?.confirmed_by ?? null
      },
    )
    return { paymentId: row.id, status: 'succeeded', credited: created, confirmedBy: (alongside ?? null) as TopUpCompletion['confirmedBy'] }
  }
}

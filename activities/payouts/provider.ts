import { createHash } from 'node:crypto'
import type { Tx } from '../ledger/tx.js'

/**
 * Where payouts are sent. A provider receives the payout's id as an idempotency key and must pay at most once per
 * key: a repeated request returns the first transfer's reference. A real provider (a bank or a payments company)
 * implements the same interface over its HTTP API.
 */
export interface PayoutProvider {
  readonly name: string
  send(request: { idempotencyKey: string; amountCents: number; payee: string }): Promise<{ reference: string }>
}

/** The built-in sandbox: records the transfer in its own table, once per idempotency key, and moves no real money. */
export function createSandboxPayoutProvider(db: Tx): PayoutProvider {
  return {
    name: 'sandbox',
    async send({ idempotencyKey, amountCents, payee }) {
      const reference = `sbx_${createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 20)}`
      await db.$executeRaw`
        INSERT INTO sandbox_payout_transfers (idempotency_key, reference, amount_cents, payee)
        VALUES (${idempotencyKey}, ${reference}, ${BigInt(amountCents)}, ${payee})
        ON CONFLICT (idempotency_key) DO NOTHING`
      const [row] = await db.$queryRaw<{ reference: string; amount_cents: bigint }[]>`
        SELECT reference, amount_cents FROM sandbox_payout_transfers WHERE idempotency_key = ${idempotencyKey}`
      if (!row || Number(row.amount_cents) !== amountCents) {
        throw new Error(`sandbox payout ${idempotencyKey} was sent before with another amount`)
      }
      return { reference: row.reference }
    },
  }
}

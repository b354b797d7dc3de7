import { assertCents } from '../../workflows/billing.js'
import { toCents, type Tx } from './tx.js'

/**
 * Two-phase, idempotent transfers between ledger accounts (TigerBeetle's model on PostgreSQL).
 * A transfer's id is deterministic and doubles as its idempotency key: creating it again with the same
 * fields changes nothing and returns the first result; with other fields it is refused.
 * Balances change only here, in the same transaction as the transfer row, and a member wallet's available
 * balance (credits posted − debits posted − debits pending) can never go below zero: the conditional update
 * below refuses it, and the database's check constraint backs that up under any concurrency.
 */

export class InsufficientFundsError extends Error {
  override name = 'InsufficientFundsError'
  constructor(readonly accountId: string, readonly amountCents: number) {
    super(`account ${accountId} cannot cover ${amountCents} cents`)
  }
}

/** The same transfer id was used with different fields: a programming error, never retried. */
export class TransferConflictError extends Error {
  override name = 'TransferConflictError'
}

export class TransferStateError extends Error {
  override name = 'TransferStateError'
}

export type TransferStatus = 'pending' | 'posted' | 'voided'

export interface TransferRequest {
  id: string
  debitAccountId: string
  creditAccountId: string
  amountCents: number
  /** What the movement is, e.g. call_hold, wallet_adjustment. */
  code: string
  /** Pending transfers (holds) reserve money until posted or voided. */
  pending: boolean
  callId?: string | null
  memo?: string | null
}

export interface TransferRecord {
  id: string
  debitAccountId: string
  creditAccountId: string
  amountCents: number
  postedAmountCents: number | null
  status: TransferStatus
  code: string
  callId: string | null
}

interface TransferRow {
  id: string
  debit_account_id: string
  credit_account_id: string
  amount: bigint
  posted_amount: bigint | null
  status: TransferStatus
  code: string
  call_id: string | null
}

function toRecord(row: TransferRow): TransferRecord {
  return {
    id: row.id,
    debitAccountId: row.debit_account_id,
    creditAccountId: row.credit_account_id,
    amountCents: toCents(row.amount),
    postedAmountCents: row.posted_amount === null ? null : toCents(row.posted_amount),
    status: row.status,
    code: row.code,
    callId: row.call_id,
  }
}

async function lockAccounts(tx: Tx, a: string, b: string): Promise<void> {
  // NO KEY UPDATE: the strength an UPDATE of the balances takes anyway, and it does not block foreign-key checks.
  await tx.$queryRaw`SELECT id FROM accounts WHERE id IN (${a}, ${b}) ORDER BY id FOR NO KEY UPDATE`
}

async function lockTransfer(tx: Tx, id: string): Promise<TransferRecord | null> {
  const rows = await tx.$queryRaw<TransferRow[]>`
    SELECT id, debit_account_id, credit_account_id, amount, posted_amount, status, code, call_id
    FROM transfers WHERE id = ${id} FOR UPDATE`
  return rows[0] ? toRecord(rows[0]) : null
}

export async function findTransfer(tx: Tx, id: string): Promise<TransferRecord | null> {
  const rows = await tx.$queryRaw<TransferRow[]>`
    SELECT id, debit_account_id, credit_account_id, amount, posted_amount, status, code, call_id
    FROM transfers WHERE id = ${id}`
  return rows[0] ? toRecord(rows[0]) : null
}

/**
 * Creates a transfer, posted at once or pending. Must run inside a transaction: on InsufficientFundsError
 * the caller's transaction is rolled back, so nothing of the attempt remains.
 */
export async function createTransfer(tx: Tx, request: TransferRequest): Promise<{ transfer: TransferRecord; created: boolean }> {
  const amount = assertCents(request.amountCents, 'transfer amount')
  if (amount === 0) throw new RangeError('a transfer moves a positive amount')
  const status: TransferStatus = request.pending ? 'pending' : 'posted'
  // Lock both accounts first, in id order, so that concurrent transfers queue instead of deadlocking (the
  // transfer row's foreign keys would otherwise take share locks on them before we ask to update them).
  await lockAccounts(tx, request.debitAccountId, request.creditAccountId)
  const inserted = await tx.$queryRaw<TransferRow[]>`
    INSERT INTO transfers (id, debit_account_id, credit_account_id, amount, posted_amount, status, code, call_id, memo, resolved_at)
    VALUES (${request.id}, ${request.debitAccountId}, ${request.creditAccountId}, ${amount},
            ${request.pending ? null : amount}, ${status}::"TransferStatus", ${request.code}, ${request.callId ?? null}::uuid,
            ${request.memo ?? null}, ${request.pending ? null : new Date()})
    ON CONFLICT (id) DO NOTHING
    RETURNING id, debit_account_id, credit_account_id, amount, posted_amount, status, code, call_id`
  if (!inserted[0]) {
    const existing = await findTransfer(tx, request.id)
    if (
      !existing ||
      existing.debitAccountId !== request.debitAccountId ||
      existing.creditAccountId !== request.creditAccountId ||
      existing.amountCents !== amount ||
      existing.code !== request.code ||
      existing.callId !== (request.callId ?? null)
    ) {
      throw new TransferConflictError(`transfer ${request.id} already exists with other fields`)
    }
    return { transfer: existing, created: false }
  }

  const debited = request.pending
    ? await tx.$executeRaw`
        UPDATE accounts SET debits_pending = debits_pending + ${amount}
        WHERE id = ${request.debitAccountId}
          AND (kind <> 'member_wallet' OR credits_posted - debits_posted - debits_pending >= ${amount})`
    : await tx.$executeRaw`
        UPDATE accounts SET debits_posted = debits_posted + ${amount}
        WHERE id = ${request.debitAccountId}
          AND (kind <> 'member_wallet' OR credits_posted - debits_posted - debits_pending >= ${amount})`
  if (debited !== 1) {
    const exists = await tx.$queryRaw<{ id: string }[]>`SELECT id FROM accounts WHERE id = ${request.debitAccountId}`
    if (!exists[0]) throw new TransferStateError(`no account ${request.debitAccountId}`)
    throw new InsufficientFundsError(request.debitAccountId, amount)
  }
  const credited = request.pending
    ? await tx.$executeRaw`UPDATE accounts SET credits_pending = credits_pending + ${amount} WHERE id = ${request.creditAccountId}`
    : await tx.$executeRaw`UPDATE accounts SET credits_posted = credits_posted + ${amount} WHERE id = ${request.creditAccountId}`
  if (credited !== 1) throw new TransferStateError(`no account ${request.creditAccountId}`)
  return { transfer: toRecord(inserted[0]), created: true }
}

/**
 * Posts a pending transfer, in full or in part (the rest is released). Posting it again with the same amount
 * changes nothing; posting a voided transfer, or with another amount, is refused.
 */
export async function postPendingTransfer(tx: Tx, id: string, postAmountCents?: number): Promise<TransferRecord> {
  const transfer = await lockTransfer(tx, id)
  if (!transfer) throw new TransferStateError(`no transfer ${id}`)
  const amount = postAmountCents === undefined ? transfer.amountCents : assertCents(postAmountCents, 'posted amount')
  if (amount > transfer.amountCents) throw new RangeError(`cannot post ${amount} of a ${transfer.amountCents} hold`)
  if (transfer.status === 'posted') {
    if (transfer.postedAmountCents !== amount) throw new TransferStateError(`transfer ${id} was posted with another amount`)
    return transfer
  }
  if (transfer.status === 'voided') throw new TransferStateError(`transfer ${id} was voided`)
  if (amount === 0) return voidPendingTransfer(tx, id)

  await lockAccounts(tx, transfer.debitAccountId, transfer.creditAccountId)
  await tx.$executeRaw`
    UPDATE accounts SET debits_pending = debits_pending - ${transfer.amountCents}, debits_posted = debits_posted + ${amount}
    WHERE id = ${transfer.debitAccountId}`
  await tx.$executeRaw`
    UPDATE accounts SET credits_pending = credits_pending - ${transfer.amountCents}, credits_posted = credits_posted + ${amount}
    WHERE id = ${transfer.creditAccountId}`
  await tx.$executeRaw`
    UPDATE transfers SET status = 'posted', posted_amount = ${amount}, resolved_at = now() WHERE id = ${id}`
  return { ...transfer, status: 'posted', postedAmountCents: amount }
}

/** Releases a pending transfer. Voiding it again changes nothing; voiding a posted transfer is refused. */
export async function voidPendingTransfer(tx: Tx, id: string): Promise<TransferRecord> {
  const transfer = await lockTransfer(tx, id)
  if (!transfer) throw new TransferStateError(`no transfer ${id}`)
  if (transfer.status === 'voided') return transfer
  if (transfer.status === 'posted') throw new TransferStateError(`transfer ${id} was posted`)

  await lockAccounts(tx, transfer.debitAccountId, transfer.creditAccountId)
  await tx.$executeRaw`UPDATE accounts SET debits_pending = debits_pending - ${transfer.amountCents} WHERE id = ${transfer.debitAccountId}`
  await tx.$executeRaw`UPDATE accounts SET credits_pending = credits_pending - ${transfer.amountCents} WHERE id = ${transfer.creditAccountId}`
  await tx.$executeRaw`UPDATE transfers SET status = 'voided', posted_amount = 0, resolved_at = now() WHERE id = ${id}`
  return { ...transfer, status: 'voided', postedAmountCents: 0 }
}

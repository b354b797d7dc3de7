import { assertCents } from '../../workflows/billing.js'
import { toCents, type Tx } from './tx.js'

/**
 * Two-phase, idempotent transfers between ledger accounts (TigerBeetle's model on PostgreSQL).
 * A transfer's id is deterministic and doubles as its idempotency key: creating it again with the same
 * fields changes nothing and returns the first result; with other fields it is refused.
 * Balances change only here, in the same statement as the transfer row, and a member wallet's available
 * balance (credits posted − debits posted − debits pending) can never go below zero: the conditional update in
 * ledger_create_transfer refuses it, and the database's check constraint backs that up under any concurrency.
 * The movements themselves are PostgreSQL functions (prisma/migrations/20261123150000_ledger_functions), one round
 * trip each; this module turns their answers into records and the errors below.
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

/**
 * What the ledger's functions (prisma/migrations/20261123150000_ledger_functions) answer: an outcome, and the
 * transfer's row as JSON where there is one. Each function is one round trip and moves nothing unless its outcome
 * says it did (docs/decisions/030-ledger-writes-as-functions.md).
 */
export interface LedgerAnswer {
  outcome: string
  transfer?: { [K in keyof TransferRow]: K extends 'amount' ? number : K extends 'posted_amount' ? number | null : TransferRow[K] }
}

function answerRecord(answer: LedgerAnswer, id: string): TransferRecord {
  if (!answer.transfer) throw new TransferStateError(`no transfer ${id}`)
  const t = answer.transfer
  return toRecord({ ...t, amount: BigInt(t.amount), posted_amount: t.posted_amount === null ? null : BigInt(t.posted_amount) })
}

export async function findTransfer(tx: Tx, id: string): Promise<TransferRecord | null> {
  const rows = await tx.$queryRaw<TransferRow[]>`
    SELECT id, debit_account_id, credit_account_id, amount, posted_amount, status, code, call_id
    FROM transfers WHERE id = ${id}`
  return rows[0] ? toRecord(rows[0]) : null
}

/**
 * Creates a transfer, posted at once or pending, in one statement (so also safe outside a transaction). A refusal
 * (InsufficientFundsError and the others) moved nothing; inside a transaction, throwing it rolls the rest back too.
 */
export async function createTransfer(tx: Tx, request: TransferRequest): Promise<{ transfer: TransferRecord; created: boolean }> {
  const amount = assertCents(request.amountCents, 'transfer amount')
  if (amount === 0) throw new RangeError('a transfer moves a positive amount')
  const [row] = await tx.$queryRaw<{ answer: LedgerAnswer }[]>`
    SELECT ledger_create_transfer(${request.id}, ${request.debitAccountId}, ${request.creditAccountId}, ${amount}::bigint,
      ${request.pending}, ${request.code}, ${request.callId ?? null}::uuid, ${request.memo ?? null}) AS answer`
  return createdOrThrow(row!.answer, request)
}

/** Turns ledger_create_transfer's answer into the transfer, or the error the callers of createTransfer expect. */
export function createdOrThrow(answer: LedgerAnswer, request: Pick<TransferRequest, 'id' | 'debitAccountId' | 'amountCents'>): { transfer: TransferRecord; created: boolean } {
  switch (answer.outcome) {
    case 'created':
      return { transfer: answerRecord(answer, request.id), created: true }
    case 'exists':
      return { transfer: answerRecord(answer, request.id), created: false }
    case 'conflict':
      throw new TransferConflictError(`transfer ${request.id} already exists with other fields`)
    case 'insufficient_funds':
      throw new InsufficientFundsError(request.debitAccountId, request.amountCents)
    case 'missing_account':
      throw new TransferStateError(`transfer ${request.id}: an account does not exist`)
    default:
      throw new TransferStateError(`transfer ${request.id}: unexpected outcome ${answer.outcome}`)
  }
}

/**
 * Posts a pending transfer, in full or in part (the rest is released). Posting it again with the same amount
 * changes nothing; posting a voided transfer, or with another amount, is refused.
 */
export async function postPendingTransfer(tx: Tx, id: string, postAmountCents?: number): Promise<TransferRecord> {
  const amount = postAmountCents === undefined ? null : assertCents(postAmountCents, 'posted amount')
  const [row] = await tx.$queryRaw<{ answer: LedgerAnswer }[]>`SELECT ledger_post_pending(${id}, ${amount}::bigint) AS answer`
  return postedOrThrow(row!.answer, id, amount)
}

/** Posts several pending transfers in full, in one round trip (a call's used periods at settlement). */
export async function postPendingTransfers(tx: Tx, ids: readonly string[]): Promise<TransferRecord[]> {
  if (ids.length === 0) return []
  const rows = await tx.$queryRaw<{ id: string; answer: LedgerAnswer }[]>`
    SELECT x.id, ledger_post_pending(x.id, NULL) AS answer FROM unnest(${[...ids]}::text[]) WITH ORDINALITY AS x(id, n) ORDER BY x.n`
  return rows.map((row) => postedOrThrow(row.answer, row.id, null))
}

function postedOrThrow(answer: LedgerAnswer, id: string, amount: number | null): TransferRecord {
  switch (answer.outcome) {
    case 'posted':
    case 'already_posted':
    case 'voided_now': // posting nothing releases the hold
      return answerRecord(answer, id)
    case 'missing':
      throw new TransferStateError(`no transfer ${id}`)
    case 'out_of_range':
      throw new RangeError(`cannot post ${amount} of a ${answer.transfer?.amount} hold`)
    case 'posted_other_amount':
      throw new TransferStateError(`transfer ${id} was posted with another amount`)
    case 'voided':
      throw new TransferStateError(`transfer ${id} was voided`)
    default:
      throw new TransferStateError(`transfer ${id}: unexpected outcome ${answer.outcome}`)
  }
}

/** Releases a pending transfer. Voiding it again changes nothing; voiding a posted transfer is refused. */
export async function voidPendingTransfer(tx: Tx, id: string): Promise<TransferRecord> {
  const [row] = await tx.$queryRaw<{ answer: LedgerAnswer }[]>`SELECT ledger_void_pending(${id}) AS answer`
  return voidedOrThrow(row!.answer, id)
}

/** Releases several pending transfers in one round trip (a call's unused periods at settlement). */
export async function voidPendingTransfers(tx: Tx, ids: readonly string[]): Promise<TransferRecord[]> {
  if (ids.length === 0) return []
  const rows = await tx.$queryRaw<{ id: string; answer: LedgerAnswer }[]>`
    SELECT x.id, ledger_void_pending(x.id) AS answer FROM unnest(${[...ids]}::text[]) WITH ORDINALITY AS x(id, n) ORDER BY x.n`
  return rows.map((row) => voidedOrThrow(row.answer, row.id))
}

function voidedOrThrow(answer: LedgerAnswer, id: string): TransferRecord {
  switch (answer.outcome) {
    case 'voided':
    case 'already_voided':
      return answerRecord(answer, id)
    case 'missing':
      throw new TransferStateError(`no transfer ${id}`)
    case 'posted':
      throw new TransferStateError(`transfer ${id} was posted`)
    default:
      throw new TransferStateError(`transfer ${id}: unexpected outcome ${answer.outcome}`)
  }
}

import { formatCents } from '../storefront/money.js'

/**
 * A wallet's ledger movements as the member reads them: what each one was for, whether it is reserved, charged or
 * released, and its effect on the balance. Pure, shared by the history page and its CSV export.
 */

export interface MovementRow {
  id: string
  createdAt: Date
  /** True when money came into the wallet. */
  credit: boolean
  code: string
  status: 'pending' | 'posted' | 'voided'
  amountCents: number
  postedAmountCents: number | null
  memo: string | null
  operatorName: string | null
}

export interface Movement {
  id: string
  at: string
  reason: string
  state: string
  /** The effect on the balance: positive in, negative out, 0 for released holds. Reserved holds count as out. */
  amountCents: number
}

const PERIOD = /:period:(\d+)$/

function reasonOf(row: MovementRow): string {
  const who = row.operatorName ?? 'an operator'
  switch (row.code) {
    case 'topup':
      return 'Top-up'
    case 'wallet_adjustment':
      return row.memo ? `${row.credit ? 'Credit' : 'Correction'}: ${row.memo}` : row.credit ? 'Credit from perminute' : 'Correction'
    case 'call_hold': {
      const minute = PERIOD.exec(row.id)?.[1]
      return minute ? `Call with ${who}, minute ${minute}` : `Call with ${who}`
    }
    case 'call_prepaid_hold':
      return `Prepaid call with ${who}`
    default: {
      const words = row.code.replace(/_/g, ' ')
      const label = words.charAt(0).toUpperCase() + words.slice(1)
      return row.memo ? `${label}: ${row.memo}` : label
    }
  }
}

function stateOf(row: MovementRow): string {
  if (row.credit) return row.status === 'posted' ? 'Received' : row.status === 'pending' ? 'Pending' : 'Cancelled'
  if (row.status === 'pending') return 'Reserved'
  if (row.status === 'voided') return 'Released'
  if (row.postedAmountCents !== null && row.postedAmountCents < row.amountCents) {
    return `Charged ${formatCents(row.postedAmountCents)} of ${formatCents(row.amountCents)} reserved`
  }
  return 'Charged'
}

function effectOf(row: MovementRow): number {
  const moved = row.status === 'posted' ? (row.postedAmountCents ?? row.amountCents) : row.status === 'pending' ? row.amountCents : 0
  return row.credit ? moved : -moved
}

export function describeMovement(row: MovementRow): Movement {
  return { id: row.id, at: row.createdAt.toISOString(), reason: reasonOf(row), state: stateOf(row), amountCents: effectOf(row) }
}

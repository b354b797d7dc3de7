import { accountIds } from '../../../activities/ledger/accounts.js'
import { walletBalance } from '../../../activities/ledger/balances.js'
import { toCents } from '../../../activities/ledger/tx.js'
import type { Db } from '../../../prisma/client.js'
import { describeMovement, type Movement, type MovementRow } from './movements.js'
import { isUuid } from '../ids.server.js'

/** What the wallet pages read. Every query is scoped to the signed-in member's own wallet. */

export const TOPUP_PRESETS_CENTS = [1_000, 2_500, 5_000, 10_000] as const
export const HISTORY_PAGE_SIZE = 25

export interface WalletFigures {
  /** Credits posted − debits posted. */
  balanceCents: number
  /** Held for calls in progress. */
  reservedCents: number
  availableCents: number
}

export async function walletFigures(db: Db, memberId: string): Promise<WalletFigures> {
  const balance = await walletBalance(db, memberId)
  return {
    balanceCents: balance?.postedCents ?? 0,
    reservedCents: balance?.pendingDebitCents ?? 0,
    availableCents: balance?.availableCents ?? 0,
  }
}

interface RawMovement {
  id: string
  created_at: Date
  credit: boolean
  code: string
  status: 'pending' | 'posted' | 'voided'
  amount: bigint
  posted_amount: bigint | null
  memo: string | null
  operator_name: string | null
}

/** The wallet's movements, newest first: a page of them, or all (for the export) when `limit` is null. */
export async function walletMovements(db: Db, memberId: string, options: { limit: number | null; offset?: number }): Promise<Movement[]> {
  const wallet = accountIds.memberWallet(memberId)
  const limit = options.limit ?? 1_000_000
  const rows = await db.$queryRaw<RawMovement[]>`
    SELECT t.id, t.created_at, t.credit_account_id = ${wallet} AS credit, t.code, t.status, t.amount, t.posted_amount, t.memo,
           u.display_name AS operator_name
    FROM transfers t
    LEFT JOIN calls c ON c.id = t.call_id
    LEFT JOIN users u ON u.id = c.operator_id
    WHERE t.debit_account_id = ${wallet} OR t.credit_account_id = ${wallet}
    ORDER BY t.created_at DESC, t.id DESC
    LIMIT ${limit} OFFSET ${options.offset ?? 0}`
  return rows.map((row) =>
    describeMovement({
      id: row.id,
      createdAt: row.created_at,
      credit: row.credit,
      code: row.code,
      status: row.status,
      amountCents: toCents(row.amount),
      postedAmountCents: row.posted_amount === null ? null : toCents(row.posted_amount),
      memo: row.memo,
      operatorName: row.operator_name,
    } satisfies MovementRow),
  )
}

export async function countMovements(db: Db, memberId: string): Promise<number> {
  const wallet = accountIds.memberWallet(memberId)
  const rows = await db.$queryRaw<{ n: bigint }[]>`
    SELECT count(*) AS n FROM transfers WHERE debit_account_id = ${wallet} OR credit_account_id = ${wallet}`
  return Number(rows[0]?.n ?? 0)
}

export async function recentTopUps(db: Db, memberId: string, take = 5) {
  const rows = await db.topUp.findMany({
    where: { memberId },
    orderBy: { createdAt: 'desc' },
    take,
    select: { id: true, amountCents: true, status: true, createdAt: true },
  })
  return rows.map((row) => ({ ...row, amountCents: toCents(row.amountCents), createdAt: row.createdAt.toISOString() }))
}

/** A member's own top-up, or null (another member's top-up is "not found", never "forbidden"). */
export async function memberTopUp(db: Db, memberId: string, paymentId: string) {
  if (!isUuid(paymentId)) return null
  return db.topUp.findFirst({ where: { id: paymentId, memberId } })
}

let timeZones: Promise<string[]> | undefined

/** The time zones both the browser's Intl and PostgreSQL know (caps count days in PostgreSQL), UTC first. Read once. */
export function selectableTimeZones(db: Db): Promise<string[]> {
  timeZones ??= db.$queryRaw<{ name: string }[]>`SELECT name FROM pg_timezone_names`.then((rows) => {
    const known = new Set(rows.map((row) => row.name))
    return ['UTC', ...Intl.supportedValuesOf('timeZone').filter((zone) => zone !== 'UTC' && known.has(zone))]
  })
  timeZones.catch(() => (timeZones = undefined))
  return timeZones
}

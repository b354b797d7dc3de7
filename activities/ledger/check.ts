import type { Tx } from './tx.js'

/**
 * Proves the ledger's invariants on demand (admin CLI, tests, benchmarks). Each check is one query that returns
 * the offending rows, so a failure says exactly what is wrong.
 */

export interface LedgerViolation {
  invariant: string
  detail: string
}

export interface LedgerCheckResult {
  ok: boolean
  checkedAt: string
  accounts: number
  transfers: number
  settledCalls: number
  violations: LedgerViolation[]
}

const stringify = (row: unknown) =>
  JSON.stringify(row, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value))

const CHECKS: ReadonlyArray<{ invariant: string; sql: string }> = [
  {
    invariant: 'all balances sum to zero (posted and pending)',
    sql: `SELECT sum(credits_posted) - sum(debits_posted) AS posted_sum, sum(credits_pending) - sum(debits_pending) AS pending_sum
          FROM accounts
          HAVING sum(credits_posted) - sum(debits_posted) <> 0 OR sum(credits_pending) - sum(debits_pending) <> 0`,
  },
  {
    invariant: 'every account total equals the sum of its transfers',
    sql: `WITH moves AS (
            SELECT debit_account_id AS account_id,
                   coalesce(sum(posted_amount) FILTER (WHERE status = 'posted'), 0) AS debits_posted, 0::numeric AS credits_posted,
                   coalesce(sum(amount) FILTER (WHERE status = 'pending'), 0) AS debits_pending, 0::numeric AS credits_pending
            FROM transfers GROUP BY debit_account_id
            UNION ALL
            SELECT credit_account_id, 0, coalesce(sum(posted_amount) FILTER (WHERE status = 'posted'), 0),
                   0, coalesce(sum(amount) FILTER (WHERE status = 'pending'), 0)
            FROM transfers GROUP BY credit_account_id),
          totals AS (
            SELECT account_id, sum(debits_posted) AS dp, sum(credits_posted) AS cp, sum(debits_pending) AS dpe, sum(credits_pending) AS cpe
            FROM moves GROUP BY account_id)
          SELECT a.id, a.debits_posted, a.credits_posted, a.debits_pending, a.credits_pending, t.dp, t.cp, t.dpe, t.cpe
          FROM accounts a LEFT JOIN totals t ON t.account_id = a.id
          WHERE a.debits_posted <> coalesce(t.dp, 0) OR a.credits_posted <> coalesce(t.cp, 0)
             OR a.debits_pending <> coalesce(t.dpe, 0) OR a.credits_pending <> coalesce(t.cpe, 0)`,
  },
  {
    invariant: 'no member wallet is negative',
    sql: `SELECT id, credits_posted - debits_posted - debits_pending AS available
          FROM accounts WHERE kind = 'member_wallet' AND credits_posted - debits_posted - debits_pending < 0`,
  },
  {
    invariant: 'every pending hold belongs to a call that is still active',
    sql: `SELECT t.id, t.call_id, c.status AS call_status
          FROM transfers t LEFT JOIN calls c ON c.id = t.call_id
          WHERE t.status = 'pending' AND t.code IN ('call_hold', 'call_prepaid_hold')
            AND (c.id IS NULL OR c.status = 'settled')`,
  },
  {
    invariant: "every settled call's posted charge equals its billed minutes × rate",
    sql: `SELECT c.id, c.billed_minutes, c.rate_per_minute_cents, c.charged_cents,
                 coalesce(sum(t.posted_amount) FILTER (WHERE t.status = 'posted'), 0) AS posted
          FROM calls c LEFT JOIN transfers t ON t.call_id = c.id AND t.code IN ('call_hold', 'call_prepaid_hold')
          WHERE c.status = 'settled'
          GROUP BY c.id
          HAVING c.charged_cents IS DISTINCT FROM c.billed_minutes::bigint * c.rate_per_minute_cents
              OR coalesce(sum(t.posted_amount) FILTER (WHERE t.status = 'posted'), 0) <> c.charged_cents`,
  },
  {
    invariant: 'no period of a call is charged twice (per-minute calls post exactly their billed periods)',
    sql: `SELECT c.id, c.billed_minutes, count(t.id) FILTER (WHERE t.status = 'posted') AS posted_periods,
                 count(t.id) AS held_periods, c.held_periods AS recorded_held
          FROM calls c LEFT JOIN transfers t ON t.call_id = c.id AND t.code = 'call_hold'
          WHERE c.mode = 'per_minute'
          GROUP BY c.id
          HAVING (c.status = 'settled' AND count(t.id) FILTER (WHERE t.status = 'posted') <> c.billed_minutes)
              OR count(t.id) <> c.held_periods`,
  },
  {
    invariant: "a settled call's split adds up to its charge, and the commission and company share were moved",
    sql: `SELECT c.id, c.charged_cents, c.commission_cents, c.company_share_cents, c.operator_earnings_cents,
                 coalesce(sum(t.amount) FILTER (WHERE t.code = 'call_commission'), 0) AS commission_moved,
                 coalesce(sum(t.amount) FILTER (WHERE t.code = 'call_company_share'), 0) AS company_moved
          FROM calls c LEFT JOIN transfers t ON t.call_id = c.id AND t.code IN ('call_commission', 'call_company_share')
          WHERE c.status = 'settled'
          GROUP BY c.id
          HAVING c.commission_cents + c.company_share_cents + c.operator_earnings_cents <> c.charged_cents
              OR coalesce(sum(t.amount) FILTER (WHERE t.code = 'call_commission'), 0) <> c.commission_cents
              OR coalesce(sum(t.amount) FILTER (WHERE t.code = 'call_company_share'), 0) <> c.company_share_cents`,
  },
]

export async function checkLedger(tx: Tx, options: { maxRowsPerInvariant?: number } = {}): Promise<LedgerCheckResult> {
  const limit = options.maxRowsPerInvariant ?? 20
  const violations: LedgerViolation[] = []
  for (const check of CHECKS) {
    const rows = await tx.$queryRawUnsafe<unknown[]>(`${check.sql} LIMIT ${Number(limit)}`)
    for (const row of rows) violations.push({ invariant: check.invariant, detail: stringify(row) })
  }
  const [counts] = await tx.$queryRaw<{ accounts: bigint; transfers: bigint; settled: bigint }[]>`
    SELECT (SELECT count(*) FROM accounts) AS accounts, (SELECT count(*) FROM transfers) AS transfers,
           (SELECT count(*) FROM calls WHERE status = 'settled') AS settled`
  return {
    ok: violations.length === 0,
    checkedAt: new Date().toISOString(),
    accounts: Number(counts?.accounts ?? 0),
    transfers: Number(counts?.transfers ?? 0),
    settledCalls: Number(counts?.settled ?? 0),
    violations,
  }
}

import { randomUUID } from 'node:crypto'
import pg from 'pg'
import { accountIds } from '../../activities/ledger/accounts.js'
import { applyMigrations, dropDatabase, ensureDatabase } from '../../prisma/migrate.js'
import { transferIds } from '../../workflows/billing.js'
import { summarize, type Summary } from '../support/stats.js'

/**
 * The ledger ceiling: the statement the charge path issues for every period (hold_call_period, as
 * activities/calls.ts holdNextPeriod sends it), straight to PostgreSQL from `clients` connections in a tight loop,
 * with nothing else in between: no Temporal, no worker, no Prisma. Each client holds the periods of calls of its own,
 * as the calls of different members do. It runs in a scratch database beside the benchmark's, dropped afterwards,
 * so the benchmark's ledger is not touched.
 */

export interface LedgerCeiling {
  clients: number
  seconds: number
  holds: number
  holdsPerSecond: number
  latencyMs: Summary
}

const RATE = 100

export async function measureLedgerCeiling(options: { databaseUrl: string; clients: number; seconds: number; log: (line: string) => void }): Promise<LedgerCeiling> {
  const url = new URL(options.databaseUrl)
  url.pathname = `${url.pathname.slice(0, 40)}_ceiling`
  const scratchUrl = url.toString()
  await ensureDatabase(scratchUrl)
  try {
    await applyMigrations(scratchUrl, { log: () => undefined })
    const callsPerClient = 20
    const calls = await prepareCalls(scratchUrl, options.clients * callsPerClient)
    options.log(`ledger ceiling: hold_call_period from ${options.clients} connections for ${options.seconds} s…`)
    const pool = new pg.Pool({ connectionString: scratchUrl, max: options.clients })
    const latencies: number[] = []
    const deadline = performance.now() + options.seconds * 1000
    const began = performance.now()
    try {
      await Promise.all(
        Array.from({ length: options.clients }, async (_, lane) => {
          const client = await pool.connect()
          try {
            const mine = calls.filter((_, i) => i % options.clients === lane)
            const periods = new Map(mine.map((id) => [id, 0]))
            for (let i = 0; performance.now() < deadline; i++) {
              const callId = mine[i % mine.length]!
              const period = periods.get(callId)! + 1
              const t0 = performance.now()
              const { rows } = await client.query<{ answer: { outcome: string } }>(
                'SELECT hold_call_period($1::uuid, $2::int, $3, true) AS answer',
                [callId, period, transferIds.periodHold(callId, period)],
              )
              latencies.push(performance.now() - t0)
              if (rows[0]?.answer.outcome !== 'held') throw new Error(`ledger ceiling: hold answered ${JSON.stringify(rows[0]?.answer)}`)
              periods.set(callId, period)
            }
          } finally {
            client.release()
          }
        }),
      )
    } finally {
      await pool.end()
    }
    const seconds = (performance.now() - began) / 1000
    return {
      clients: options.clients,
      seconds: Math.round(seconds * 10) / 10,
      holds: latencies.length,
      holdsPerSecond: Math.round(latencies.length / seconds),
      latencyMs: summarize(latencies),
    }
  } finally {
    await dropDatabase(scratchUrl).catch(() => undefined)
  }
}

/** Members, operators and open calls made directly in SQL: the ceiling is about holds, not about signing up. */
async function prepareCalls(databaseUrl: string, count: number): Promise<string[]> {
  const client = new pg.Client({ connectionString: databaseUrl })
  await client.connect()
  try {
    await client.query(`INSERT INTO accounts (id, kind) VALUES ($1, 'adjustments') ON CONFLICT DO NOTHING`, [accountIds.adjustments])
    const ids: string[] = []
    for (let i = 0; i < count; i++) {
      const [member, operator, callId] = [randomUUID(), randomUUID(), randomUUID()]
      await client.query('BEGIN')
      await client.query(
        `INSERT INTO users (id, email, password_hash, role, display_name) VALUES
           ($1::uuid, $3, 'not-a-hash', 'member', 'ceiling member'),
           ($2::uuid, $4, 'not-a-hash', 'operator', 'ceiling operator')`,
        [member, operator, `${member}@ceiling.test`, `${operator}@ceiling.test`],
      )
      await client.query(`INSERT INTO operators (user_id, rate_per_minute_cents) VALUES ($1, $2)`, [operator, RATE])
      await client.query(
        `INSERT INTO accounts (id, kind, owner_id) VALUES ($1, 'member_wallet', $2), ($3, 'operator_earnings', $4)`,
        [accountIds.memberWallet(member), member, accountIds.operatorEarnings(operator), operator],
      )
      await client.query(`SELECT ledger_create_transfer($1, $2, $3, $4, false, 'wallet_adjustment', NULL, NULL)`, [
        `ceiling:fund:${member}`,
        accountIds.adjustments,
        accountIds.memberWallet(member),
        1_000_000_000,
      ])
      await client.query(
        `INSERT INTO calls (id, member_id, operator_id, mode, rate_per_minute_cents, period_ms, grace_ms, low_balance_periods,
           heartbeat_timeout_ms, commission_bps, company_share_bps, request_hash, workflow_id, status, started_at,
           last_heartbeat_at, funded_minutes_at_start, held_periods)
         VALUES ($1::uuid, $2::uuid, $3::uuid, 'per_minute', $4, 60000, 5000, 2, 86400000, 2000, 0, 'ceiling', $5, 'active', now(), now(), 0, 0)`,
        [callId, member, operator, RATE, `ceiling-${callId}`],
      )
      await client.query('COMMIT')
      ids.push(callId)
    }
    return ids
  } finally {
    await client.end()
  }
}

import { ApplicationFailure } from '@temporalio/activity'
import type { Db } from '../prisma/client.js'
import { billablePeriods, fundedPeriods, isLowBalance, settleAmounts, transferIds } from '../workflows/billing.js'
import {
  PLATFORM_END_REASONS,
  type CallActivities,
  type CallInput,
  type EndReason,
  type HoldResult,
  type Settlement,
  type StartOutcome,
  type StartRefusal,
} from '../workflows/definitions.js'
import { accountIds, openAccount } from './ledger/accounts.js'
import { accountBalance } from './ledger/balances.js'
import { createTransfer, InsufficientFundsError, postPendingTransfer, voidPendingTransfer } from './ledger/transfers.js'
import { toCents, type Tx } from './ledger/tx.js'
import { emitEvent } from './outbox.js'

/** The call's side effects. Each runs in one database transaction and is idempotent (see CallActivities). */

interface CallRow {
  id: string
  member_id: string
  operator_id: string
  company_id: string | null
  mode: 'per_minute' | 'prepaid'
  prepaid_minutes: number | null
  rate_per_minute_cents: number
  period_ms: number
  grace_ms: number
  low_balance_periods: number
  heartbeat_timeout_ms: number
  commission_bps: number
  company_share_bps: number
  request_hash: string
  status: 'active' | 'ending' | 'settled'
  started_at: Date
  last_heartbeat_at: Date
  ended_at: Date | null
  end_reason: string | null
  funded_minutes_at_start: number
  held_periods: number
  low_balance: boolean
  billed_minutes: number | null
  charged_cents: bigint | null
  commission_cents: bigint | null
  company_share_cents: bigint | null
  operator_earnings_cents: bigint | null
  heartbeat_stale: boolean
}

async function lockCall(tx: Tx, callId: string): Promise<CallRow | null> {
  const rows = await tx.$queryRaw<CallRow[]>`
    SELECT *, (now() - last_heartbeat_at) > make_interval(secs => heartbeat_timeout_ms / 1000.0) AS heartbeat_stale
    FROM calls WHERE id = ${callId}::uuid FOR UPDATE`
  return rows[0] ?? null
}

function callNotFound(callId: string): never {
  throw ApplicationFailure.create({ type: 'CallNotFoundError', message: `no call ${callId}`, nonRetryable: true })
}

function activeOutcome(row: CallRow): StartOutcome {
  return {
    status: 'active',
    callId: row.id,
    requestHash: row.request_hash,
    startedAtMs: row.started_at.getTime(),
    ratePerMinuteCents: row.rate_per_minute_cents,
    fundedMinutes: row.funded_minutes_at_start,
  }
}

function settlementOf(row: CallRow): Settlement {
  return {
    callId: row.id,
    status: 'settled',
    billedMinutes: row.billed_minutes ?? 0,
    chargedCents: toCents(row.charged_cents),
    commissionCents: toCents(row.commission_cents),
    companyShareCents: toCents(row.company_share_cents),
    operatorEarningsCents: toCents(row.operator_earnings_cents),
    endReason: row.end_reason as EndReason,
    startedAtMs: row.started_at.getTime(),
    endedAtMs: row.ended_at!.getTime(),
  }
}

/** Raises or clears the call's low-balance flag after its wallet changed, telling both sides when it flips. */
export async function updateLowBalance(tx: Tx, row: Pick<CallRow, 'id' | 'member_id' | 'operator_id' | 'mode' | 'low_balance' | 'rate_per_minute_cents' | 'low_balance_periods'>, availableCents: number): Promise<boolean> {
  if (row.mode !== 'per_minute') return false
  const low = isLowBalance(availableCents, row.rate_per_minute_cents, row.low_balance_periods)
  if (low === row.low_balance) return low
  await tx.$executeRaw`UPDATE calls SET low_balance = ${low} WHERE id = ${row.id}::uuid`
  await emitEvent(tx, {
    type: low ? 'call.low_balance' : 'call.low_balance_cleared',
    memberId: row.member_id,
    operatorId: row.operator_id,
    callId: row.id,
    payload: {
      callId: row.id,
      availableCents,
      minutesLeft: fundedPeriods(availableCents, row.rate_per_minute_cents),
      ratePerMinuteCents: row.rate_per_minute_cents,
    },
  })
  return low
}

/**
 * Holds one period of a per-minute call: a pending transfer from the member's wallet to the operator's earnings
 * under the period's deterministic id. Throws InsufficientFundsError when the wallet cannot cover it.
 */
async function holdPeriod(
  tx: Tx,
  call: { callId: string; memberId: string; operatorId: string; ratePerMinuteCents: number },
  period: number,
): Promise<void> {
  await createTransfer(tx, {
    id: transferIds.periodHold(call.callId, period),
    debitAccountId: accountIds.memberWallet(call.memberId),
    creditAccountId: accountIds.operatorEarnings(call.operatorId),
    amountCents: call.ratePerMinuteCents,
    pending: true,
    code: 'call_hold',
    callId: call.callId,
  })
}

const parties = (row: CallRow) => ({
  callId: row.id,
  memberId: row.member_id,
  operatorId: row.operator_id,
  ratePerMinuteCents: row.rate_per_minute_cents,
})

class Refusal extends Error {
  constructor(readonly reason: StartRefusal) {
    super(reason)
  }
}

function isUniqueViolation(error: unknown, constraint: string): boolean {
  const text = String((error as { message?: unknown })?.message ?? '') + JSON.stringify((error as { meta?: unknown })?.meta ?? {})
  return text.includes(constraint) || ((error as { code?: string })?.code === 'P2002' && text.includes('operator_id'))
}

export function createCallActivities(db: Db): CallActivities {
  async function openCall(input: CallInput & { startedAtMs: number }): Promise<StartOutcome> {
    const { callId } = input
    const refused = (reason: StartRefusal): StartOutcome => ({ status: 'refused', callId, requestHash: input.requestHash, reason })
    try {
      return await db.$transaction(async (tx) => {
        const existing = await lockCall(tx, callId)
        if (existing) return activeOutcome(existing)

        const [member] = await tx.$queryRaw<{ role: string; status: string }[]>`
          SELECT role, status FROM users WHERE id = ${input.memberId}::uuid`
        if (!member || member.role !== 'member' || member.status !== 'active') throw new Refusal('member_not_found')
        const [operator] = await tx.$queryRaw<{ status: string }[]>`
          SELECT u.status FROM operators o JOIN users u ON u.id = o.user_id WHERE o.user_id = ${input.operatorId}::uuid`
        if (!operator || operator.status !== 'active') throw new Refusal('operator_unavailable')

        const rate = input.ratePerMinuteCents
        const prepaid = input.mode === 'prepaid'
        const held = prepaid ? input.prepaidMinutes! : 1
        const startedAt = new Date(input.startedAtMs)
        const { settings } = input
        await tx.$executeRaw`
          INSERT INTO calls (id, member_id, operator_id, company_id, mode, prepaid_minutes, rate_per_minute_cents,
            period_ms, grace_ms, low_balance_periods, heartbeat_timeout_ms, commission_bps, company_share_bps,
            request_hash, workflow_id, status, started_at, last_heartbeat_at, funded_minutes_at_start, held_periods)
          VALUES (${callId}::uuid, ${input.memberId}::uuid, ${input.operatorId}::uuid, ${input.companyId}::uuid,
            ${input.mode}::"CallMode", ${input.prepaidMinutes}, ${rate}, ${settings.periodMs}, ${settings.graceMs},
            ${settings.lowBalancePeriods}, ${settings.heartbeatTimeoutMs}, ${settings.commissionBps}, ${settings.companyShareBps},
            ${input.requestHash}, ${`call-${callId}`}, 'active', ${startedAt}, greatest(now(), ${startedAt}), 0, ${held})`

        const wallet = accountIds.memberWallet(input.memberId)
        const earnings = accountIds.operatorEarnings(input.operatorId)
        await openAccount(tx, earnings, 'operator_earnings', input.operatorId)
        if (prepaid) {
          // The whole block at once; settlement posts what was used and releases the rest.
          await createTransfer(tx, {
            id: transferIds.prepaidHold(callId),
            debitAccountId: wallet,
            creditAccountId: earnings,
            amountCents: rate * held,
            pending: true,
            code: 'call_prepaid_hold',
            callId,
          })
        } else {
          await holdPeriod(tx, { callId, memberId: input.memberId, operatorId: input.operatorId, ratePerMinuteCents: rate }, 1)
        }
        const available = (await accountBalance(tx, wallet))!.availableCents
        const fundedMinutes = prepaid ? held : held + fundedPeriods(available, rate)
        const [row] = await tx.$queryRaw<CallRow[]>`
          UPDATE calls SET funded_minutes_at_start = ${fundedMinutes} WHERE id = ${callId}::uuid
          RETURNING *, false AS heartbeat_stale`
        await updateLowBalance(tx, row!, available)
        return activeOutcome(row!)
      })
    } catch (error) {
      if (error instanceof Refusal) return refused(error.reason)
      if (error instanceof InsufficientFundsError) return refused('insufficient_funds')
      if (isUniqueViolation(error, 'calls_one_open_call_per_operator')) return refused('operator_busy')
      throw error
    }
  }

  async function holdNextPeriod({ callId, period }: { callId: string; period: number }): Promise<HoldResult> {
    try {
      return await db.$transaction(async (tx): Promise<HoldResult> => {
        const call = await lockCall(tx, callId)
        if (!call) callNotFound(callId)
        const wallet = accountIds.memberWallet(call.member_id)
        if (call.status === 'settled') return { held: false, reason: 'already_settled' }
        if (call.held_periods >= period) {
          // A replay of a hold that already committed: answer as the first time did.
          const available = (await accountBalance(tx, wallet))!.availableCents
          return { held: true, heldPeriods: call.held_periods, availableAfterCents: available, lowBalance: call.low_balance }
        }
        // 'ending': the plugin asked to end and the workflow has not heard yet; a hold made now is voided at settlement.
        if (period !== call.held_periods + 1) {
          throw ApplicationFailure.create({
            type: 'CallStateError',
            message: `cannot hold period ${period} of call ${callId} (${call.status}, ${call.held_periods} held)`,
            nonRetryable: true,
          })
        }
        if (call.heartbeat_stale) {
          return { held: false, reason: 'heartbeat_lost', lastHeartbeatAtMs: call.last_heartbeat_at.getTime() }
        }
        await holdPeriod(tx, parties(call), period)
        await tx.$executeRaw`UPDATE calls SET held_periods = ${period} WHERE id = ${callId}::uuid`
        const available = (await accountBalance(tx, wallet))!.availableCents
        const lowBalance = await updateLowBalance(tx, call, available)
        return { held: true, heldPeriods: period, availableAfterCents: available, lowBalance }
      })
    } catch (error) {
      if (error instanceof InsufficientFundsError) return { held: false, reason: 'insufficient_funds' }
      throw error
    }
  }

  async function settleCall({ callId, endReason, endedAtMs }: { callId: string; endReason: EndReason; endedAtMs: number }): Promise<Settlement> {
    return db.$transaction(async (tx) => {
      const call = await lockCall(tx, callId)
      if (!call) callNotFound(callId)
      if (call.status === 'settled') return settlementOf(call)

      const startedAtMs = call.started_at.getTime()
      const elapsedMs = Math.max(0, endedAtMs - startedAtMs)
      const prepaid = call.mode === 'prepaid'
      let held = prepaid ? call.prepaid_minutes! : call.held_periods
      if (!prepaid) {
        // Periods that started while no worker ran (a crash, a deploy) were never held: hold them now, as far as
        // the wallet covers them, under the same deterministic ids, so the operator's time is paid all the same.
        const started = billablePeriods(elapsedMs, { periodMs: call.period_ms, graceMs: call.grace_ms }, Number.MAX_SAFE_INTEGER)
        const wallet = accountIds.memberWallet(call.member_id)
        while (held < started && (await accountBalance(tx, wallet))!.availableCents >= call.rate_per_minute_cents) {
          held += 1
          await holdPeriod(tx, parties(call), held)
        }
        if (held !== call.held_periods) await tx.$executeRaw`UPDATE calls SET held_periods = ${held} WHERE id = ${callId}::uuid`
      }
      const amounts = settleAmounts({
        elapsedMs,
        heldPeriods: held,
        ratePerMinuteCents: call.rate_per_minute_cents,
        settings: {
          periodMs: call.period_ms,
          graceMs: call.grace_ms,
          commissionBps: call.commission_bps,
          companyShareBps: call.company_id ? call.company_share_bps : 0,
        },
      })

      if (prepaid) {
        await postPendingTransfer(tx, transferIds.prepaidHold(callId), amounts.chargedCents)
      } else {
        for (let k = 1; k <= held; k++) {
          const id = transferIds.periodHold(callId, k)
          if (k <= amounts.billedPeriods) await postPendingTransfer(tx, id)
          else await voidPendingTransfer(tx, id)
        }
      }
      const endedAt = new Date(endedAtMs)
      const [settled] = await tx.$queryRaw<CallRow[]>`
        UPDATE calls SET status = 'settled', ended_at = ${endedAt}, end_reason = ${endReason},
          billed_minutes = ${amounts.billedPeriods}, charged_cents = ${amounts.chargedCents},
          commission_cents = ${amounts.commissionCents}, company_share_cents = ${amounts.companyShareCents},
          operator_earnings_cents = ${amounts.operatorEarningsCents}, low_balance = false, settled_at = now()
        WHERE id = ${callId}::uuid
        RETURNING *, false AS heartbeat_stale`
      const settlement = settlementOf(settled!)
      const audience = { memberId: call.member_id, operatorId: call.operator_id, callId }
      if (PLATFORM_END_REASONS.includes(endReason)) {
        await emitEvent(tx, { type: 'call.ending', ...audience, payload: { callId, reason: endReason, endedAtMs } })
      }
      await emitEvent(tx, { type: 'call.settled', ...audience, payload: { ...settlement } })
      // Shared accounts last: their row locks are then held only for the moment before commit.
      // The posted holds credited the operator's earnings with the whole charge; the platform's commission and the
      // company's share move out of them, so the operator keeps exactly the remainder.
      const operatorAccount = accountIds.operatorEarnings(call.operator_id)
      if (amounts.commissionCents > 0) {
        await createTransfer(tx, {
          id: transferIds.commission(callId),
          debitAccountId: operatorAccount,
          creditAccountId: accountIds.platformRevenue,
          amountCents: amounts.commissionCents,
          pending: false,
          code: 'call_commission',
          callId,
        })
      }
      if (amounts.companyShareCents > 0 && call.company_id) {
        const companyAccount = accountIds.companyEarnings(call.company_id)
        await openAccount(tx, companyAccount, 'company_earnings', call.company_id)
        await createTransfer(tx, {
          id: transferIds.companyShare(callId),
          debitAccountId: operatorAccount,
          creditAccountId: companyAccount,
          amountCents: amounts.companyShareCents,
          pending: false,
          code: 'call_company_share',
          callId,
        })
      }
      return settlement
    })
  }

  return { openCall, holdNextPeriod, settleCall }
}

/** Calls whose plugin has been quiet longer than their heartbeat timeout, for the heartbeat monitor. */
export async function findQuietCalls(db: Db, limit = 500): Promise<Array<{ callId: string; workflowId: string; lastHeartbeatAtMs: number }>> {
  const rows = await db.$queryRaw<{ id: string; workflow_id: string; last_heartbeat_at: Date }[]>`
    SELECT id, workflow_id, last_heartbeat_at FROM calls
    WHERE status = 'active' AND last_heartbeat_at < now() - make_interval(secs => heartbeat_timeout_ms / 1000.0)
    ORDER BY last_heartbeat_at LIMIT ${limit}`
  return rows.map((r) => ({ callId: r.id, workflowId: r.workflow_id, lastHeartbeatAtMs: r.last_heartbeat_at.getTime() }))
}

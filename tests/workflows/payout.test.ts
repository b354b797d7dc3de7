import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createUser } from '../../activities/identity/users.js'
import { accountIds } from '../../activities/ledger/accounts.js'
import { accountBalance } from '../../activities/ledger/balances.js'
import { checkLedger } from '../../activities/ledger/check.js'
import { createTransfer } from '../../activities/ledger/transfers.js'
import { createPayoutActivities, payoutTransferId } from '../../activities/payouts/activities.js'
import { earningsSummary } from '../../activities/payouts/earnings.js'
import type { Db } from '../../prisma/client.js'
import { decidePayoutWorkflow, requestPayoutWorkflow } from '../../temporal/payouts.js'
import { payoutWorkflowId } from '../../workflows/payout.js'
import { startCallHarness, testConfig, waitFor, type CallHarness } from '../support/call-harness.js'
import { connectTestDb, createCompany, createOperator } from '../support/db.js'

// The payout workflow on the real Temporal dev server and database: the money is reserved at the request, moved
// once when paid, returned when rejected, and a worker restart in between changes none of that.

let db: Db
let harness: CallHarness
let adminId: string
const config = testConfig({ PAYOUT_MINIMUM_CENTS: '500', EARNINGS_CLEARING_HOURS: '0' })

beforeAll(async () => {
  db = connectTestDb()
  harness = await startCallHarness(db, config)
  const tag = randomUUID().slice(0, 8)
  adminId = (await createUser(db, { role: 'admin', email: `admin-${tag}@example.test`, password: 'correct-horse', displayName: `Admin ${tag}` })).id
})
afterAll(async () => {
  await harness?.stop()
  const result = await checkLedger(db)
  expect(result.violations).toEqual([])
  await db?.$disconnect()
})

/** Earnings as a settled call would leave them (a posted credit), without running a call. */
async function earn(accountId: string, cents: number) {
  await db.$transaction((tx) =>
    createTransfer(tx, { id: `test-earning:${randomUUID()}`, debitAccountId: accountIds.adjustments, creditAccountId: accountId, amountCents: cents, code: 'test_earning', pending: false }),
  )
}

async function operatorWithEarnings(cents: number) {
  const operator = await createOperator(db)
  await earn(accountIds.operatorEarnings(operator.id), cents)
  return operator
}

const request = (payoutId: string, operatorId: string, amountCents: number) =>
  requestPayoutWorkflow(harness.client, harness.taskQueue, { payoutId, payee: { kind: 'operator', id: operatorId }, requestedBy: operatorId, amountCents })

async function finalStatus(payoutId: string, status: 'paid' | 'rejected') {
  return waitFor(async () => (await db.payout.findFirst({ where: { id: payoutId, status } })) ?? undefined, 20_000, `payout ${status}`)
}

describe('a payout', () => {
  it('reserves the money at the request, and cannot take it twice', async () => {
    const operator = await operatorWithEarnings(3_000)
    const payoutId = randomUUID()
    expect(await request(payoutId, operator.id, 2_000)).toEqual({ status: 'requested', payoutId, amountCents: 2_000 })
    // The same request again joins the same workflow: nothing more is reserved.
    expect(await request(payoutId, operator.id, 2_000)).toEqual({ status: 'requested', payoutId, amountCents: 2_000 })
    const earnings = await earningsSummary(db, 'operator', operator.id, 0)
    expect(earnings).toMatchObject({ balanceCents: 3_000, inPayoutCents: 2_000, availableCents: 1_000 })
    const transfer = await db.transfer.findUniqueOrThrow({ where: { id: payoutTransferId(payoutId) } })
    expect(transfer).toMatchObject({ status: 'pending', amount: 2_000n, creditAccountId: accountIds.payoutClearing })
    // A second request for more than what is left is refused, and reserves nothing.
    const second = await request(randomUUID(), operator.id, 1_500)
    expect(second).toMatchObject({ status: 'refused', reason: 'insufficient_available', availableCents: 1_000 })
    expect((await earningsSummary(db, 'operator', operator.id, 0)).inPayoutCents).toBe(2_000)
    expect(await db.auditLogEntry.count({ where: { action: 'payout.request', subject: `payout:${payoutId}` } })).toBe(1)
  })

  it('is refused below the minimum from the settings', async () => {
    const operator = await operatorWithEarnings(3_000)
    expect(await request(randomUUID(), operator.id, 499)).toMatchObject({ status: 'refused', reason: 'below_minimum', minimumCents: 500 })
    expect(await db.payout.count({ where: { operatorId: operator.id } })).toBe(0)
  })

  it('refuses a requester who is not the payee', async () => {
    const operator = await operatorWithEarnings(3_000)
    const other = await createOperator(db)
    const outcome = await requestPayoutWorkflow(harness.client, harness.taskQueue, {
      payoutId: randomUUID(),
      payee: { kind: 'operator', id: operator.id },
      requestedBy: other.id,
      amountCents: 1_000,
    })
    expect(outcome).toMatchObject({ status: 'refused', reason: 'payee_not_found' })
  })

  it('survives a worker restart between request and approval, and is paid exactly once', async () => {
    const operator = await operatorWithEarnings(5_000)
    const payoutId = randomUUID()
    await request(payoutId, operator.id, 4_000)
    await harness.stop()
    harness = await startCallHarness(db, config)
    const admin = adminId
    const state = await decidePayoutWorkflow(harness.client, payoutId, { approve: true, adminId: admin })
    expect(['approved', 'paid']).toContain(state.phase)
    const paid = await finalStatus(payoutId, 'paid')
    expect(paid.provider).toBe('sandbox')
    expect(paid.providerReference).toMatch(/^sbx_/)
    expect((await db.transfer.findUniqueOrThrow({ where: { id: payoutTransferId(payoutId) } })).status).toBe('posted')
    expect(await accountBalance(db, accountIds.operatorEarnings(operator.id))).toMatchObject({ postedCents: 1_000, availableCents: 1_000 })
    // Sending and completing again (a retried activity) pays nothing more.
    const activities = createPayoutActivities(db, config)
    const again = await activities.sendPayout({ payoutId })
    expect(again.reference).toBe(paid.providerReference)
    await activities.completePayout({ payoutId, ...again })
    expect(await db.sandboxPayoutTransfer.count({ where: { idempotencyKey: payoutId } })).toBe(1)
    expect(await accountBalance(db, accountIds.operatorEarnings(operator.id))).toMatchObject({ postedCents: 1_000 })
    const actions = (await db.auditLogEntry.findMany({ where: { subject: `payout:${payoutId}` }, orderBy: { id: 'asc' } })).map((e) => e.action)
    expect(actions).toEqual(['payout.request', 'payout.approve', 'payout.paid'])
    // A decided payout takes no second decision.
    await expect(decidePayoutWorkflow(harness.client, payoutId, { approve: true, adminId: admin })).rejects.toThrow()
    const description = await harness.client.workflow.getHandle(payoutWorkflowId(payoutId)).describe()
    expect(description.status.name).toBe('COMPLETED')
  })

  it('when rejected, returns the money to earnings', async () => {
    const operator = await operatorWithEarnings(2_500)
    const payoutId = randomUUID()
    await request(payoutId, operator.id, 2_500)
    expect((await earningsSummary(db, 'operator', operator.id, 0)).availableCents).toBe(0)
    await expect(decidePayoutWorkflow(harness.client, payoutId, { approve: false, adminId, reason: '  ' })).rejects.toThrow()
    await decidePayoutWorkflow(harness.client, payoutId, { approve: false, adminId, reason: 'bank details missing' })
    const rejected = await finalStatus(payoutId, 'rejected')
    expect(rejected.decisionReason).toBe('bank details missing')
    expect((await db.transfer.findUniqueOrThrow({ where: { id: payoutTransferId(payoutId) } })).status).toBe('voided')
    expect((await earningsSummary(db, 'operator', operator.id, 0)).availableCents).toBe(2_500)
    expect(await db.sandboxPayoutTransfer.count({ where: { idempotencyKey: payoutId } })).toBe(0)
  })

  it('pays a company from its own earnings, asked by its owner', async () => {
    const company = await createCompany(db, 2_000)
    await earn(accountIds.companyEarnings(company.companyId!), 1_200)
    const payoutId = randomUUID()
    const outcome = await requestPayoutWorkflow(harness.client, harness.taskQueue, {
      payoutId,
      payee: { kind: 'company', id: company.companyId! },
      requestedBy: company.id,
      amountCents: 1_200,
    })
    expect(outcome.status).toBe('requested')
    await decidePayoutWorkflow(harness.client, payoutId, { approve: true, adminId })
    await finalStatus(payoutId, 'paid')
    expect(await accountBalance(db, accountIds.companyEarnings(company.companyId!))).toMatchObject({ postedCents: 0 })
  })
})

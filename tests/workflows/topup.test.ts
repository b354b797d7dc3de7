import { randomUUID } from 'node:crypto'
import type { Client } from '@temporalio/client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { checkLedger } from '../../activities/ledger/check.js'
import { walletBalance } from '../../activities/ledger/balances.js'
import { createSandboxPay, SANDBOX_SIGNATURE_HEADER, type SandboxPay } from '../../activities/payments/sandbox/sandbox-pay.js'
import { signatureHeader } from '../../activities/payments/webhook-signature.js'
import { setSpendingCaps } from '../../activities/spending-caps.js'
import { endCallWorkflow } from '../../temporal/calls.js'
import { createCallWorker } from '../../temporal/worker.js'
import { createPlatformServices, type PlatformServices } from '../../web-remix/app/plugin-api/services.server.js'
import { confirmFromReturn, openTopUp } from '../../web-remix/app/wallet/topups.server.js'
import { topUpWorkflowId, type TopUpOpening } from '../../workflows/topup.js'
import { callInput, eventsOf, sleep, testConfig, waitFor, workflowBundle, startAndConnect } from '../support/call-harness.js'
import { createMember, createOperator } from '../support/db.js'
import { startWebStack, stopAfterLedgerCheck, type WebStack } from '../support/web-server.js'

/**
 * The top-up workflow end to end below the browser: the web's own helpers open the checkout (update-with-start), the
 * sandbox decides the payment as its page would, and its webhooks travel over real HTTP to the web's endpoint, which
 * signals the workflow. The member's return is the return handler's own function.
 */

let stack: WebStack
let services: PlatformServices
let sandbox: SandboxPay
let client: Client

beforeAll(async () => {
  stack = await startWebStack()
  services = createPlatformServices(stack.config)
  sandbox = createSandboxPay({ db: stack.db, webhookSecret: stack.config.PAYMENT_WEBHOOK_SECRET, retryDelaysMs: [200, 500] })
  client = await services.temporal()
})
afterAll(async () => {
  await services?.close()
  await stopAfterLedgerCheck(stack)
})

async function open(memberId: string, amountCents: number, idempotencyKey = randomUUID()) {
  const opening = await openTopUp(services, new Request(`${stack.url}/wallet`), { memberId, amountCents, idempotencyKey })
  if (opening.status !== 'open') throw new Error(`the checkout did not open: ${JSON.stringify(opening)}`)
  const topUp = await stack.db.topUp.findUniqueOrThrow({ where: { id: opening.paymentId } })
  return { opening, topUp, sessionId: topUp.providerSessionId! }
}

async function balanceOf(memberId: string) {
  return (await walletBalance(stack.db, memberId))!
}

async function finished(paymentId: string) {
  return waitFor(
    async () => {
      const topUp = await stack.db.topUp.findUniqueOrThrow({ where: { id: paymentId } })
      return topUp.status === 'open' ? undefined : topUp
    },
    20_000,
    `top-up ${paymentId} to finish`,
  )
}

async function workflowResult(paymentId: string) {
  return client.workflow.getHandle(topUpWorkflowId(paymentId)).result()
}

function returnOf(paymentId: string, sessionId: string) {
  return stack.db.topUp
    .findUniqueOrThrow({ where: { id: paymentId } })
    .then((topUp) => confirmFromReturn(services, topUp, sessionId))
}

const topUpTransfers = (paymentId: string) => stack.db.transfer.findMany({ where: { id: { startsWith: `topup:${paymentId}` } } })

async function postWebhook(body: string, header: string | null) {
  const response = await fetch(`${stack.url}/webhooks/payments/sandbox`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(header ? { [SANDBOX_SIGNATURE_HEADER]: header } : {}) },
    body,
  })
  return { status: response.status, body: (await response.json()) as Record<string, unknown> }
}

function signedEventBody(sessionId: string, paymentId: string, amountCents: number) {
  return JSON.stringify({
    id: `evt_${sessionId}_succeeded`,
    type: 'checkout.session.completed',
    created: Math.floor(Date.now() / 1000),
    data: {
      object: { id: sessionId, merchant_reference: paymentId, amount_cents: amountCents, status: 'succeeded', payment_id: 'py_test_forged', decline_reason: null },
    },
  })
}

describe('a top-up', () => {
  it('credits the wallet once when the webhook arrives twice and the member returns after it', async () => {
    const member = await createMember(stack.db)
    const { opening, sessionId } = await open(member.id, 2_500)
    expect(opening.checkoutUrl).toBe(`${stack.url}/sandbox-pay/checkout/${sessionId}`)

    expect((await sandbox.payWithCard(sessionId, { number: '4242 4242 4242 4242', expiry: '12/34', cvc: '123' })).ok).toBe(true)
    expect(await sandbox.deliverWebhook(sessionId)).toEqual({ delivered: true, status: 200 })
    const topUp = await finished(opening.paymentId)
    expect(topUp).toMatchObject({ status: 'succeeded', confirmedBy: 'webhook' })
    expect(await sandbox.deliverWebhook(sessionId)).toEqual({ delivered: true, status: 200 })
    await returnOf(opening.paymentId, sessionId)

    expect(await workflowResult(opening.paymentId)).toMatchObject({ status: 'succeeded', credited: true, confirmedBy: 'webhook' })
    const transfers = await topUpTransfers(opening.paymentId)
    expect(transfers).toHaveLength(1)
    expect(transfers[0]).toMatchObject({ debitAccountId: 'payment_clearing', creditAccountId: `member_wallet:${member.id}`, code: 'topup' })
    expect((await balanceOf(member.id)).availableCents).toBe(2_500)
    const receipts = await stack.db.mailMessage.findMany({ where: { toAddress: member.email, template: 'topup_receipt' } })
    expect(receipts).toHaveLength(1)
    expect(receipts[0]!.subject).toBe('Receipt: $25.00 added to your wallet')
    expect(receipts[0]!.textBody).toContain(`/wallet/topups/${opening.paymentId}`)
  })

  it('credits once when webhooks and the return arrive at the same moment', async () => {
    const member = await createMember(stack.db)
    const { opening, sessionId } = await open(member.id, 1_000)
    await sandbox.payWithCard(sessionId, { number: '4242424242424242', expiry: '01/40', cvc: '999' })
    await Promise.all([
      sandbox.deliverWebhook(sessionId),
      sandbox.deliverWebhook(sessionId),
      sandbox.deliverWebhook(sessionId),
      returnOf(opening.paymentId, sessionId),
      returnOf(opening.paymentId, sessionId),
    ])
    await finished(opening.paymentId)
    await workflowResult(opening.paymentId)
    expect(await topUpTransfers(opening.paymentId)).toHaveLength(1)
    expect((await balanceOf(member.id)).availableCents).toBe(1_000)
    expect(await stack.db.mailMessage.count({ where: { toAddress: member.email, template: 'topup_receipt' } })).toBe(1)
  })

  it('is confirmed by the return when the member is back before the webhook, which then changes nothing', async () => {
    const member = await createMember(stack.db)
    const { opening, sessionId } = await open(member.id, 1_500)
    await sandbox.payWithCard(sessionId, { number: '4242424242424242', expiry: '12/34', cvc: '123' })
    await returnOf(opening.paymentId, sessionId)
    expect(await finished(opening.paymentId)).toMatchObject({ status: 'succeeded', confirmedBy: 'return' })
    expect(await workflowResult(opening.paymentId)).toMatchObject({ credited: true, confirmedBy: 'return' })
    expect(await sandbox.deliverWebhook(sessionId)).toEqual({ delivered: true, status: 200 })
    expect(await topUpTransfers(opening.paymentId)).toHaveLength(1)
    expect((await balanceOf(member.id)).availableCents).toBe(1_500)
  })

  it('credits once when the confirmations arrive late, while no worker runs', async () => {
    const member = await createMember(stack.db)
    const { opening, sessionId } = await open(member.id, 2_000)
    await stack.stopWorker()
    try {
      await sandbox.payWithCard(sessionId, { number: '4242424242424242', expiry: '12/34', cvc: '123' })
      expect(await sandbox.deliverWebhook(sessionId)).toEqual({ delivered: true, status: 200 })
      await returnOf(opening.paymentId, sessionId)
      await sleep(500)
      expect((await stack.db.topUp.findUniqueOrThrow({ where: { id: opening.paymentId } })).status).toBe('open')
      expect((await balanceOf(member.id)).availableCents).toBe(0)
    } finally {
      await stack.startWorker()
    }
    expect(await finished(opening.paymentId)).toMatchObject({ status: 'succeeded', confirmedBy: 'webhook' })
    expect(await topUpTransfers(opening.paymentId)).toHaveLength(1)
    expect((await balanceOf(member.id)).availableCents).toBe(2_000)
  })

  it('credits once when a confirmation comes after the workflow finished (a new run finds the credit made)', async () => {
    const member = await createMember(stack.db)
    const { opening, sessionId } = await open(member.id, 700)
    await sandbox.payWithCard(sessionId, { number: '4242424242424242', expiry: '12/34', cvc: '123' })
    await sandbox.deliverWebhook(sessionId)
    await finished(opening.paymentId)
    await workflowResult(opening.paymentId)
    // The web skips a confirmation it already recorded; the workflow itself must hold too, so signal it directly.
    const { confirmPayment } = await import('../../web-remix/app/wallet/topups.server.js')
    const session = (await sandbox.getSession(sessionId))!
    await confirmPayment(client, stack.config.TEMPORAL_TASK_QUEUE, opening.paymentId, {
      source: 'webhook',
      result: { status: 'succeeded', providerPaymentId: session.paymentId!, amountCents: 700 },
    })
    const rerun = await client.workflow.getHandle(topUpWorkflowId(opening.paymentId)).result()
    expect(rerun).toMatchObject({ status: 'succeeded', credited: false })
    expect(await topUpTransfers(opening.paymentId)).toHaveLength(1)
    expect((await balanceOf(member.id)).availableCents).toBe(700)
  })

  it('opens one checkout for a form submitted twice', async () => {
    const member = await createMember(stack.db)
    const key = randomUUID()
    const [first, second] = await Promise.all([open(member.id, 1_000, key), open(member.id, 1_000, key)])
    expect(second.opening).toEqual(first.opening)
    expect(await stack.db.topUp.count({ where: { memberId: member.id } })).toBe(1)
    expect(await stack.db.sandboxPaySession.count({ where: { merchantReference: first.opening.paymentId } })).toBe(1)
  })

  it('changes nothing when the card is declined', async () => {
    const member = await createMember(stack.db, { fundedCents: 300 })
    const before = await balanceOf(member.id)
    const { opening, sessionId } = await open(member.id, 5_000)
    expect((await sandbox.payWithCard(sessionId, { number: '4000 0000 0000 0002', expiry: '12/34', cvc: '123' })).session.status).toBe('declined')
    expect(await sandbox.deliverWebhook(sessionId)).toEqual({ delivered: true, status: 200 })
    await returnOf(opening.paymentId, sessionId)
    expect(await finished(opening.paymentId)).toMatchObject({ status: 'declined', declineReason: 'card_declined', confirmedBy: 'webhook' })
    expect(await workflowResult(opening.paymentId)).toMatchObject({ status: 'declined', credited: false })
    expect(await topUpTransfers(opening.paymentId)).toHaveLength(0)
    expect(await balanceOf(member.id)).toEqual(before)
    expect(await stack.db.mailMessage.count({ where: { toAddress: member.email } })).toBe(0)
  })

  it('credits after the second step of the 3-D-Secure-like card, and declines when that step fails', async () => {
    const member = await createMember(stack.db)
    const approved = await open(member.id, 1_200)
    const paid = await sandbox.payWithCard(approved.sessionId, { number: '4000000000003220', expiry: '12/34', cvc: '123' })
    expect(paid.session.status).toBe('requires_action')
    await returnOf(approved.opening.paymentId, approved.sessionId) // the member came back before confirming: nothing yet
    expect((await stack.db.topUp.findUniqueOrThrow({ where: { id: approved.opening.paymentId } })).status).toBe('open')
    expect((await sandbox.authenticate(approved.sessionId, true)).status).toBe('succeeded')
    await returnOf(approved.opening.paymentId, approved.sessionId)
    expect(await finished(approved.opening.paymentId)).toMatchObject({ status: 'succeeded', confirmedBy: 'return' })

    const failed = await open(member.id, 800)
    await sandbox.payWithCard(failed.sessionId, { number: '4000000000003220', expiry: '12/34', cvc: '123' })
    await sandbox.authenticate(failed.sessionId, false)
    await sandbox.deliverWebhook(failed.sessionId)
    expect(await finished(failed.opening.paymentId)).toMatchObject({ status: 'declined', declineReason: 'authentication_failed' })
    expect((await balanceOf(member.id)).availableCents).toBe(1_200)
  })

  it('refuses a webhook with a bad signature, a tampered body or no signature, and changes nothing', async () => {
    const member = await createMember(stack.db)
    const { opening, sessionId } = await open(member.id, 900)
    const body = signedEventBody(sessionId, opening.paymentId, 900)
    const now = Math.floor(Date.now() / 1000)
    expect(await postWebhook(body, signatureHeader('another-secret-that-is-long-enough-0123', body, now))).toMatchObject({
      status: 400,
      body: { error: 'invalid_webhook' },
    })
    const signed = signatureHeader(stack.config.PAYMENT_WEBHOOK_SECRET, body, now)
    expect((await postWebhook(body.replace('"amount_cents":900', '"amount_cents":90000'), signed)).status).toBe(400)
    expect((await postWebhook(body, null)).status).toBe(400)
    expect((await postWebhook(body, 't=abc,v1=zz')).status).toBe(400)
    await sleep(300)
    expect((await stack.db.topUp.findUniqueOrThrow({ where: { id: opening.paymentId } })).status).toBe('open')
    expect((await balanceOf(member.id)).availableCents).toBe(0)
  })

  it('refuses a webhook replayed outside the time window, and a replay inside it changes nothing', async () => {
    const member = await createMember(stack.db)
    const { opening, sessionId } = await open(member.id, 600)
    await sandbox.payWithCard(sessionId, { number: '4242424242424242', expiry: '12/34', cvc: '123' })
    const session = (await sandbox.getSession(sessionId))!
    const body = JSON.stringify({
      id: `evt_${sessionId}_succeeded`,
      type: 'checkout.session.completed',
      created: Math.floor(Date.now() / 1000),
      data: { object: { id: sessionId, merchant_reference: opening.paymentId, amount_cents: 600, status: 'succeeded', payment_id: session.paymentId, decline_reason: null } },
    })
    const tolerance = stack.config.PAYMENT_WEBHOOK_TOLERANCE_S
    const old = Math.floor(Date.now() / 1000) - tolerance - 60
    const stale = await postWebhook(body, signatureHeader(stack.config.PAYMENT_WEBHOOK_SECRET, body, old))
    expect(stale).toMatchObject({ status: 400, body: { error: 'invalid_webhook' } })
    expect(String(stale.body.message)).toMatch(/timestamp/)
    const future = Math.floor(Date.now() / 1000) + tolerance + 60
    expect((await postWebhook(body, signatureHeader(stack.config.PAYMENT_WEBHOOK_SECRET, body, future))).status).toBe(400)
    await sleep(300)
    expect((await stack.db.topUp.findUniqueOrThrow({ where: { id: opening.paymentId } })).status).toBe('open')

    const header = signatureHeader(stack.config.PAYMENT_WEBHOOK_SECRET, body, Math.floor(Date.now() / 1000))
    expect((await postWebhook(body, header)).status).toBe(200)
    await finished(opening.paymentId)
    expect((await postWebhook(body, header)).status).toBe(200)
    await workflowResult(opening.paymentId)
    expect(await topUpTransfers(opening.paymentId)).toHaveLength(1)
    expect((await balanceOf(member.id)).availableCents).toBe(600)
  })

  it('refuses a top-up that would take the day over the cap, and one outside the allowed amounts', async () => {
    const member = await createMember(stack.db)
    await setSpendingCaps(stack.db, member.id, { dailyCents: 3_000, monthlyCents: null, timeZone: 'UTC' })
    await open(member.id, 2_000) // open checkouts count towards the cap, so parallel checkouts cannot exceed it
    const refused = await openTopUp(services, new Request(`${stack.url}/wallet`), { memberId: member.id, amountCents: 1_500, idempotencyKey: randomUUID() })
    expect(refused).toMatchObject({ status: 'refused', reason: 'spending_cap', detail: { cap: 'daily', limitCents: 3_000, usedCents: 2_000 } })
    const tooSmall = await openTopUp(services, new Request(`${stack.url}/wallet`), { memberId: member.id, amountCents: 1, idempotencyKey: randomUUID() })
    expect(tooSmall).toMatchObject({ status: 'refused', reason: 'amount_out_of_range' })
    expect(await stack.db.topUp.count({ where: { memberId: member.id } })).toBe(1)
  })

  it('clears the low-balance warning of a call in progress, which simply continues', async () => {
    const member = await createMember(stack.db, { fundedCents: 250 })
    const operator = await createOperator(stack.db, { ratePerMinuteCents: 100 })
    const input = await callInput(stack.db, stack.config, { memberId: member.id, operatorId: operator.id, ratePerMinuteCents: 100 })
    expect(await startAndConnect(client, stack.config.TEMPORAL_TASK_QUEUE, input)).toMatchObject({ status: 'active' })
    // One period held leaves 150: fewer than two more periods, so the warning is up.
    await waitFor(async () => ((await stack.db.call.findUniqueOrThrow({ where: { id: input.callId } })).lowBalance ? true : undefined), 10_000, 'the warning')
    const { opening, sessionId } = await open(member.id, 5_000)
    await sandbox.payWithCard(sessionId, { number: '4242424242424242', expiry: '12/34', cvc: '123' })
    await sandbox.deliverWebhook(sessionId)
    await finished(opening.paymentId)
    const call = await stack.db.call.findUniqueOrThrow({ where: { id: input.callId } })
    expect(call).toMatchObject({ lowBalance: false, status: 'active' })
    expect((await eventsOf(stack.db, input.callId)).map((event) => event.type)).toContain('call.low_balance_cleared')
    const ended = await endCallWorkflow(client, input.callId, 'member_hangup', Date.now(), 15_000)
    expect(ended.status).toBe('settled')
  })

  it('keeps card numbers out of every table', async () => {
    const rows = await stack.db.$queryRawUnsafe<{ table_name: string }[]>(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`,
    )
    for (const { table_name } of rows) {
      const hits = await stack.db.$queryRawUnsafe<{ n: bigint }[]>(
        `SELECT count(*) AS n FROM "${table_name}" t WHERE t::text ~ '4242 ?4242 ?4242 ?4242|4000 ?0000 ?0000 ?(0002|3220)'`,
      )
      expect(Number(hits[0]!.n), `card numbers in ${table_name}`).toBe(0)
    }
  })
})

describe('an abandoned top-up', () => {
  // A worker of its own whose checkouts expire after a few seconds.
  let worker: { shutdown(): void; running: Promise<void> }
  const config = testConfig({ TOPUP_CHECKOUT_TTL_MS: '2500' })
  beforeAll(async () => {
    const created = await createCallWorker({ config, db: stack.db, workflowBundle: await workflowBundle() })
    worker = { shutdown: () => created.worker.shutdown(), running: created.run() }
  })
  afterAll(async () => {
    worker?.shutdown()
    await worker?.running
  })

  async function openShort(memberId: string, amountCents: number) {
    const shortServices = { ...services, config }
    const opening = (await openTopUp(shortServices, new Request(`${stack.url}/wallet`), { memberId, amountCents, idempotencyKey: randomUUID() })) as Extract<TopUpOpening, { status: 'open' }>
    const topUp = await stack.db.topUp.findUniqueOrThrow({ where: { id: opening.paymentId } })
    return { opening, sessionId: topUp.providerSessionId! }
  }

  it('expires at its timer, and the payment page can no longer be paid', async () => {
    const member = await createMember(stack.db)
    const { opening, sessionId } = await openShort(member.id, 1_000)
    expect(await finished(opening.paymentId)).toMatchObject({ status: 'expired', confirmedBy: 'expiry' })
    expect((await sandbox.getSession(sessionId))!.status).toBe('expired')
    const late = await sandbox.payWithCard(sessionId, { number: '4242424242424242', expiry: '12/34', cvc: '123' })
    expect(late.session.status).toBe('expired')
    expect(await topUpTransfers(opening.paymentId)).toHaveLength(0)
    expect((await balanceOf(member.id)).availableCents).toBe(0)
  })

  it('is credited at expiry when it was paid but no confirmation reached us', async () => {
    const member = await createMember(stack.db)
    const { opening, sessionId } = await openShort(member.id, 1_100)
    await sandbox.payWithCard(sessionId, { number: '4242424242424242', expiry: '12/34', cvc: '123' })
    // The webhook is lost and the member closed the tab: the expiry asks the provider, which says "paid".
    expect(await finished(opening.paymentId)).toMatchObject({ status: 'succeeded', confirmedBy: 'expiry' })
    expect(await topUpTransfers(opening.paymentId)).toHaveLength(1)
    expect((await balanceOf(member.id)).availableCents).toBe(1_100)
    expect((await checkLedger(stack.db)).violations).toEqual([])
  })
})

import { createHash } from 'node:crypto'
import { WithStartWorkflowOperation, WorkflowUpdateRPCTimeoutOrCancelledError, type Client } from '@temporalio/client'
import { createPayments, type Payments } from '../../../activities/payments/index.js'
import type { PaymentEvent } from '../../../activities/payments/provider.js'
import { searchAttributeNames } from '../../../workflows/definitions.js'
import {
  awaitCheckout,
  paymentConfirmed,
  topUpWorkflowId,
  type FinalPaymentResult,
  type PaymentConfirmation,
  type TopUpOpening,
  type TopUpStatus,
  type topUpWorkflow,
} from '../../../workflows/topup.js'
import type { PlatformServices } from '../plugin-api/services.server.js'

/**
 * How the web drives top-ups: it opens one with update-with-start (the workflow records it and opens the provider's
 * checkout in its first activity), and hands every verified confirmation to the workflow with signal-with-start, from
 * the webhook and from the member's return alike. The web never credits anything itself.
 */

const paymentsByServices = new WeakMap<PlatformServices, Payments>()

/** The configured provider (and the sandbox's own side when that is it), one per web process. */
export function paymentsFor(services: PlatformServices): Payments {
  let payments = paymentsByServices.get(services)
  if (!payments) {
    payments = createPayments(services.config, services.db)
    paymentsByServices.set(services, payments)
  }
  return payments
}

/** The payment id of a member's top-up form: the same form submitted twice is one payment. */
export function paymentIdFor(memberId: string, idempotencyKey: string): string {
  const hex = createHash('sha256').update(`topup:${memberId}:${idempotencyKey}`).digest('hex')
  // A name-based UUID (version 8, RFC 9562's custom layout).
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16)}${hex.slice(17, 20)}-${hex.slice(20, 32)}`
}

/** The origin the provider sends the member and its webhooks back to. */
export function publicOrigin(services: PlatformServices, request: Request): string {
  return services.config.PUBLIC_URL ? new URL(services.config.PUBLIC_URL).origin : new URL(request.url).origin
}

export class TopUpStartTimeoutError extends Error {
  override name = 'TopUpStartTimeoutError'
}

export async function openTopUp(
  services: PlatformServices,
  request: Request,
  topUp: { memberId: string; amountCents: number; idempotencyKey: string },
  deadlineMs = 15_000,
): Promise<TopUpOpening> {
  const client = await services.temporal()
  const paymentId = paymentIdFor(topUp.memberId, topUp.idempotencyKey)
  const origin = publicOrigin(services, request)
  const { provider } = paymentsFor(services)
  const startWorkflowOperation = new WithStartWorkflowOperation<typeof topUpWorkflow>('topUpWorkflow', {
    workflowId: topUpWorkflowId(paymentId),
    taskQueue: services.config.TEMPORAL_TASK_QUEUE,
    workflowIdConflictPolicy: 'USE_EXISTING',
    args: [
      {
        paymentId,
        request: {
          ...topUp,
          returnUrl: `${origin}/wallet/topups/${paymentId}`,
          webhookUrl: `${origin}/webhooks/payments/${provider.name}`,
        },
      },
    ],
    searchAttributes: { [searchAttributeNames.memberId]: [topUp.memberId] },
  })
  try {
    return await client.withDeadline(Date.now() + deadlineMs, () =>
      client.workflow.executeUpdateWithStart(awaitCheckout, { startWorkflowOperation }),
    )
  } catch (error) {
    const code = (error as { code?: unknown })?.code ?? (error as { cause?: { code?: unknown } })?.cause?.code
    if (error instanceof WorkflowUpdateRPCTimeoutOrCancelledError || code === 4 || /deadline/i.test(String((error as Error)?.message))) {
      throw new TopUpStartTimeoutError(`the checkout for ${paymentId} did not open within ${deadlineMs} ms`)
    }
    throw error
  }
}

/** Hands a verified outcome to the payment's workflow, starting a run if none is running (a late confirmation). */
export async function confirmPayment(client: Client, taskQueue: string, paymentId: string, confirmation: PaymentConfirmation): Promise<void> {
  await client.workflow.signalWithStart<typeof topUpWorkflow, [PaymentConfirmation]>('topUpWorkflow', {
    workflowId: topUpWorkflowId(paymentId),
    taskQueue,
    args: [{ paymentId }],
    signal: paymentConfirmed,
    signalArgs: [confirmation],
  })
}

/** True when the stored top-up already reflects the result, so a repeated confirmation need not wake a workflow. */
export function alreadyRecorded(status: TopUpStatus, result: FinalPaymentResult): boolean {
  if (status === 'open') return false
  return result.status === 'succeeded' ? status === 'succeeded' : true
}

export type WebhookAnswer = { status: 200; body: { received: true; ignored?: string } } | { status: 400 | 404; body: { error: string; message: string } }

/** The webhook, after the route has read the raw body: verify, find the top-up, confirm. */
export async function receivePaymentWebhook(services: PlatformServices, providerName: string, rawBody: string, headers: Headers): Promise<WebhookAnswer> {
  const { provider } = paymentsFor(services)
  if (providerName !== provider.name) return { status: 404, body: { error: 'not_found', message: 'no such payment provider' } }
  let event: PaymentEvent | null
  try {
    event = provider.verifyWebhook(rawBody, headers, new Date())
  } catch (error) {
    if ((error as Error).name === 'WebhookVerificationError') {
      return { status: 400, body: { error: 'invalid_webhook', message: (error as Error).message } }
    }
    throw error
  }
  if (!event) return { status: 200, body: { received: true, ignored: 'not a checkout outcome' } }
  const topUp = await services.db.topUp.findUnique({ where: { id: event.paymentId }, select: { status: true, providerSessionId: true, provider: true } })
  // Not ours (another environment sharing the provider account, say): acknowledged so the provider stops retrying.
  if (!topUp || topUp.provider !== provider.name) return { status: 200, body: { received: true, ignored: 'unknown payment' } }
  if (topUp.providerSessionId !== event.sessionId) {
    return { status: 400, body: { error: 'invalid_webhook', message: 'the session does not belong to this payment' } }
  }
  if (!alreadyRecorded(topUp.status, event.result)) {
    await confirmPayment(await services.temporal(), services.config.TEMPORAL_TASK_QUEUE, event.paymentId, { source: 'webhook', result: event.result })
  }
  return { status: 200, body: { received: true } }
}

/**
 * The member came back from the payment page. The query string is not trusted: the provider's API says how the
 * checkout ended, and a final outcome is handed to the workflow exactly as the webhook's would be.
 */
export async function confirmFromReturn(
  services: PlatformServices,
  topUp: { id: string; status: TopUpStatus; providerSessionId: string | null },
  sessionId: string,
): Promise<void> {
  if (!topUp.providerSessionId || topUp.providerSessionId !== sessionId || topUp.status !== 'open') return
  const state = await paymentsFor(services).provider.retrieveCheckoutSession(sessionId)
  if (state.paymentId !== topUp.id || state.result.status === 'open') return
  await confirmPayment(await services.temporal(), services.config.TEMPORAL_TASK_QUEUE, topUp.id, { source: 'return', result: state.result })
}

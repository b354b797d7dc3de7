import { z } from 'zod'
import type { CheckoutSessionState, FinalPaymentResult, PaymentEvent, PaymentProvider, PaymentResult } from '../provider.js'
import { WebhookVerificationError } from '../provider.js'
import { verifySignature } from '../webhook-signature.js'
import { sandboxCheckoutUrl, SANDBOX_SIGNATURE_HEADER, type SandboxPay, type SandboxSession } from './sandbox-pay.js'

/**
 * Our side of the sandbox: the PaymentProvider adapter. A real provider's adapter would make HTTP calls to its API
 * where this one calls the sandbox in-process; the webhook, the page and the return are real HTTP either way.
 */

function resultOf(session: SandboxSession): PaymentResult {
  switch (session.status) {
    case 'succeeded':
      return { status: 'succeeded', providerPaymentId: session.paymentId!, amountCents: session.amountCents }
    case 'declined':
      return { status: 'declined', reason: session.declineReason ?? 'declined' }
    case 'expired':
      return { status: 'expired' }
    default:
      return { status: 'open' }
  }
}

const eventSchema = z.object({
  id: z.string().min(1),
  type: z.string().min(1),
  created: z.number().int(),
  data: z.object({
    object: z.object({
      id: z.string().min(1),
      merchant_reference: z.string().uuid(),
      amount_cents: z.number().int().positive(),
      status: z.enum(['succeeded', 'declined', 'expired']),
      payment_id: z.string().nullable(),
      decline_reason: z.string().nullable(),
    }),
  }),
})

const CHECKOUT_EVENTS = new Set(['checkout.session.completed', 'checkout.session.payment_failed', 'checkout.session.expired'])

export function createSandboxProvider(sandbox: SandboxPay, options: { webhookSecret: string; toleranceS: number }): PaymentProvider {
  async function state(sessionId: string): Promise<CheckoutSessionState> {
    const session = await sandbox.getSession(sessionId)
    if (!session) throw new Error(`the sandbox has no session ${sessionId}`)
    return { sessionId, paymentId: session.merchantReference, result: resultOf(session) }
  }

  return {
    name: 'sandbox',

    async createCheckoutSession(request) {
      const session = await sandbox.createSession({
        idempotencyKey: request.idempotencyKey,
        merchantReference: request.paymentId,
        customerReference: request.memberId,
        amountCents: request.amountCents,
        description: request.description,
        returnUrl: request.returnUrl,
        webhookUrl: request.webhookUrl,
        expiresAt: request.expiresAt,
      })
      return { sessionId: session.id, checkoutUrl: sandboxCheckoutUrl(session), expiresAt: session.expiresAt }
    },

    retrieveCheckoutSession: state,

    async expireCheckoutSession(sessionId) {
      const session = await sandbox.expireSession(sessionId)
      const result = resultOf(session)
      // expireSession leaves only final states; "open" here would be a bug in the sandbox.
      if (result.status === 'open') throw new Error(`sandbox session ${sessionId} is still open after expiring it`)
      return { sessionId, paymentId: session.merchantReference, result: result as FinalPaymentResult }
    },

    verifyWebhook(rawBody, headers, now): PaymentEvent | null {
      verifySignature({
        secret: options.webhookSecret,
        rawBody,
        header: headers.get(SANDBOX_SIGNATURE_HEADER),
        now,
        toleranceS: options.toleranceS,
      })
      let parsed: z.infer<typeof eventSchema>
      try {
        parsed = eventSchema.parse(JSON.parse(rawBody))
      } catch {
        throw new WebhookVerificationError('the event body is not a sandbox checkout event')
      }
      if (!CHECKOUT_EVENTS.has(parsed.type)) return null
      const object = parsed.data.object
      const result: FinalPaymentResult =
        object.status === 'succeeded'
          ? { status: 'succeeded', providerPaymentId: object.payment_id ?? '', amountCents: object.amount_cents }
          : object.status === 'declined'
            ? { status: 'declined', reason: object.decline_reason ?? 'declined' }
            : { status: 'expired' }
      if (result.status === 'succeeded' && !result.providerPaymentId) throw new WebhookVerificationError('a completed checkout without a payment id')
      return { eventId: parsed.id, sessionId: object.id, paymentId: object.merchant_reference, result }
    },
  }
}

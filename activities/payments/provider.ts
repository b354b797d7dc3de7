import type { FinalPaymentResult, PaymentResult } from '../../workflows/topup.js'

/**
 * The payment-provider interface: a hosted payment page (the member enters the card on the provider's page, never
 * on ours), confirmed to us by a signed webhook and by the member's return. Shaped after Stripe Checkout, so a real
 * provider's adapter implements the same five members over its HTTP API; the built-in sandbox
 * (activities/payments/sandbox/) implements them in-process and plays the provider's page and webhooks for real.
 */

export type { FinalPaymentResult, PaymentResult }

export interface CheckoutRequest {
  /** Our payment id: the provider keeps it as the merchant reference and echoes it in every event. */
  paymentId: string
  memberId: string
  amountCents: number
  description: string
  /** Creating the same checkout again with this key returns the first one (provider-side idempotency). */
  idempotencyKey: string
  /** The provider sends the member back here, adding `session_id=<its session id>`. */
  returnUrl: string
  /** Per-checkout notification address (providers that configure webhooks elsewhere ignore it). */
  webhookUrl: string
  expiresAt: Date
}

export interface CheckoutSession {
  sessionId: string
  /** The provider's hosted payment page for this checkout. */
  checkoutUrl: string
  expiresAt: Date
}

export interface CheckoutSessionState {
  sessionId: string
  paymentId: string
  result: PaymentResult
}

/** A webhook whose signature and freshness were verified. */
export interface PaymentEvent {
  eventId: string
  sessionId: string
  paymentId: string
  result: FinalPaymentResult
}

export interface PaymentProvider {
  /** Stored with each top-up; webhooks arrive at /webhooks/payments/<name>. */
  readonly name: string
  createCheckoutSession(request: CheckoutRequest): Promise<CheckoutSession>
  /** The session as the provider sees it now (the return handler never trusts the browser's query string). */
  retrieveCheckoutSession(sessionId: string): Promise<CheckoutSessionState>
  /** Ends an unpaid session; returns its final state, which is "succeeded" if it was paid first. */
  expireCheckoutSession(sessionId: string): Promise<CheckoutSessionState & { result: FinalPaymentResult }>
  /** Verifies a webhook over its exact raw body; throws WebhookVerificationError. Events that are not final results
   *  of a checkout return null (acknowledged, ignored). */
  verifyWebhook(rawBody: string, headers: Headers, now: Date): PaymentEvent | null
}

/** A webhook that is not signed by the provider, is too old or too new, or is malformed: answered 400. */
export class WebhookVerificationError extends Error {
  override name = 'WebhookVerificationError'
}

/** The provider reported an amount other than the top-up's: never credited automatically. */
export class PaymentAmountMismatchError extends Error {
  override name = 'PaymentAmountMismatchError'
}

/** A provider's session that does not belong to the payment it was presented for. */
export class PaymentSessionMismatchError extends Error {
  override name = 'PaymentSessionMismatchError'
}

import {
  allHandlersFinished,
  condition,
  defineQuery,
  defineSignal,
  defineUpdate,
  proxyActivities,
  setHandler,
} from '@temporalio/workflow'

/**
 * One top-up, from the checkout the member is sent to until the wallet is credited, the card is declined or the
 * checkout expires. The workflow id is derived from the payment id, so every confirmation of one payment (the
 * provider's webhook, the member's return from the payment page, a webhook delivered twice or late) reaches the
 * same workflow: the first one decides, later ones change nothing. The credit itself is a ledger transfer whose id
 * is derived from the payment id too, so even a confirmation that starts a second run after the first has finished
 * cannot credit twice.
 */

export const TOPUP_WORKFLOW_TYPE = 'topUpWorkflow'
export const topUpWorkflowId = (paymentId: string) => `topup:${paymentId}`
/** The ledger transfer that credits the wallet for a payment: its idempotency key. */
export const topUpTransferId = (paymentId: string) => `topup:${paymentId}`

/** What the member asked for; absent when a confirmation (signal-with-start) starts the workflow. */
export interface TopUpRequest {
  memberId: string
  amountCents: number
  /** The member's form submission: the same form submitted twice opens one top-up. */
  idempotencyKey: string
  /** Where the payment page sends the member back (the provider adds its session id). */
  returnUrl: string
  /** Where the provider posts its signed confirmation, for providers that take it per checkout. */
  webhookUrl: string
}

export interface TopUpInput {
  paymentId: string
  request?: TopUpRequest
}

/** A payment's outcome as the provider tells it (verified: a signed webhook or the provider's own API). */
export type FinalPaymentResult =
  | { status: 'succeeded'; providerPaymentId: string; amountCents: number }
  | { status: 'declined'; reason: string }
  | { status: 'expired' }

export type PaymentResult = FinalPaymentResult | { status: 'open' }

export type ConfirmationSource = 'webhook' | 'return' | 'expiry'

export interface PaymentConfirmation {
  source: ConfirmationSource
  result: FinalPaymentResult
}

export type TopUpRefusal = 'spending_cap' | 'amount_out_of_range' | 'member_not_found' | 'not_found'

export type TopUpOpening =
  | { status: 'open'; paymentId: string; amountCents: number; checkoutUrl: string; expiresAtMs: number }
  | { status: 'refused'; paymentId: string; reason: TopUpRefusal; detail?: CapDetail }
  /** The top-up had already finished (a repeated form, or a late confirmation starting a new run). */
  | { status: 'finished'; paymentId: string; amountCents: number; topUpStatus: TopUpFinalStatus }

/** Which cap refused, for the message the web shows. */
export interface CapDetail {
  cap: 'daily' | 'monthly'
  limitCents: number
  usedCents: number
}

export type TopUpFinalStatus = 'succeeded' | 'declined' | 'expired'
export type TopUpStatus = 'open' | TopUpFinalStatus

export interface TopUpCompletion {
  paymentId: string
  status: TopUpFinalStatus
  /** True when this completion credited the wallet (false when the credit had been made before). */
  credited: boolean
  confirmedBy: ConfirmationSource | null
}

export interface TopUpState {
  paymentId: string
  phase: 'opening' | 'awaiting_payment' | 'completing' | 'completed' | 'refused'
  confirmedBy: ConfirmationSource | null
  completion: TopUpCompletion | null
}

/**
 * The status a top-up moves to when a verified result arrives. The money rule: a payment the provider took is
 * always credited (once), even when it is reported after the top-up was marked expired; nothing else ever
 * changes a finished top-up.
 */
export function nextTopUpStatus(current: TopUpStatus, result: FinalPaymentResult): TopUpStatus {
  if (result.status === 'succeeded') return 'succeeded'
  return current === 'open' ? result.status : current
}

/** Resolves once the checkout exists (or was refused): the web redirects the member to it. */
export const awaitCheckout = defineUpdate<TopUpOpening>('awaitCheckout')
/** The provider's verified outcome, from the webhook or from the member's return. The first one wins. */
export const paymentConfirmed = defineSignal<[PaymentConfirmation]>('paymentConfirmed')
export const topUpState = defineQuery<TopUpState>('topUpState')

/** The side effects of a top-up, implemented in activities/topups.ts; each is idempotent. */
export interface TopUpActivities {
  /** Records the top-up (checking the amount and the deposit caps) and opens the provider's checkout. */
  openTopUp(input: TopUpInput): Promise<TopUpOpening>
  /** Ends an unpaid checkout at the provider and returns the provider's final word (it may have been paid). */
  expireCheckout(input: { paymentId: string }): Promise<FinalPaymentResult>
  /** Applies the result: credits the wallet exactly once, or marks the top-up declined or expired. */
  completeTopUp(input: { paymentId: string; confirmation: PaymentConfirmation }): Promise<TopUpCompletion>
}

const activities = proxyActivities<TopUpActivities>({
  startToCloseTimeout: '30 seconds',
  // Money received must be credited: keep retrying transient failures (a database restart, the provider's API
  // briefly down) with backoff. Conflicts are programming or provider errors that need a person.
  retry: {
    initialInterval: '500 ms',
    backoffCoefficient: 2,
    maximumInterval: '30 seconds',
    nonRetryableErrorTypes: ['TopUpConflictError', 'PaymentAmountMismatchError'],
  },
})

export async function topUpWorkflow(input: TopUpInput): Promise<TopUpOpening | TopUpCompletion> {
  const { paymentId } = input
  // Set as the top-up advances; the handlers below read it.
  const state: { opening?: TopUpOpening; confirmation?: PaymentConfirmation; completion?: TopUpCompletion } = {}

  setHandler(awaitCheckout, async () => {
    await condition(() => state.opening !== undefined)
    return state.opening!
  })
  setHandler(paymentConfirmed, (confirmed) => {
    // The first confirmation wins; a repeat (the webhook after the return, a redelivery) changes nothing.
    state.confirmation ??= confirmed
  })
  setHandler(
    topUpState,
    (): TopUpState => ({
      paymentId,
      phase: state.completion
        ? 'completed'
        : state.opening?.status === 'refused'
          ? 'refused'
          : state.opening === undefined
            ? 'opening'
            : state.confirmation
              ? 'completing'
              : 'awaiting_payment',
      confirmedBy: state.confirmation?.source ?? null,
      completion: state.completion ?? null,
    }),
  )

  const opening = (state.opening = await activities.openTopUp(input))
  if (opening.status === 'refused' || (opening.status === 'finished' && state.confirmation === undefined)) {
    await condition(allHandlersFinished)
    return opening
  }
  if (opening.status === 'open') {
    const confirmed = await condition(() => state.confirmation !== undefined, Math.max(0, opening.expiresAtMs - Date.now()))
    if (!confirmed) {
      // Nobody confirmed in time: ask the provider to end the checkout. Its answer is final, and says "paid" when
      // the member paid at the last moment and the confirmation is still on its way.
      const result = await activities.expireCheckout({ paymentId })
      state.confirmation ??= { source: 'expiry', result }
    }
  }
  const completion = (state.completion = await activities.completeTopUp({ paymentId, confirmation: state.confirmation! }))
  await condition(allHandlersFinished)
  return completion
}

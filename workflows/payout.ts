import { condition, defineQuery, defineUpdate, proxyActivities, setHandler } from '@temporalio/workflow'

/**
 * A payout of earnings: requested → approved → paid, or requested → rejected. The request reserves the money at once
 * (a pending transfer from the earnings account to payout clearing, whose id is the payout's), so the same money
 * cannot be asked for twice; paying posts that transfer, rejecting voids it. The provider is called with the payout's
 * id as its idempotency key, and every step is an idempotent activity, so a worker restart or a retried activity
 * never pays twice.
 */

export const PAYOUT_WORKFLOW_TYPE = 'payoutWorkflow'
export const payoutWorkflowId = (payoutId: string) => `payout-${payoutId}`

export type PayeeKind = 'operator' | 'company'

export interface PayoutInput {
  payoutId: string
  payee: { kind: PayeeKind; id: string }
  /** The user who asked (the operator, or the company's owner). */
  requestedBy: string
  amountCents: number
}

export type PayoutRefusal = 'below_minimum' | 'insufficient_available' | 'payee_not_found'

export type PayoutRequestOutcome =
  | { status: 'requested'; payoutId: string; amountCents: number }
  | { status: 'refused'; payoutId: string; reason: PayoutRefusal; minimumCents?: number; availableCents?: number }

export type PayoutDecision = { approve: true; adminId: string } | { approve: false; adminId: string; reason: string }

export type PayoutPhase = 'requesting' | 'requested' | 'refused' | 'approved' | 'paid' | 'rejected'

export interface PayoutState {
  payoutId: string
  phase: PayoutPhase
  providerReference: string | null
}

/** Resolves once the request was recorded (and the money reserved) or refused: the requester's answer. */
export const awaitPayoutRequest = defineUpdate<PayoutRequestOutcome>('awaitPayoutRequest')
/** An admin's decision. Only a payout waiting for one accepts it; it resolves with the state after the decision. */
export const decidePayout = defineUpdate<PayoutState, [PayoutDecision]>('decidePayout')
export const payoutState = defineQuery<PayoutState>('payoutState')

export interface PayoutActivities {
  /** Records the payout and reserves its amount, or refuses (below the minimum, more than is available). */
  requestPayout(input: PayoutInput): Promise<PayoutRequestOutcome>
  recordPayoutApproval(input: { payoutId: string; adminId: string }): Promise<void>
  /** Sends the money through the payout provider, idempotently by payout id; returns the provider's reference. */
  sendPayout(input: { payoutId: string }): Promise<{ provider: string; reference: string }>
  /** Posts the reserved transfer: the money has left the platform. */
  completePayout(input: { payoutId: string; provider: string; reference: string }): Promise<void>
  /** Voids the reserved transfer: the money is back in earnings. */
  rejectPayout(input: { payoutId: string; adminId: string; reason: string }): Promise<void>
}

const { requestPayout, recordPayoutApproval, completePayout, rejectPayout } = proxyActivities<PayoutActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds' },
})

// The provider may be slow or down for a while: keep trying, with the idempotency key making every try the same one.
const { sendPayout } = proxyActivities<PayoutActivities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '5 seconds', maximumInterval: '10 minutes', backoffCoefficient: 2 },
})

export async function payoutWorkflow(input: PayoutInput): Promise<PayoutState> {
  const state: PayoutState = { payoutId: input.payoutId, phase: 'requesting', providerReference: null }
  let outcome: PayoutRequestOutcome | undefined = undefined
  let decision: PayoutDecision | undefined

  setHandler(payoutState, () => state)
  setHandler(awaitPayoutRequest, async () => {
    await condition(() => outcome !== undefined)
    return outcome!
  })
  setHandler(
    decidePayout,
    async (d) => {
      decision = d
      await condition(() => state.phase !== 'requested')
      return state
    },
    {
      validator: (d) => {
        if (state.phase !== 'requested' || decision) throw new Error(`this payout is ${state.phase}, not waiting for a decision`)
        if (!d.approve && !d.reason.trim()) throw new Error('a rejection needs a reason')
      },
    },
  )

  outcome = await requestPayout(input)
  if (outcome.status === 'refused') {
    state.phase = 'refused'
    return state
  }
  state.phase = 'requested'

  await condition(() => decision !== undefined)
  const made = decision!
  if (!made.approve) {
    await rejectPayout({ payoutId: input.payoutId, adminId: made.adminId, reason: made.reason })
    state.phase = 'rejected'
    return state
  }
  await recordPayoutApproval({ payoutId: input.payoutId, adminId: made.adminId })
  state.phase = 'approved'
  const sent = await sendPayout({ payoutId: input.payoutId })
  await completePayout({ payoutId: input.payoutId, ...sent })
  state.providerReference = sent.reference
  state.phase = 'paid'
  return state
}

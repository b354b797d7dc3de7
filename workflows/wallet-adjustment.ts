import { proxyActivities } from '@temporalio/workflow'

/**
 * An admin's manual credit to a member's wallet, from the admin portal. The web never moves money itself: it starts
 * this workflow (its id is the adjustment's idempotency key, so a resubmitted form credits once) and waits for it.
 */

export const walletAdjustmentWorkflowId = (idempotencyKey: string) => `wallet-adjustment-${idempotencyKey}`

export interface WalletAdjustmentInput {
  memberId: string
  amountCents: number
  reason: string
  idempotencyKey: string
  adminId: string
  /** The admin's client address, kept in the audit entry. */
  clientAddress: string | null
}

export interface WalletAdjustmentOutcome {
  transferId: string
  created: boolean
  availableCents: number
}

export interface WalletAdjustmentActivities {
  adjustWalletForAdmin(input: WalletAdjustmentInput): Promise<WalletAdjustmentOutcome>
}

const { adjustWalletForAdmin } = proxyActivities<WalletAdjustmentActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { maximumAttempts: 5, nonRetryableErrorTypes: ['RangeError'] },
})

export async function walletAdjustmentWorkflow(input: WalletAdjustmentInput): Promise<WalletAdjustmentOutcome> {
  return adjustWalletForAdmin(input)
}

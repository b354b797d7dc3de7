import { WithStartWorkflowOperation, type Client } from '@temporalio/client'
import {
  awaitPayoutRequest,
  decidePayout,
  payoutWorkflowId,
  type PayoutDecision,
  type PayoutInput,
  type PayoutRequestOutcome,
  type PayoutState,
  type payoutWorkflow,
} from '../workflows/payout.js'
import {
  walletAdjustmentWorkflowId,
  type WalletAdjustmentInput,
  type WalletAdjustmentOutcome,
  type walletAdjustmentWorkflow,
} from '../workflows/wallet-adjustment.js'

/** How the back office drives payouts and wallet adjustments: the web starts and updates workflows, never the ledger. */

/**
 * Starts the payout's workflow (or joins the one already running for this payout id, so a form sent twice asks once)
 * and waits until the request was recorded with its money reserved, or refused.
 */
export async function requestPayoutWorkflow(client: Client, taskQueue: string, input: PayoutInput, deadlineMs = 20_000): Promise<PayoutRequestOutcome> {
  const startWorkflowOperation = new WithStartWorkflowOperation<typeof payoutWorkflow>('payoutWorkflow', {
    workflowId: payoutWorkflowId(input.payoutId),
    taskQueue,
    args: [input],
    workflowIdConflictPolicy: 'USE_EXISTING',
  })
  return client.withDeadline(Date.now() + deadlineMs, () => client.workflow.executeUpdateWithStart(awaitPayoutRequest, { startWorkflowOperation }))
}

/** An admin's decision on a payout; resolves with the payout's state once the decision was recorded. */
export async function decidePayoutWorkflow(client: Client, payoutId: string, decision: PayoutDecision): Promise<PayoutState> {
  return client.workflow.getHandle<typeof payoutWorkflow>(payoutWorkflowId(payoutId)).executeUpdate(decidePayout, { args: [decision] })
}

/** Runs an admin's wallet adjustment as a workflow and waits for it. The same idempotency key credits once. */
export async function runWalletAdjustment(client: Client, taskQueue: string, input: WalletAdjustmentInput): Promise<WalletAdjustmentOutcome> {
  return client.workflow.execute<typeof walletAdjustmentWorkflow>('walletAdjustmentWorkflow', {
    workflowId: walletAdjustmentWorkflowId(input.idempotencyKey),
    taskQueue,
    args: [input],
    workflowIdConflictPolicy: 'USE_EXISTING',
    workflowExecutionTimeout: '2 minutes',
  })
}

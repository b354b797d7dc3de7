// The workflow bundle's entry point: every workflow the worker runs.
export { callWorkflow } from './call.js'
export { scheduledCallWorkflow } from './scheduled-call.js'
export { topUpWorkflow } from './topup.js'
export { payoutWorkflow } from './payout.js'
export { walletAdjustmentWorkflow } from './wallet-adjustment.js'

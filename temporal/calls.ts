import {
  ServiceError,
  WithStartWorkflowOperation,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  WorkflowUpdateStage,
  type Client,
} from '@temporalio/client'
import type { PlatformSettings } from '../activities/settings.js'
import type { BillingSettings } from '../workflows/billing.js'
import {
  awaitCallStart,
  callConnected,
  callWorkflowId,
  endCall,
  forceEnd,
  searchAttributeNames,
  type CallInput,
  type EndReason,
  type Settlement,
  type StartOutcome,
} from '../workflows/definitions.js'
import type { callWorkflow } from '../workflows/call.js'

/** How the web and the tools drive a call's workflow: start it, end it, force it to end. */

/** The billing settings a call starting now is frozen with: the platform settings in force (activities/settings.ts). */
export function billingSettingsFrom(settings: PlatformSettings, companyShareBps: number | null): BillingSettings {
  return {
    periodMs: settings.billingPeriodMs,
    graceMs: settings.graceMs,
    lowBalancePeriods: settings.lowBalancePeriods,
    heartbeatTimeoutMs: settings.heartbeatTimeoutMs,
    commissionBps: settings.commissionBps,
    companyShareBps: companyShareBps ?? 0,
  }
}

/** The call did not open within the deadline (no worker polling, say); the same start may be sent again. */
export class CallStartTimeoutError extends Error {
  override name = 'CallStartTimeoutError'
}

/**
 * Starts the call's workflow (or joins the one already running for this callId) and waits until it has opened
 * the call or refused it, in one round trip (update-with-start). The first period is held by the workflow's
 * own activity, so every movement of money happens inside the workflow.
 */
export async function startCallWorkflow(client: Client, taskQueue: string, input: CallInput, deadlineMs = 15_000): Promise<StartOutcome> {
  const startWorkflowOperation = new WithStartWorkflowOperation<typeof callWorkflow>('callWorkflow', {
    workflowId: callWorkflowId(input.callId),
    taskQueue,
    args: [input],
    workflowIdConflictPolicy: 'USE_EXISTING',
    searchAttributes: {
      [searchAttributeNames.memberId]: [input.memberId],
      [searchAttributeNames.operatorId]: [input.operatorId],
      [searchAttributeNames.callStatus]: ['active'],
    },
  })
  try {
    return await client.withDeadline(Date.now() + deadlineMs, () =>
      client.workflow.executeUpdateWithStart(awaitCallStart, { startWorkflowOperation }),
    )
  } catch (error) {
    // gRPC DEADLINE_EXCEEDED (4): the workflow may still open the call; a retry with the same callId joins it.
    const code = (error as { code?: unknown; cause?: { code?: unknown } })?.code ?? (error as { cause?: { code?: unknown } })?.cause?.code
    if (code === 4 || /deadline/i.test(String((error as Error)?.message))) {
      throw new CallStartTimeoutError(`call ${input.callId} did not open within ${deadlineMs} ms`)
    }
    throw error
  }
}

function workflowIsClosed(error: unknown): boolean {
  return error instanceof WorkflowNotFoundError || /completed|not found|closed|closing/i.test(String((error as Error)?.message ?? error))
}

export type EndCallResult = { status: 'settled'; settlement: Settlement } | { status: 'ending' } | { status: 'closed' }

/**
 * Asks the call to end and waits up to `waitMs` for its settlement. 'closed' means the workflow had already
 * finished (the call was settled before): the caller reads the settlement from the database.
 */
export async function endCallWorkflow(
  client: Client,
  callId: string,
  reason: EndReason,
  requestedAtMs: number,
  waitMs: number,
): Promise<EndCallResult> {
  const handle = client.workflow.getHandle(callWorkflowId(callId))
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<EndCallResult>((resolve) => {
    timer = setTimeout(() => resolve({ status: 'ending' }), waitMs)
  })
  const update = handle
    .executeUpdate(endCall, { args: [{ reason, requestedAtMs }] })
    .then((settlement): EndCallResult => ({ status: 'settled', settlement }))
    .catch((error: unknown): EndCallResult => {
      if (error instanceof WorkflowUpdateFailedError) throw error
      if (workflowIsClosed(error)) return { status: 'closed' }
      // The update's RPC failed on the way (its workflow task failed or timed out under load): the end request is
      // recorded in the call's row, so asking again delivers it. Not settled yet: "ending". An unreachable server is
      // another answer (503), left to the caller.
      const unreachable = (error as { cause?: { code?: unknown } }).cause?.code === 14 || /UNAVAILABLE|Failed to connect/i.test(String(error))
      if (error instanceof ServiceError && !unreachable) return { status: 'ending' }
      throw error
    })
  try {
    return await Promise.race([update, timeout])
  } finally {
    clearTimeout(timer)
    // The update goes on after a timeout; its outcome is read from the database later.
    update.catch(() => undefined)
  }
}

/** How long a connection's news may wait for the call's workflow to accept it before the caller is told to retry. */
const CONNECT_ACCEPT_DEADLINE_MS = 5_000

/**
 * Both parties of an accepted call are connected, at `atMs` as the platform saw it (LiveKit's webhooks, or the member's
 * own confirmation for a call on an outside app): the call starts then. With `wait`, resolves with what the start
 * decided (active, refused, or ended before it); otherwise once the workflow has accepted the news. Safe to repeat:
 * the first connection counts.
 */
export async function connectCallWorkflow(client: Client, callId: string, atMs: number, options: { wait: boolean }): Promise<StartOutcome | null> {
  const handle = client.workflow.getHandle<typeof callWorkflow>(callWorkflowId(callId))
  try {
    if (options.wait) return await handle.executeUpdate(callConnected, { args: [{ atMs }] })
    // Accepted needs a worker: without one, give up after a while (the caller retries; the first connection counts).
    await client.withDeadline(Date.now() + CONNECT_ACCEPT_DEADLINE_MS, () =>
      handle.startUpdate(callConnected, { args: [{ atMs }], waitForStage: WorkflowUpdateStage.ACCEPTED }),
    )
    return null
  } catch (error) {
    if (workflowIsClosed(error)) return null
    throw error
  }
}

/** Ends a call from the platform's side (an operator disabled mid-call, a party seen leaving at atMs). Safe to repeat. */
export async function forceEndCallWorkflow(client: Client, callId: string, reason: EndReason, atMs = Date.now()): Promise<void> {
  try {
    await client.workflow.getHandle(callWorkflowId(callId)).signal(forceEnd, { reason, requestedAtMs: atMs })
  } catch (error) {
    if (!workflowIsClosed(error)) throw error
  }
}

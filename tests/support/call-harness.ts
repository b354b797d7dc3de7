import { randomUUID } from 'node:crypto'
import { bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker'
import type { Client } from '@temporalio/client'
import { parseConfig, type PlatformConfig } from '../../config/env.js'
import type { Db } from '../../prisma/client.js'
import { getTemporalClient } from '../../temporal/client.js'
import { defaultSettings } from '../../activities/settings.js'
import { billingSettingsFrom, connectCallWorkflow, startCallWorkflow } from '../../temporal/calls.js'
import { createCallWorker, workflowsPath } from '../../temporal/worker.js'
import type { CallChannel, CallConsent, CallInput, CallMode, StartOutcome } from '../../workflows/definitions.js'
import { recordCallRequests } from '../../activities/call-requests.js'

/** A call worker on its own task queue, with billing settings shortened for tests (the rules stay the same). */

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleWorkflowCode({ workflowsPath, logger: { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} } as never })
  return bundle
}

export interface CallHarness {
  config: PlatformConfig
  client: Client
  taskQueue: string
  stop(): Promise<void>
}

export function testConfig(overrides: Record<string, string> = {}): PlatformConfig {
  return parseConfig({
    ...process.env,
    NODE_ENV: 'test',
    BILLING_PERIOD_MS: '1000',
    GRACE_MS: '300',
    LOW_BALANCE_PERIODS: '2',
    HEARTBEAT_TIMEOUT_MS: '60000',
    HEARTBEAT_SCAN_MS: '200',
    TEMPORAL_TASK_QUEUE: `test-calls-${randomUUID()}`,
    ...overrides,
  })
}

export async function startCallHarness(db: Db, config: PlatformConfig, options: { worker?: boolean } = {}): Promise<CallHarness> {
  const client = await getTemporalClient({ address: config.TEMPORAL_ADDRESS, namespace: config.TEMPORAL_NAMESPACE })
  let stopWorker = async () => {}
  if (options.worker !== false) {
    const { worker, run } = await createCallWorker({ config, db, workflowBundle: await workflowBundle() })
    const running = run()
    stopWorker = async () => {
      worker.shutdown()
      await running
    }
  }
  return { config, client, taskQueue: config.TEMPORAL_TASK_QUEUE, stop: stopWorker }
}

/**
 * A call's input as the API builds it, answering a request the member made at these terms (recorded here the way the
 * website records one, activities/call-requests.ts), unless `consent` names another (a booking, or none at all).
 */
export async function callInput(
  db: Db,
  config: PlatformConfig,
  parties: { memberId: string; operatorId: string; ratePerMinuteCents: number; companyId?: string | null; companyShareBps?: number },
  options: { mode?: CallMode; prepaidMinutes?: number; periodsPerRun?: number; callId?: string; consent?: CallConsent; channel?: CallChannel } = {},
): Promise<CallInput> {
  // On an outside app unless told: started by the member's confirmation (startCall below confirms at once).
  const channel = options.channel ?? 'outside'
  const callId = options.callId ?? randomUUID()
  const mode = options.mode ?? 'per_minute'
  const prepaidMinutes = options.prepaidMinutes ?? null
  return {
    callId,
    memberId: parties.memberId,
    operatorId: parties.operatorId,
    companyId: parties.companyId ?? null,
    mode,
    prepaidMinutes,
    ratePerMinuteCents: parties.ratePerMinuteCents,
    settings: billingSettingsFrom(defaultSettings(config), parties.companyId ? (parties.companyShareBps ?? 0) : null),
    requestHash: `test:${callId}`,
    consent: options.consent ?? (await memberAsks(db, { ...parties, mode, prepaidMinutes, channel })),
    channel,
    connectTimeoutMs: config.CALL_CONNECT_TIMEOUT_MS,
    ...(options.periodsPerRun ? { periodsPerRun: options.periodsPerRun } : {}),
  }
}

/** The member asks the operator for a call at these terms: the consent a call may answer. */
export async function memberAsks(
  db: Db,
  request: { memberId: string; operatorId: string; ratePerMinuteCents: number; mode?: CallMode; prepaidMinutes?: number | null; channel?: CallChannel },
): Promise<CallConsent> {
  const [recorded] = await recordCallRequests(db, [
    {
      memberId: request.memberId,
      operatorId: request.operatorId,
      mode: request.mode ?? 'per_minute',
      prepaidMinutes: request.prepaidMinutes ?? null,
      ratePerMinuteCents: request.ratePerMinuteCents,
      channel: request.channel ?? 'outside',
    },
  ])
  return { requestId: recorded!.id, scheduledCallId: null, answeredAtMs: Date.now() }
}

/**
 * Starts the call as the API does (accepted: connecting), then, unless told not to, connects it at once as its member's
 * confirmation would (docs/decisions/060): the outcome is then the start's (active, or refused).
 */
export function startCall(harness: CallHarness, input: CallInput, options: { connect?: boolean } = {}): Promise<StartOutcome> {
  return startAndConnect(harness.client, harness.taskQueue, input, options)
}

/** startCall for a client and task queue of one's own (a web stack's worker). */
export async function startAndConnect(client: Client, taskQueue: string, input: CallInput, options: { connect?: boolean } = {}): Promise<StartOutcome> {
  const accepted = await startCallWorkflow(client, taskQueue, input)
  if (accepted.status !== 'connecting' || options.connect === false) return accepted
  return (await connectCallWorkflow(client, input.callId, Date.now(), { wait: true }))!
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Polls until `probe` returns a value that is not undefined, or fails after `timeoutMs`. */
export async function waitFor<T>(probe: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(50)
  }
}

export async function eventsOf(db: Db, callId: string) {
  return db.outboxEvent.findMany({ where: { callId }, orderBy: { id: 'asc' } })
}

export async function settledCall(db: Db, callId: string, timeoutMs = 15_000) {
  return waitFor(
    async () => (await db.call.findFirst({ where: { id: callId, status: 'settled' } })) ?? undefined,
    timeoutMs,
    `call ${callId} to settle`,
  )
}

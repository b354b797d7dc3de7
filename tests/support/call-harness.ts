import { randomUUID } from 'node:crypto'
import { bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker'
import type { Client } from '@temporalio/client'
import { parseConfig, type PlatformConfig } from '../../config/env.js'
import type { Db } from '../../prisma/client.js'
import { getTemporalClient } from '../../temporal/client.js'
import { defaultSettings } from '../../activities/settings.js'
import { billingSettingsFrom, startCallWorkflow } from '../../temporal/calls.js'
import { createCallWorker, workflowsPath } from '../../temporal/worker.js'
import type { CallInput, CallMode, StartOutcome } from '../../workflows/definitions.js'

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

export function callInput(
  config: PlatformConfig,
  parties: { memberId: string; operatorId: string; ratePerMinuteCents: number; companyId?: string | null; companyShareBps?: number },
  options: { mode?: CallMode; prepaidMinutes?: number; periodsPerRun?: number; callId?: string } = {},
): CallInput {
  const callId = options.callId ?? randomUUID()
  return {
    callId,
    memberId: parties.memberId,
    operatorId: parties.operatorId,
    companyId: parties.companyId ?? null,
    mode: options.mode ?? 'per_minute',
    prepaidMinutes: options.prepaidMinutes ?? null,
    ratePerMinuteCents: parties.ratePerMinuteCents,
    settings: billingSettingsFrom(defaultSettings(config), parties.companyId ? (parties.companyShareBps ?? 0) : null),
    requestHash: `test:${callId}`,
    ...(options.periodsPerRun ? { periodsPerRun: options.periodsPerRun } : {}),
  }
}

export function startCall(harness: CallHarness, input: CallInput): Promise<StartOutcome> {
  return startCallWorkflow(harness.client, harness.taskQueue, input)
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

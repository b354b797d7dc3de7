import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { accountIds } from '../../activities/ledger/accounts.js'
import { checkLedger } from '../../activities/ledger/check.js'
import { accountBalance } from '../../activities/ledger/balances.js'
import type { Db } from '../../prisma/client.js'
import { endCallWorkflow } from '../../temporal/calls.js'
import { callInput, eventsOf, settledCall, sleep, startCall, startCallHarness, testConfig, waitFor, type CallHarness } from '../support/call-harness.js'
import { connectTestDb, createMember, createOperator } from '../support/db.js'

const PERIOD = 1000
let db: Db
const children: ChildProcess[] = []

function startWorkerProcess(env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'tests/support/worker-process.ts'], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  children.push(child)
  return new Promise((resolve, reject) => {
    let output = ''
    const onData = (chunk: Buffer) => {
      output += chunk.toString()
      if (output.includes('worker-ready')) resolve(child)
    }
    child.stdout!.on('data', onData)
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.once('exit', (code) => reject(new Error(`worker exited (${code}) before it was ready:\n${output.slice(-2000)}`)))
  })
}

const exited = (child: ChildProcess) =>
  new Promise<NodeJS.Signals | null>((resolve) => (child.exitCode !== null || child.signalCode ? resolve(child.signalCode) : child.once('exit', (_c, signal) => resolve(signal))))

beforeAll(() => {
  db = connectTestDb()
})
afterAll(async () => {
  for (const child of children) child.kill('SIGKILL')
  await db?.$disconnect()
})

describe('a worker killed mid-call', () => {
  it('is replaced, and the call goes on: no period charged twice, settled once', async () => {
    const config = testConfig()
    const env = {
      TEMPORAL_TASK_QUEUE: config.TEMPORAL_TASK_QUEUE,
      BILLING_PERIOD_MS: String(config.BILLING_PERIOD_MS),
      GRACE_MS: String(config.GRACE_MS),
      HEARTBEAT_TIMEOUT_MS: '60000',
      CRASH_AFTER_HOLD: '3',
      CRASH_MARKER: join(mkdtempSync(join(tmpdir(), 'crash-')), 'crashed'),
    }
    const client: CallHarness = await startCallHarness(db, config, { worker: false })
    const member = await createMember(db, { fundedCents: 10_000 })
    const operator = await createOperator(db, { ratePerMinuteCents: 100 })
    const input = await callInput(db, config, { memberId: member.id, operatorId: operator.id, ratePerMinuteCents: 100 })

    const first = await startWorkerProcess(env)
    expect(await startCall(client, input)).toMatchObject({ status: 'active' })
    // The worker dies right after committing period 3's hold, before telling Temporal.
    expect(await exited(first)).toBe('SIGKILL')
    expect(existsSync(env.CRASH_MARKER)).toBe(true)
    expect((await db.call.findUniqueOrThrow({ where: { id: input.callId } })).heldPeriods).toBe(3)

    // The call keeps going while no worker runs; a new worker picks it up and replays the hold harmlessly.
    await sleep(1.2 * PERIOD)
    await startWorkerProcess(env)
    await waitFor(async () => ((await db.call.findUniqueOrThrow({ where: { id: input.callId } })).heldPeriods >= 5 ? true : undefined), 20_000, 'holds to resume')
    const requestedAt = Date.now()
    const result = await endCallWorkflow(client.client, input.callId, 'member_hangup', requestedAt, 15_000)
    expect(result.status).toBe('settled')

    const call = await settledCall(db, input.callId)
    const expectedPeriods = Math.ceil((call.endedAt!.getTime() - call.startedAt.getTime()) / PERIOD)
    expect(call.billedMinutes).toBe(expectedPeriods)
    const holds = await db.transfer.findMany({ where: { callId: input.callId, code: 'call_hold' } })
    expect(new Set(holds.map((h) => h.id)).size).toBe(holds.length)
    expect(holds.filter((h) => h.status === 'posted')).toHaveLength(call.billedMinutes!)
    expect((await eventsOf(db, input.callId)).filter((e) => e.type === 'call.settled')).toHaveLength(1)
    expect((await accountBalance(db, accountIds.memberWallet(member.id)))!.availableCents).toBe(10_000 - call.billedMinutes! * 100)
    expect((await checkLedger(db)).violations).toEqual([])
    // Two worker processes each bundle the workflow code: over a minute on a loaded machine.
  }, 240_000)
})

import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { accountIds } from '../../activities/ledger/accounts.js'
import { accountBalance } from '../../activities/ledger/balances.js'
import { checkLedger } from '../../activities/ledger/check.js'
import type { Db } from '../../prisma/client.js'
import { endCallWorkflow } from '../../temporal/calls.js'
import { startTemporalCluster, type ClusterMember, type TemporalCluster } from '../../temporal/setup/cluster/cluster.js'
import { freePort } from '../../temporal/setup/dev-server.js'
import { startTemporalUi, type TemporalUi } from '../../temporal/setup/cluster/ui.js'
import { clusterDatabases, dropClusterDatabases, storeUrl, type ClusterDatabases } from '../../temporal/setup/cluster/databases.js'
import { isAlive } from '../../temporal/setup/processes.js'
import { ensureTemporalServerTools } from '../../temporal/setup/temporal-server.js'
import { callWorkflowId } from '../../workflows/definitions.js'
import { callInput, settledCall, startCall, startCallHarness, testConfig, waitFor, type CallHarness } from '../support/call-harness.js'
import { connectTestDb, createMember, createOperator } from '../support/db.js'

// The Temporal cluster on PostgreSQL (docs/decisions/072): Temporal's services as processes of their own, on databases
// of this file's own, carrying a real call; one history process SIGKILLed under it, and the call goes on once the
// surviving one has taken its shards over through Temporal's membership. The binaries are built on a fresh machine
// (about 6 minutes, once per machine); the rest takes about a minute.

const SHARDS = 4
const PERIOD = 1000
const BUILD_TIMEOUT_MS = 20 * 60_000

let db: Db
let databases: ClusterDatabases
let configDir: string
let cluster: TemporalCluster | undefined
let ui: TemporalUi | undefined
let harness: CallHarness | undefined
const output: string[] = []

beforeAll(async () => {
  // No skip when the build is impossible: ensureTemporalServerTools says what is missing, and the file fails with it.
  const tools = await ensureTemporalServerTools({ log: (line) => console.log(line) })
  db = connectTestDb()
  databases = clusterDatabases(process.env.DATABASE_URL!, `tc${randomBytes(2).toString('hex')}`)
  configDir = await mkdtemp(join(tmpdir(), 'perminute-test-cluster-'))
  cluster = await startTemporalCluster({
    serverPath: tools.server,
    sqlToolPath: tools.sqlTool,
    cliPath: inject('temporalCliPath'),
    databases,
    configDir,
    numHistoryShards: SHARDS,
    log: () => {},
    onOutput: (member, line) => output.push(`${member}: ${line}`),
  })
  ui = await startTemporalUi({
    uiServerPath: tools.uiServer,
    frontendAddress: cluster.address,
    namespace: cluster.namespace,
    host: '127.0.0.1',
    port: await freePort(),
    configDir,
  })
}, BUILD_TIMEOUT_MS)

afterAll(async () => {
  await harness?.stop()
  const members = cluster?.members() ?? []
  await ui?.stop()
  await cluster?.stop()
  if (databases) await dropClusterDatabases(databases)
  if (configDir) await rm(configDir, { recursive: true, force: true })
  await db?.$disconnect()
  // Nothing is left behind: no process, no database.
  for (const member of members) expect(isAlive(member.pid), `${member.name} (pid ${member.pid}) still runs`).toBe(false)
  if (ui) expect(isAlive(ui.pid)).toBe(false)
  if (databases) expect(await existingDatabases(databases)).toEqual([])
}, 60_000)

/** Which history process owns a shard now: its host:port is in the shard's record (ShardInfo.owner). */
async function shardOwner(shardId: number, members: readonly ClusterMember[]): Promise<string | undefined> {
  const { rows } = await persistence<{ data: Buffer }>('SELECT data FROM shards WHERE shard_id = $1', [shardId])
  const data = rows[0]?.data.toString('latin1') ?? ''
  return members.find((member) => data.includes(`${member.ip}:${member.grpcPort}`))?.name
}

async function persistence<T extends pg.QueryResultRow>(sql: string, params: unknown[]): Promise<pg.QueryResult<T>> {
  const client = new pg.Client({ connectionString: storeUrl(databases.persistence, databases.password) })
  await client.connect()
  try {
    return await client.query<T>(sql, params)
  } finally {
    await client.end()
  }
}

async function existingDatabases(set: ClusterDatabases): Promise<string[]> {
  const client = new pg.Client({ connectionString: process.env.DATABASE_URL })
  await client.connect()
  try {
    const names = [set.persistence.database, set.visibility.database]
    const { rows } = await client.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datname = ANY($1)', [names])
    return rows.map((row) => row.datname)
  } finally {
    await client.end()
  }
}

describe('the Temporal cluster on PostgreSQL', () => {
  it('runs each service as a process of its own, two history processes on two loopback addresses', () => {
    const members = cluster!.members()
    expect(members.map((m) => `${m.name}@${m.ip}`)).toEqual([
      'frontend@127.0.0.1',
      'matching@127.0.0.1',
      'history-1@127.0.0.1',
      'history-2@127.0.0.2',
      'worker@127.0.0.1',
    ])
    expect(new Set(members.map((m) => m.pid)).size).toBe(members.length)
    for (const member of members) expect(isAlive(member.pid)).toBe(true)
  })

  it("has Temporal's Web UI pointed at it, which sees the namespace and the platform's search attributes", async () => {
    const response = await fetch(`${ui!.url}/api/v1/namespaces/${cluster!.namespace}/search-attributes`)
    expect(response.status).toBe(200)
    const body = (await response.json()) as { customAttributes?: Record<string, unknown> }
    expect(Object.keys(body.customAttributes ?? {})).toEqual(expect.arrayContaining(['MemberId', 'OperatorId', 'CallStatus']))
  })

  it('carries a call while the history process that owns its shard is SIGKILLed: the shard moves, the call is billed once', async () => {
    const config = testConfig({ TEMPORAL_ADDRESS: cluster!.address, TEMPORAL_NAMESPACE: cluster!.namespace })
    harness = await startCallHarness(db, config)
    const member = await createMember(db, { fundedCents: 10_000 })
    const operator = await createOperator(db, { ratePerMinuteCents: 100 })
    const input = await callInput(db, config, { memberId: member.id, operatorId: operator.id, ratePerMinuteCents: 100 })
    expect(await startCall(harness, input)).toMatchObject({ status: 'active' })
    const heldPeriods = async () => (await db.call.findUniqueOrThrow({ where: { id: input.callId } })).heldPeriods
    await waitFor(async () => ((await heldPeriods()) >= 2 ? true : undefined), 20_000, 'the first holds')

    const histories = cluster!.members().filter((m) => m.service === 'history')
    const { rows } = await persistence<{ shard_id: number }>('SELECT shard_id FROM executions WHERE workflow_id = $1', [callWorkflowId(input.callId)])
    const shardId = rows[0]!.shard_id
    const owner = await shardOwner(shardId, histories)
    expect(owner, `shard ${shardId}'s owner is one of the history processes`).toBeDefined()
    const victim = cluster!.member(owner!)
    const survivor = histories.find((m) => m.name !== owner)!

    victim.kill('SIGKILL')
    expect((await victim.exited).signal).toBe('SIGKILL')
    const killedAt = Date.now()
    const heldAtKill = await heldPeriods()
    // The survivor takes the shard over (membership notices the loss within seconds), and the call's holds go on.
    await waitFor(async () => ((await heldPeriods()) > heldAtKill ? true : undefined), 60_000, 'holds to resume on the surviving history process')
    console.log(`temporal-cluster: the call's next hold came ${Date.now() - killedAt} ms after ${owner} was killed`)
    await waitFor(async () => ((await heldPeriods()) >= heldAtKill + 3 ? true : undefined), 30_000, 'holds to go on')
    expect(await shardOwner(shardId, histories)).toBe(survivor.name)
    expect(isAlive(survivor.pid)).toBe(true)

    const result = await endCallWorkflow(harness.client, input.callId, 'member_hangup', Date.now(), 30_000)
    expect(result.status).toBe('settled')
    const call = await settledCall(db, input.callId)
    expect(call.billedMinutes).toBe(Math.ceil((call.endedAt!.getTime() - call.startedAt.getTime()) / PERIOD))
    const holds = await db.transfer.findMany({ where: { callId: input.callId, code: 'call_hold' } })
    expect(holds.filter((h) => h.status === 'posted')).toHaveLength(call.billedMinutes!)
    expect((await accountBalance(db, accountIds.memberWallet(member.id)))!.availableCents).toBe(10_000 - call.billedMinutes! * 100)
    expect((await checkLedger(db)).violations).toEqual([])
  }, 150_000)
})

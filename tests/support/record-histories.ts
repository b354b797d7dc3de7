/**
 * Records call-workflow histories for the replay test (tests/workflows/replay.test.ts). Run it against a dev server
 * and a migrated database before changing the workflow in a way that could break runs in flight:
 *   DATABASE_URL=... TEMPORAL_ADDRESS=... npx tsx tests/support/record-histories.ts [label]
 * With a label (the change it records, say), the files are named <scenario>.<label>.json, beside the older ones:
 * keep those, they are the runs in flight the change must still replay.
 */
import { writeFileSync } from 'node:fs'
import { randomUUID } from 'node:crypto'
import { execFileSync } from 'node:child_process'
import { endCallWorkflow } from '../../temporal/calls.js'
import { callWorkflowId } from '../../workflows/definitions.js'
import { closeTemporalClients } from '../../temporal/client.js'
import { callInput, settledCall, sleep, startCall, startCallHarness, testConfig } from './call-harness.js'
import { connectTestDb, createMember, createOperator } from './db.js'

const label = process.argv[2] ? `.${process.argv[2].replace(/[^a-z0-9-]/gi, '-')}` : ''
const db = connectTestDb()
const config = testConfig()
const harness = await startCallHarness(db, config)
const scenarios: Array<{ name: string; run: () => Promise<string> }> = [
  {
    name: 'hangup-after-three-periods',
    run: async () => {
      const member = await createMember(db, { fundedCents: 10_000 })
      const operator = await createOperator(db, { ratePerMinuteCents: 100 })
      const input = await callInput(db, config, { memberId: member.id, operatorId: operator.id, ratePerMinuteCents: 100 }, { callId: randomUUID() })
      await startCall(harness, input)
      await sleep(2_500)
      await endCallWorkflow(harness.client, input.callId, 'operator_hangup', Date.now(), 10_000)
      return input.callId
    },
  },
  {
    name: 'funds-exhausted-with-low-balance',
    run: async () => {
      const member = await createMember(db, { fundedCents: 250 })
      const operator = await createOperator(db, { ratePerMinuteCents: 100 })
      const input = await callInput(db, config, { memberId: member.id, operatorId: operator.id, ratePerMinuteCents: 100 })
      await startCall(harness, input)
      await settledCall(db, input.callId)
      return input.callId
    },
  },
]
for (const scenario of scenarios) {
  const callId = await scenario.run()
  await sleep(500)
  // The CLI writes histories in the JSON form every Temporal SDK's replayer reads.
  const cli = process.env.TEMPORAL_CLI ?? 'temporal'
  const json = execFileSync(cli, ['workflow', 'show', '--address', config.TEMPORAL_ADDRESS, '--namespace', config.TEMPORAL_NAMESPACE,
    '--workflow-id', callWorkflowId(callId), '--output', 'json'])
  writeFileSync(new URL(`../workflows/histories/${scenario.name}${label}.json`, import.meta.url), json)
  console.log(`recorded ${scenario.name}`)
}
await harness.stop()
await closeTemporalClients()
await db.$disconnect()

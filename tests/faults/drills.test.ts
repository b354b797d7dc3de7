import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { DRILLS, runDrill, type DrillName } from '../../bench/faults/drills.js'
import { startDrillStack, type DrillStack } from '../../bench/faults/stack.js'
import { createScratchDatabase, type ScratchDatabase } from '../support/scratch-database.js'

/**
 * The fault drills of bench/faults, each briefly, on a stack of the file's own: its own Temporal dev server (persisted,
 * WAL, restartable), the worker and the web as processes of their own, a scratch database (its connections get
 * terminated; the other test files' database is never touched). Each drill injects one kind of fault on a seeded
 * schedule while calls run through the plugin API, then checks the ledger and every call's charge. A failure names
 * its seed; `npm run bench:faults -- --drill <name> --seed <n>` replays it, with longer schedules available there.
 */

const SEEDS: Record<DrillName, number> = {
  'worker-kill': Number(process.env.DRILL_SEED ?? 701),
  'temporal-restart': Number(process.env.DRILL_SEED ?? 702),
  'postgres-drop': Number(process.env.DRILL_SEED ?? 703),
  network: Number(process.env.DRILL_SEED ?? 704),
  'double-click': Number(process.env.DRILL_SEED ?? 705),
  'shared-wallet': Number(process.env.DRILL_SEED ?? 706),
}

let scratch: ScratchDatabase
let stack: DrillStack

beforeAll(async () => {
  scratch = await createScratchDatabase('drills', { migrated: true })
  stack = await startDrillStack({
    cliPath: inject('temporalCliPath'),
    databaseUrl: scratch.url,
    // 1-s periods; heartbeats every 500 ms, so a plugin is presumed gone only after a much longer silence than any
    // delay the network drill makes.
    billing: { periodMs: 1_000, graceMs: 200, heartbeatTimeoutMs: 8_000 },
    runTag: 'ci',
    log: () => undefined,
  })
})

afterAll(async () => {
  await stack?.stop()
  await scratch?.drop()
})

describe('fault drills', () => {
  it.each(DRILLS)('%s: every call settled once, charged as its own times say, the ledger balanced', async (drill) => {
    const lines: string[] = []
    const report = await runDrill(stack, drill, {
      seed: SEEDS[drill],
      calls: drill === 'shared-wallet' ? 6 : 4,
      periods: 3,
      faults: 2,
      log: (line) => lines.push(line),
    })
    expect(report.verdict.problems, `seed ${report.seed}:\n${lines.join('\n')}`).toEqual([])
    expect(report.verdict.calls.started).toBeGreaterThan(0)
    expect(report.verdict.ledger.ok).toBe(true)
  }, 600_000)
})

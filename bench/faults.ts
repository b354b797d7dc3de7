/**
 * npm run bench:faults -- [--drill all|worker-kill|temporal-restart|postgres-drop|network|double-click|shared-wallet]
 *                         [--seed N] [--calls N] [--periods K] [--faults F] [--period-ms P] [--rounds R] [--json PATH]
 *
 * The fault drills of bench/faults/drills.ts on a stack of their own (a persisted Temporal dev server in a temp dir, a
 * fresh database, the worker and the web as processes of their own), with schedules as long as asked: more calls,
 * more faults, more rounds (each round a new seed, printed, so any failure replays with --seed). tests/faults runs the
 * same drills briefly in CI. Exit 1 when any drill finds money wrong or a call lost.
 */
import { randomInt, randomUUID } from 'node:crypto'
import { mkdir, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { parseConfig } from '../config/env.js'
import { applyMigrations, dropDatabase, ensureDatabase } from '../prisma/migrate.js'
import { ensureTemporalCli } from '../temporal/setup/temporal-cli.js'
import { DRILLS, runDrill, type DrillName, type DrillReport } from './faults/drills.js'
import { startDrillStack } from './faults/stack.js'
import { machineFacts } from './support/machine.js'
import { benchProductionEnv } from './support/production-env.js'

const HELP = `Usage: npm run bench:faults -- [options]

Runs calls through the plugin API while injecting one kind of fault on a seeded schedule, then checks the ledger and
every call's charge against a recomputation from the call's own start, end and heartbeat times.

  --drill NAME     all (default), or one of: ${DRILLS.join(', ')}
  --seed N         the schedule's seed (default: a random one, printed); the same seed replays the same faults
  --rounds R       run each drill R times, seeds N, N+1, … (default 1)
  --calls N        calls at once (default 8)
  --periods K      periods each call lasts before faults stretch it (default 5)
  --faults F       faults injected per drill: kills, restarts, connection drops (default 4)
  --period-ms P    billing period (default 1000)
  --json PATH      where to write the reports (default bench/results/faults-<timestamp>.json)
  -h, --help       this text`

const log = (line: string) => process.stderr.write(`${line}\n`)
const repoRoot = fileURLToPath(new URL('../', import.meta.url))

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      drill: { type: 'string', default: 'all' },
      seed: { type: 'string' },
      rounds: { type: 'string', default: '1' },
      calls: { type: 'string', default: '8' },
      periods: { type: 'string', default: '5' },
      faults: { type: 'string', default: '4' },
      'period-ms': { type: 'string', default: '1000' },
      json: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  })
  if (values.help) {
    process.stdout.write(`${HELP}\n`)
    return 0
  }
  const drills: DrillName[] = values.drill === 'all' ? [...DRILLS] : [values.drill as DrillName]
  if (!drills.every((d) => (DRILLS as readonly string[]).includes(d))) {
    log(`bench:faults: unknown drill "${values.drill}"\n\n${HELP}`)
    return 2
  }
  const int = (name: string, value: string | undefined) => {
    const n = Number(value)
    if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`--${name} must be a positive whole number`)
    return n
  }
  const seed = values.seed === undefined ? randomInt(1, 2 ** 31 - 1) : int('seed', values.seed)
  const rounds = int('rounds', values.rounds)
  const periodMs = int('period-ms', values['period-ms'])
  const machine = machineFacts()
  log(`bench:faults: seed ${seed}; load average ${machine.loadAverageAtStart}`)

  const runTag = randomUUID().slice(0, 8)
  const url = new URL(parseConfig({ ...process.env, ...benchProductionEnv() }).DATABASE_URL)
  url.pathname = `/perminute_drill_${runTag}`
  const databaseUrl = url.toString()
  await ensureDatabase(databaseUrl)
  const reports: DrillReport[] = []
  try {
    await applyMigrations(databaseUrl, { log: () => undefined })
    const stack = await startDrillStack({
      cliPath: await ensureTemporalCli({ log }),
      databaseUrl,
      billing: { periodMs, graceMs: Math.min(5_000, Math.floor(periodMs / 5)), heartbeatTimeoutMs: Math.max(8_000, 8 * periodMs) },
      runTag,
      log,
    })
    try {
      for (let round = 0; round < rounds; round++) {
        for (const drill of drills) {
          reports.push(
            await runDrill(stack, drill, {
              seed: seed + round,
              calls: int('calls', values.calls),
              periods: int('periods', values.periods),
              faults: int('faults', values.faults),
              log,
            }),
          )
        }
      }
      const warnings = stack.warnings()
      if (Object.keys(warnings).length) log(`process warnings: ${Object.entries(warnings).slice(0, 10).map(([k, n]) => `${k} ×${n}`).join('; ')}`)
    } finally {
      await stack.stop()
    }
  } finally {
    await dropDatabase(databaseUrl).catch(() => undefined)
  }
  const jsonPath = values.json ?? path.join(repoRoot, 'bench/results', `faults-${machine.date.replace(/[:.]/g, '-')}.json`)
  await mkdir(path.dirname(jsonPath), { recursive: true })
  await writeFile(jsonPath, `${JSON.stringify({ benchmark: 'faults', machine, seed, reports }, null, 2)}\n`)
  const lines = [
    `| drill | seed | faults injected | calls started / refused | end reasons | result | seconds |`,
    `| --- | ---: | --- | ---: | --- | --- | ---: |`,
    ...reports.map(
      (r) =>
        `| ${r.drill} | ${r.seed} | ${r.injected.length ? r.injected.join('; ') : '–'} | ${r.verdict.calls.started} / ${r.verdict.calls.refused} | ` +
        `${Object.entries(r.verdict.calls.endReasons).map(([k, n]) => `${k} ${n}`).join(', ')} | ${r.verdict.ok ? 'pass' : `**FAIL** (${r.verdict.problems.length})`} | ${r.seconds} |`,
    ),
  ]
  process.stdout.write(`${lines.join('\n')}\n\nResults: ${path.relative(process.cwd(), jsonPath)}\n`)
  return reports.every((r) => r.verdict.ok) ? 0 : 1
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    log(`bench:faults: ${(error as Error)?.message ?? String(error)}`)
    process.exit(2)
  },
)

/**
 * npm run bench:media -- [--steps 5,10,20,40,80] [--hold-s 20] [--period-ms 30000] [--cutoff-calls 10]
 *                        [--cutoff-load N] [--processes 4] [--livekit-share 100] [--quick] [--json PATH]   (--help)
 *
 * How many concurrent two-party audio calls one LiveKit server carries on this machine beside the stack, and how
 * soon the media stops after a cut-off at that load. It starts a stack of its own on free ports (a persisted Temporal
 * dev server, a fresh database, the worker and the web as processes of their own, and a LiveKit server whose signed
 * webhooks go to that web), then runs real calls through it: the member asks for an audio call, the operator's plugin
 * accepts it through the plugin API, and both parties join the call's room as synthetic participants
 * (@livekit/rtc-node, in a few processes of their own: bench/media/participant-process.ts), each publishing a 48 kHz
 * mono tone in 20-ms frames and counting the frames it hears from the other.
 *
 * 1. Capacity: steps of concurrent calls, each held for a while; per step the frames each party received against
 *    the 50 a second sent, LiveKit's CPU and memory (/proc), the participants' and the stack's CPU, the machine's.
 *    The capacity is the largest step at which ≥ 99% of parties received ≥ 95% of their frames and LiveKit stayed
 *    within its share of a core. It stops at the first step that fails.
 * 2. Cut-off lag at that load: calls whose members are funded for exactly one period run beside it; the platform
 *    ends each on its boundary (funds_exhausted) by deleting its room. The lag is from the boundary (the settled
 *    call's ended_at) to each party's last inbound frame, and to the room's disconnect as each party saw it.
 * 3. Money: every call's charge against its billed periods and the billing rule, and the ledger check.
 *
 * Results: a Markdown report on stdout, progress on stderr, everything in bench/results/media-<timestamp>.json.
 * Exit 1 when money is wrong or no step could be measured; the capacity itself is reported, not enforced.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { checkLedger } from '../activities/ledger/check.js'
import { startLocalStack } from './support/local-stack.js'
import { machineFacts } from './support/machine.js'
import type { BenchStack } from './support/stack.js'
import { callDriver, preparePairs } from './media/calls.js'
import { checkCharges } from './media/charges.js'
import { startParticipantPool, type ParticipantPool } from './media/participant-pool.js'
import { runCutoff, runStep, type PhaseContext, type StepResult } from './media/phases.js'
import { markdown, type MediaResults } from './media/report.js'
import { startSpan } from './media/meter.js'
import { sleep } from './support/concurrency.js'

const repoRoot = fileURLToPath(new URL('../', import.meta.url))
const RATE_CENTS = 100

export interface MediaOptions {
  steps: number[]
  holdS: number
  periodMs: number
  graceMs: number
  cutoffCalls: number
  cutoffLoad: number | null
  processes: number
  liveKitSharePercent: number
  quick: boolean
  jsonPath: string | null
}

const HELP = `Usage: npm run bench:media -- [options]

Concurrent two-party audio calls through the platform and one LiveKit server, with synthetic participants; the
cut-off lag at that load; every charge and the ledger checked.

  --steps A,B,…        concurrent calls per step (default 5,10,20,40,80); stops at the first step that fails
  --hold-s S           how long each step is measured (default 20)
  --period-ms P        billing period of the run's stack (default 30000): the cut-off calls end after one,
                       so it must outlast joining them all
  --cutoff-calls C     calls funded for exactly one period, cut off by the platform (default 10)
  --cutoff-load N      calls at once during the cut-off, the cut-off ones included (default: the capacity found;
                       the first step if none passed)
  --processes K        participant processes the parties are spread over (default 4)
  --livekit-share N    the most of one core LiveKit may use for a step to count, in % (default 100)
  --quick              a short run: steps 2,4 held 4 s, 4-s periods, 1 cut-off call, 2 processes
  --json PATH          where to write the results (default bench/results/media-<timestamp>.json)
  -h, --help           this text`

class UsageError extends Error {}

function positiveInt(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback
  if (!/^\d+$/.test(value) || Number(value) <= 0 || !Number.isSafeInteger(Number(value))) throw new UsageError(`--${name} must be a positive whole number, got "${value}"`)
  return Number(value)
}

export function parseMediaOptions(argv: string[]): MediaOptions | 'help' {
  let parsed
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        steps: { type: 'string' },
        'hold-s': { type: 'string' },
        'period-ms': { type: 'string' },
        'cutoff-calls': { type: 'string' },
        'cutoff-load': { type: 'string' },
        processes: { type: 'string' },
        'livekit-share': { type: 'string' },
        quick: { type: 'boolean', default: false },
        json: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    })
  } catch (error) {
    throw new UsageError((error as Error).message)
  }
  const v = parsed.values
  if (v.help) return 'help'
  const quick = v.quick ?? false
  const steps = (v.steps ?? (quick ? '2,4' : '5,10,20,40,80')).split(',').map((step) => positiveInt('steps', step.trim(), 0))
  if (steps.some((step, i) => i > 0 && step <= steps[i - 1]!)) throw new UsageError('--steps must grow: 5,10,20 say')
  // 30 s by default: at 20 calls every party took up to 18 s to join here, and a cut-off call must be heard first.
  const periodMs = positiveInt('period-ms', v['period-ms'], quick ? 4_000 : 30_000)
  if (periodMs < 2_000) throw new UsageError('--period-ms must be at least 2000 (a call must be heard before its cut-off)')
  return {
    steps,
    holdS: positiveInt('hold-s', v['hold-s'], quick ? 4 : 20),
    periodMs,
    graceMs: Math.min(5_000, Math.floor(periodMs / 5)),
    cutoffCalls: positiveInt('cutoff-calls', v['cutoff-calls'], quick ? 1 : 10),
    cutoffLoad: v['cutoff-load'] === undefined ? null : positiveInt('cutoff-load', v['cutoff-load'], 1),
    processes: positiveInt('processes', v.processes, quick ? 2 : 4),
    liveKitSharePercent: positiveInt('livekit-share', v['livekit-share'], 100),
    quick,
    jsonPath: v.json ?? null,
  }
}

const log = (line: string) => process.stderr.write(`${line}\n`)

async function run(options: MediaOptions): Promise<number> {
  const machine = machineFacts()
  const runTag = `m${Date.now().toString(36)}`
  const maxCalls = Math.max(options.steps.at(-1)!, options.cutoffLoad ?? 0)
  let stack: BenchStack | undefined
  let pool: ParticipantPool | undefined
  let stopping: Promise<void> | undefined
  // Every exit path stops the participants and the stack: the normal end, an error, Ctrl-C or SIGTERM.
  const stopAll = () =>
    (stopping ??= (async () => {
      await pool?.stop().catch(() => undefined)
      await stack?.stop({ keepData: false }).catch(() => undefined)
    })())
  const interrupted = (signal: NodeJS.Signals) => {
    log(`${signal}: stopping the participants and the stack…`)
    void stopAll().finally(() => process.exit(130))
  }
  process.once('SIGINT', interrupted)
  process.once('SIGTERM', interrupted)
  // An error nobody awaited (a library's, say) ends the run the same way: participants and stack stopped, database dropped.
  const crashed = (error: unknown) => {
    log(`bench:media: ${(error as Error)?.stack ?? String(error)}`)
    void stopAll().finally(() => process.exit(2))
  }
  process.once('uncaughtException', crashed)
  process.once('unhandledRejection', crashed)
  try {
    stack = await startLocalStack({
      billing: { periodMs: options.periodMs, graceMs: options.graceMs, heartbeatTimeoutMs: 45_000 },
      runTag,
      log,
      // One port per peer connection, two per party; the cut-off calls and some slack on top.
      liveKit: { udpPorts: Math.max(40, 4 * 2 * (maxCalls + options.cutoffCalls) + 20) },
    })
    const config = stack.config!
    const db = stack.db
    // Fresh participant processes for every step and for the cut-off phase: a step that overloads the media library
    // (its native handles have been seen to go astray at 40 calls on a busy machine) must not spoil the next one.
    const participantPids: number[] = []
    const participantTrouble = { died: 0, libraryErrors: { count: 0, samples: [] as string[] } }
    const withFreshPool = async <T>(phase: () => Promise<T>): Promise<T> => {
      pool = await startParticipantPool(options.processes)
      ctx.pool = pool
      participantPids.push(...pool.pids())
      log(`  participants: ${options.processes} processes (pids ${pool.pids().join(', ')})`)
      try {
        return await phase()
      } finally {
        participantTrouble.died += pool.died()
        const errors = pool.libraryErrors()
        participantTrouble.libraryErrors.count += errors.count
        participantTrouble.libraryErrors.samples = [...new Set([...participantTrouble.libraryErrors.samples, ...errors.samples])].slice(0, 5)
        await pool.stop()
        pool = undefined
      }
    }
    const processPids = (name: string) => stack!.processes.filter((p) => p.name === name).map((p) => p.pid)
    const groups = () => ({
      'LiveKit server': processPids('LiveKit server'),
      participants: pool?.pids() ?? [],
      web: processPids('web process'),
      worker: processPids('worker process'),
      'Temporal dev server': processPids('Temporal dev server'),
      benchmark: [process.pid],
    })
    log('preparing operators (signed in through the plugin API) and members…')
    const pairs = await preparePairs(db, stack.webUrl, { count: maxCalls, runTag, label: 'load', rateCents: RATE_CENTS, fundedCents: (rate) => rate * 10_000 })
    // Funded for exactly one period: the second cannot be held, so the platform ends the call on its first boundary.
    const cutoffPairs = await preparePairs(db, stack.webUrl, { count: options.cutoffCalls, runTag, label: 'cut', rateCents: RATE_CENTS, fundedCents: (rate) => rate })
    const ctx = { db, driver: callDriver(db, config, () => ctx.pool!), pool: undefined, groups, log } as Omit<PhaseContext, 'pool'> & { pool?: ParticipantPool }
    const phaseContext = () => ctx as PhaseContext

    // The machine with the stack up and no call: what the rest of the run is measured against.
    const idleSpan = startSpan(groups)
    await sleep(3_000)
    const idle = idleSpan()

    const steps: StepResult[] = []
    for (const calls of options.steps) {
      const step = await withFreshPool(() =>
        runStep(phaseContext(), pairs.slice(0, calls), { holdS: options.holdS, liveKitSharePercent: options.liveKitSharePercent }),
      )
      steps.push(step)
      if (!step.passed) break
    }
    const capacity = steps.filter((s) => s.passed).at(-1)?.calls ?? null
    const load = options.cutoffLoad ?? capacity ?? options.steps[0]!
    // The cut-off calls are part of the load: `load` calls at once in all, the cut-off ones among them.
    const cutoff = await withFreshPool(() => runCutoff(phaseContext(), pairs.slice(0, Math.max(0, load - options.cutoffCalls)), cutoffPairs, options.periodMs))

    const rows = [...steps.flatMap((s) => s.rows), ...cutoff.rows]
    const charges = checkCharges(rows, new Set(cutoff.calls.map((c) => c.callId)))
    const ledger = await checkLedger(db)
    await Promise.all(pairs.concat(cutoffPairs).map((pair) => pair.api.logout().catch(() => undefined)))

    const results: MediaResults = {
      machine,
      loadAverageAtEnd: Math.round(os.loadavg()[0]! * 100) / 100,
      options,
      stack: stack.description.summary + ', LiveKit server (signed webhooks to the web)',
      participantPids,
      participantProcesses: participantTrouble,
      idle,
      steps: steps.map(({ rows: _rows, ...step }) => step),
      capacity,
      cutoff: { ...cutoff, rows: undefined },
      charges,
      ledger: { ok: ledger.ok, accounts: ledger.accounts, transfers: ledger.transfers, settledCalls: ledger.settledCalls, violations: ledger.violations },
    }
    const jsonPath = options.jsonPath ?? path.join(repoRoot, 'bench/results', `media-${machine.date.replace(/[:.]/g, '-')}.json`)
    await mkdir(path.dirname(jsonPath), { recursive: true })
    await writeFile(jsonPath, `${JSON.stringify(results, null, 2)}\n`)
    process.stdout.write(`${markdown(results)}\n\nResults: ${path.relative(process.cwd(), jsonPath) || jsonPath}\n`)
    const ok = charges.problems.length === 0 && ledger.ok && steps.some((s) => s.started > 0)
    return ok ? 0 : 1
  } finally {
    await stopAll()
    process.removeListener('SIGINT', interrupted)
    process.removeListener('SIGTERM', interrupted)
    process.removeListener('uncaughtException', crashed)
    process.removeListener('unhandledRejection', crashed)
  }
}

async function main(): Promise<void> {
  let options: MediaOptions | 'help'
  try {
    options = parseMediaOptions(process.argv.slice(2))
  } catch (error) {
    if (error instanceof UsageError) {
      log(`bench:media: ${error.message}\n\n${HELP}`)
      process.exitCode = 2
      return
    }
    throw error
  }
  if (options === 'help') {
    process.stdout.write(`${HELP}\n`)
    return
  }
  try {
    process.exitCode = await run(options)
  } catch (error) {
    log(`bench:media: ${(error as Error)?.message ?? String(error)}`)
    if (process.env.BENCH_DEBUG) log(String((error as Error)?.stack))
    process.exitCode = 2
  }
}

await main()
// Whatever a library left open (a keep-alive socket, a timer), the benchmark is done.
process.exit(process.exitCode ?? 0)

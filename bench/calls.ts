/**
 * npm run bench:calls -- [--calls N] [--period-ms P] [--periods K[-M]] [--ramp-s R] [--short-funded F] [--top-ups F]
 *                        [--operators O] [--json PATH] [--keep] [--in-process] [--no-ceilings]
 *                        [--target URL --database-url URL]   (--help lists them all)
 *
 * Runs N concurrent calls through the plugin API, as N plugins would, against the real stack (Temporal, worker,
 * PostgreSQL, web), then reads the ledger to measure how late each period's hold was, checks the ledger's
 * invariants and recomputes every call's charge independently. By default it starts a stack of its own (a
 * persisted Temporal dev server in a temp dir, a fresh database, the worker and the web server as processes of their
 * own) on free ports and removes it afterwards, so it never touches demo data. Some members run out of money mid-call
 * (cut-off lag), some top up when warned; calls can start spread over a ramp. In the same run it measures two
 * ceilings of the machine: the hold statement straight against PostgreSQL, and a bare Temporal workflow of one timer
 * and one no-op activity per period. Results: a Markdown summary on stdout, progress on stderr, everything measured
 * in bench/results/<timestamp>.json, and the lag over time as an SVG beside it. Exit 1 when money is wrong or a
 * call was lost; the timing targets are reported, not enforced.
 */
import { randomUUID } from 'node:crypto'
import { setMaxListeners } from 'node:events'
import { mkdir, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { checkLedger, type LedgerCheckResult } from '../activities/ledger/check.js'
import { createUser } from '../activities/identity/users.js'
import { creditMemberWallet } from '../activities/wallets.js'
import type { Db } from '../prisma/client.js'
import { holdAheadMs } from '../workflows/billing.js'
import {
  isCallEnded,
  isEvent,
  PlatformApi,
  PlatformApiError,
  type CallSettled,
  type ResponseTiming,
  type ServerSentMessage,
} from '../plugin/src/core/platform-api.js'
import { measureLedgerCeiling, type LedgerCeiling } from './ceilings/ledger.js'
import { measureTemporalCeiling, type TemporalCeiling } from './ceilings/temporal.js'
import { mapLimit, sleep } from './support/concurrency.js'
import { historyCost, type HistoryCost } from './support/histories.js'
import { loadConfig } from '../config/env.js'
import { createCallRequestBatcher, memberConfirmation, type CallRequestBatcher } from './support/call-requests.js'
import { insertUsers } from './support/participants.js'
import { summarizeProfiles, type ProfileSummary } from './support/profile.js'
import { parseTemporalBackend, type TemporalBackend } from '../temporal/setup/cluster/backend.js'
import { lagOverTimeSvg } from './support/plot.js'
import { machineCpuTicks, machineFacts, processCpuMs, processRssMiB, type MachineFacts } from './support/machine.js'
import { startBackendMeter, type BackendUse } from './support/postgres-backends.js'
import { connectTargetStack, type BenchStack, type BillingOverrides } from './support/stack.js'
import { ms, SampleSets, summarize, type Summary } from './support/stats.js'

const repoRoot = fileURLToPath(new URL('../', import.meta.url))
const PASSWORD = 'bench-password-not-secret'
/** Prices that do not divide evenly by the commission, so the integer split is exercised on every call. */
const RATES_CENTS = [99, 150, 199, 250, 333, 499] as const
/** Every 4th operator belongs to a company, so settlement's three-way split runs too. */
const COMPANY_EVERY = 4
const COMPANY_SHARE_BPS = 1_500
/** A start that got no answer is retried this many times in all (same callId, so never twice). */
const START_ATTEMPTS = 5
/** How long the plugin keeps asking for a settlement (202s, 5xx) before the benchmark calls the call lost. */
const END_PATIENCE_MS = 300_000
/** Issue 7's targets, reported beside the figures (never asserted in tests). */
const TARGETS = { boundaryLagP99Ms: 1_000, cutoffLagP99Ms: 1_000, settleLatencyP99Ms: 500 } as const

// ---------------------------------------------------------------------------------------------------------------
// Options

interface Options {
  calls: number
  operators: number
  periodMs: number
  /** Each call is billed between these many periods (chosen per call, spread evenly). */
  periods: number
  periodsMax: number
  /** Calls start spread evenly over this many seconds (0: all at once). */
  rampS: number
  /** Share of calls whose member's money runs out before the call would end: the platform cuts them off. */
  shortFunded: number
  /** Share of calls whose member is funded short but tops up when the low-balance warning arrives. */
  topUps: number
  inProcess: boolean
  /** The Temporal of the stack the benchmark starts: the dev server, or a cluster on PostgreSQL (docs/decisions/072). */
  temporal: TemporalBackend
  /** Write V8 CPU profiles of the worker and the web, and summarise them in the report. */
  cpuProf: boolean
  ceilings: boolean
  ceilingSeconds: number
  ceilingWorkflows: number
  ceilingPeriods: number
  historySample: number
  heartbeatMs: number
  graceMs: number
  heartbeatTimeoutMs: number
  jsonPath: string | null
  keep: boolean
  target: string | null
  databaseUrl: string | null
}

const HELP = `Usage: npm run bench:calls -- [options]

Runs concurrent calls through the plugin API and measures period-boundary lag, settle latency and API latency,
then checks the ledger and every call's charge.

  --calls N               calls to run (default 100)
  --operators O           operators taking them (default: as many as calls, so all run at once; fewer
                          operators take the calls in turns, O at a time)
  --period-ms P           billing period (default 1000; 60000 is production's)
  --periods K[-M]         periods each call is billed: it ends part-way through its K-th period (default 5);
                          K-M spreads the calls' lengths evenly from K to M periods
  --ramp-s R              start the calls spread evenly over R seconds (default: one period when periods are
                          10 s or longer, else 0 = all at the same instant)
  --short-funded F        share of calls whose member is funded for fewer periods than the call lasts, so the
                          platform cuts them off (cut-off lag); default 0.1
  --top-ups F             share of calls whose member is funded short and tops up when warned (through the
                          admin credit path, activities/wallets.ts, until the member portal has one); default 0.1
  --heartbeat-ms H        plugin heartbeat interval (default P/2, at most 7500)
  --grace-ms G            grace time (default min(5000, P/5))
  --heartbeat-timeout-ms  when the platform presumes a plugin gone (default min(45000, max(5000, 20 H)))
  --json PATH             where to write the results (default bench/results/<timestamp>.json)
  --keep                  leave the stack running after the report (Ctrl-C stops it; the database and the
                          Temporal state file are then kept for inspection)
  --temporal dev|postgres the Temporal of the stack the benchmark starts: the CLI's dev server (default), or a
                          Temporal cluster on PostgreSQL, one process per service, as TEMPORAL_BACKEND=postgres
                          ./platform up runs it
  --in-process            run the worker and the web inside the benchmark's process (the first benchmark's
                          set-up) instead of as processes of their own
  --cpu-prof              profile the worker and the web (node --cpu-prof) and say where their CPU went
  --no-ceilings           skip the two ceilings (the hold straight against PostgreSQL; a bare Temporal loop)
  --ceiling-seconds S     how long the ledger ceiling runs (default 10)
  --ceiling-workflows W   bare workflows in the Temporal ceiling (default 100)
  --ceiling-periods K     periods each of them runs (default 10)
  --history-sample N      settled calls whose workflow histories are counted per period (default 20)
  --target URL            drive an already running stack instead of starting one (its web origin);
  --database-url URL      …with the database it uses (required with --target); its billing settings must
                          match --period-ms and --grace-ms
  -h, --help              this text

Worker and web settings come from the environment as usual (e.g. WORKER_MAX_CONCURRENT_ACTIVITIES).`

class UsageError extends Error {}

function positiveInt(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback
  if (!/^\d+$/.test(value) || Number(value) <= 0 || !Number.isSafeInteger(Number(value))) {
    throw new UsageError(`--${name} must be a positive whole number, got "${value}"`)
  }
  return Number(value)
}

function parseOptions(argv: string[]): Options | 'help' {
  let parsed
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        calls: { type: 'string' },
        operators: { type: 'string' },
        'period-ms': { type: 'string' },
        periods: { type: 'string' },
        'ramp-s': { type: 'string' },
        'short-funded': { type: 'string' },
        'top-ups': { type: 'string' },
        'in-process': { type: 'boolean', default: false },
        temporal: { type: 'string' },
        'cpu-prof': { type: 'boolean', default: false },
        'no-ceilings': { type: 'boolean', default: false },
        'ceiling-seconds': { type: 'string' },
        'ceiling-workflows': { type: 'string' },
        'ceiling-periods': { type: 'string' },
        'history-sample': { type: 'string' },
        'heartbeat-ms': { type: 'string' },
        'grace-ms': { type: 'string' },
        'heartbeat-timeout-ms': { type: 'string' },
        json: { type: 'string' },
        keep: { type: 'boolean', default: false },
        target: { type: 'string' },
        'database-url': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    })
  } catch (error) {
    throw new UsageError((error as Error).message)
  }
  const v = parsed.values
  if (v.help) return 'help'
  const calls = positiveInt('calls', v.calls, 100)
  const operators = positiveInt('operators', v.operators, calls)
  if (operators > calls) throw new UsageError(`--operators (${operators}) cannot exceed --calls (${calls})`)
  const periodMs = positiveInt('period-ms', v['period-ms'], 1_000)
  const [periodsText, periodsMaxText] = (v.periods ?? '5').split('-')
  const periods = positiveInt('periods', periodsText, 5)
  const periodsMax = positiveInt('periods', periodsMaxText ?? periodsText, periods)
  if (periodsMax < periods) throw new UsageError(`--periods ${v.periods}: the longest calls cannot be shorter than the shortest`)
  const heartbeatMs = positiveInt('heartbeat-ms', v['heartbeat-ms'], Math.max(1, Math.min(7_500, Math.round(periodMs / 2))))
  const rampS = v['ramp-s'] === undefined ? (periodMs >= 10_000 ? periodMs / 1000 : 0) : Number(v['ramp-s'])
  if (!Number.isFinite(rampS) || rampS < 0) throw new UsageError('--ramp-s must be a number of seconds ≥ 0')
  const share = (name: string, value: string | undefined, fallback: number) => {
    const n = value === undefined ? fallback : Number(value)
    if (!Number.isFinite(n) || n < 0 || n > 1) throw new UsageError(`--${name} must be a share between 0 and 1`)
    return n
  }
  const shortFunded = share('short-funded', v['short-funded'], 0.1)
  const topUps = share('top-ups', v['top-ups'], 0.1)
  if (shortFunded + topUps > 1) throw new UsageError('--short-funded and --top-ups together cannot exceed 1')
  const graceMs = v['grace-ms'] === undefined ? Math.min(5_000, Math.floor(periodMs / 5)) : Number(v['grace-ms'])
  if (!Number.isSafeInteger(graceMs) || graceMs < 0) throw new UsageError('--grace-ms must be a whole number ≥ 0')
  if (graceMs >= periodMs) throw new UsageError('--grace-ms must be shorter than a period, or every call would be free')
  const heartbeatTimeoutMs = positiveInt(
    'heartbeat-timeout-ms',
    v['heartbeat-timeout-ms'],
    Math.min(45_000, Math.max(5_000, 20 * heartbeatMs)),
  )
  if (heartbeatTimeoutMs <= heartbeatMs) throw new UsageError('--heartbeat-timeout-ms must be longer than --heartbeat-ms')
  const target = v.target ?? null
  const databaseUrl = v['database-url'] ?? null
  if (target !== null && databaseUrl === null) throw new UsageError('--target needs --database-url (the database that stack uses)')
  if (target === null && databaseUrl !== null) throw new UsageError('--database-url is only for --target; without it the benchmark makes its own database')
  let temporal: TemporalBackend
  try {
    temporal = parseTemporalBackend(v.temporal, '--temporal')
  } catch (error) {
    throw new UsageError((error as Error).message)
  }
  if (target !== null && v.temporal !== undefined) throw new UsageError('--temporal applies to the stack the benchmark starts, not to a --target')
  if (target !== null && v.keep) throw new UsageError('--keep applies to the stack the benchmark starts, not to a --target')
  if (target !== null) {
    try {
      new URL(target)
    } catch {
      throw new UsageError(`--target must be a URL such as http://127.0.0.1:3000, got "${target}"`)
    }
  }
  return {
    calls,
    operators,
    periodMs,
    periods,
    periodsMax,
    rampS,
    shortFunded,
    topUps,
    inProcess: v['in-process'] ?? false,
    temporal,
    cpuProf: v['cpu-prof'] ?? false,
    ceilings: !(v['no-ceilings'] ?? false),
    ceilingSeconds: positiveInt('ceiling-seconds', v['ceiling-seconds'], 10),
    ceilingWorkflows: positiveInt('ceiling-workflows', v['ceiling-workflows'], 100),
    ceilingPeriods: positiveInt('ceiling-periods', v['ceiling-periods'], 10),
    historySample: v['history-sample'] === '0' ? 0 : positiveInt('history-sample', v['history-sample'], 20),
    heartbeatMs,
    graceMs,
    heartbeatTimeoutMs,
    jsonPath: v.json ?? null,
    keep: v.keep ?? false,
    target,
    databaseUrl,
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The run's state

interface Operator {
  index: number
  id: string
  email: string
  handle: string
  ratePerMinuteCents: number
  companyId: string | null
  api: PlatformApi
}

/** normal: funded past its end; cutoff: runs out of money mid-call; topup: funded short, tops up when warned. */
type CallKind = 'normal' | 'cutoff' | 'topup'

interface CallRecord {
  index: number
  callId: string
  kind: CallKind
  operator: Operator
  memberId: string
  memberHandle: string
  /** The periods the plugin means the call to last (it ends part-way through the last). */
  plannedPeriods: number
  /** When the call starts, in ms after the calls phase began (the ramp). */
  startOffsetMs: number
  /** What the member's wallet was given: it caps the periods the call can be charged. */
  fundedCents: number
  /** A top-up made when the warning came: its amount and when it committed. */
  topUpCents: number
  topUpAt?: number
  lowBalanceAt?: number
  lowBalanceClearedAt?: number
  /** When the plugin was told to hang up: the call.ending event, or a heartbeat answered 410, whichever came first. */
  toldToHangUpAt?: number
  /** Wakes the plugin's wait between heartbeats when the platform ends the call. */
  hangUp: () => void
  hungUp: Promise<void>
  /** Where in its last period the call ends, as a fraction of a period; spread so ends do not all coincide. */
  fraction: number
  // Wall-clock ms (Date.now()), comparable with the database's timestamps on one machine.
  startSentAt?: number
  startAnsweredAt?: number
  serverStartedAt?: number
  /** The member's confirmation that the call is connected: the call starts at a moment inside it. */
  connectSentAt?: number
  connectAnsweredAt?: number
  plannedEndAt?: number
  endSentAt?: number
  /** When the first answer to the end request came (200 or 202). */
  endFirstAnswerAt?: number
  settledAnswerAt?: number
  settledEventAt?: number
  /** What the call.settled event said was charged. */
  settledEventCents?: number
  answered202: boolean
  settlement?: CallSettled
  /** The platform ended the call on its own (a heartbeat answered 410). */
  endedByPlatform: boolean
  heartbeats: number
  failure?: string
}

interface ErrorTally {
  [routeAndCode: string]: number
}

class Run {
  readonly errors: ErrorTally = {}
  readonly api = new SampleSets()
  readonly startedAt = Date.now()
  phase = 'preparing'
  starting = 0
  active = 0
  settled = 0

  onResponse = (timing: ResponseTiming) => {
    this.api.add(`${timing.method} ${timing.route}`, timing.ms)
  }

  error(route: string, error: unknown): void {
    const key = error instanceof PlatformApiError ? `${route} → ${error.status} ${error.code}` : `${route} → ${(error as Error)?.message ?? String(error)}`
    this.errors[key] = (this.errors[key] ?? 0) + 1
  }

  get errorCount(): number {
    return Object.values(this.errors).reduce((sum, n) => sum + n, 0)
  }
}

const log = (line: string) => process.stderr.write(`${line}\n`)

// ---------------------------------------------------------------------------------------------------------------
// Preparing users

async function createParticipants(db: Db, stack: BenchStack, options: Options, run: Run, runTag: string) {
  log(`preparing ${options.operators} operators and ${options.calls} members…`)
  const company = await createUser(db, {
    role: 'company',
    email: `bench-${runTag}-company@bench.test`,
    password: PASSWORD,
    displayName: `Bench company ${runTag}`,
    companyName: `Bench company ${runTag}`,
    companyShareBps: COMPANY_SHARE_BPS,
  })
  let made = 0
  const tick = () => {
    made += 1
    if (made % 500 === 0) log(`  ${made} wallets funded`)
  }
  const operatorUsers = await insertUsers(
    db,
    PASSWORD,
    Array.from({ length: options.operators }, (_, index) => ({
      role: 'operator' as const,
      email: `bench-${runTag}-op-${index}@bench.test`,
      displayName: `Bench operator ${index}`,
      ratePerMinuteCents: RATES_CENTS[index % RATES_CENTS.length]!,
      companyId: index % COMPANY_EVERY === COMPANY_EVERY - 1 ? company.companyId : null,
    })),
  )
  const memberUsers = await insertUsers(
    db,
    PASSWORD,
    Array.from({ length: options.calls }, (_, index) => ({
      role: 'member' as const,
      email: `bench-${runTag}-member-${index}@bench.test`,
      displayName: `Bench member ${index}`,
      callingProvider: 'discord',
      callingHandle: `bench-${runTag}-member-${index}`,
    })),
  )
  const operators = operatorUsers.map((user, index): Operator => {
    const ratePerMinuteCents = user.ratePerMinuteCents!
    const companyId = user.companyId ?? null
    const email = user.email
    return {
      index,
      id: user.id,
      email,
      handle: `bench-${runTag}-op-${index}`,
      ratePerMinuteCents,
      companyId,
      api: new PlatformApi({ baseUrl: stack.webUrl, onResponse: run.onResponse }),
    }
  })
  const calls = await mapLimit(Array.from({ length: options.calls }, (_, i) => i), 8, async (index): Promise<CallRecord> => {
    const operator = operators[index % operators.length]!
    const member = memberUsers[index]!
    const handle = member.callingHandle!
    const kind = callKind(index, options)
    const plannedPeriods = options.periods + Math.round(((options.periodsMax - options.periods) * ((index * 7919) % options.calls)) / Math.max(1, options.calls - 1))
    // Normal calls get enough for the planned periods and three more, so they never run out unless the platform runs
    // late, and no warning fires. A cut-off call's money covers all but its last planned period (at least one); a
    // top-up call's covers the same, and the member adds four periods when warned. The odd 17 cents keep the
    // balance off round numbers.
    const fundedPeriods = kind === 'normal' ? plannedPeriods + 3 : Math.max(1, plannedPeriods - 1)
    const fundedCents = operator.ratePerMinuteCents * fundedPeriods + 17
    await creditMemberWallet(db, {
      transferId: `bench:${runTag}:fund:${index}`,
      memberId: member.id,
      amountCents: fundedCents,
      source: 'adjustments',
      code: 'wallet_adjustment',
      memo: 'benchmark funding',
    })
    tick()
    let hangUp = () => {}
    const hungUp = new Promise<void>((resolve) => (hangUp = resolve))
    return {
      index,
      callId: randomUUID(),
      kind,
      plannedPeriods,
      startOffsetMs: options.calls > 1 ? (options.rampS * 1000 * index) / (options.calls - 1) : 0,
      topUpCents: 0,
      hangUp,
      hungUp,
      operator,
      memberId: member.id,
      memberHandle: handle,
      fundedCents,
      // 0.3 … 0.7 of a period: far enough from both boundaries that a late end request rarely starts a new period.
      fraction: 0.3 + (0.4 * index) / Math.max(1, options.calls - 1),
      answered202: false,
      endedByPlatform: false,
      heartbeats: 0,
    }
  })
  return { operators, calls }
}

/** Which calls run out of money or top up: spread over the run (every k-th call), not bunched at its start. */
function callKind(index: number, options: Options): CallKind {
  const slot = ((index + 1) * 0.618034) % 1
  if (slot < options.shortFunded) return 'cutoff'
  if (slot < options.shortFunded + options.topUps) return 'topup'
  return 'normal'
}

/** What a plugin does when it starts: sign in, link the calling account, report presence, open the event stream. */
async function signInOperators(operators: Operator[], run: Run, events: AbortSignal, onMessage: (message: ServerSentMessage) => void) {
  log(`signing ${operators.length} operators in through the plugin API…`)
  await mapLimit(operators, 16, async (operator) => {
    await operator.api.login(operator.email, PASSWORD)
    await operator.api.link('discord', operator.handle)
    await operator.api.presence('online')
  })
  const streams = operators.map(async (operator) => {
    try {
      for await (const message of operator.api.events(events)) onMessage(message)
    } catch (error) {
      run.error('GET /events', error)
    }
  })
  return () => Promise.allSettled(streams)
}

/**
 * The member tops up when warned. There is no member top-up over HTTP yet (the wallet and portal work is under way),
 * so this goes through the admin credit path, activities/wallets.ts creditMemberWallet, which is what a top-up's
 * workflow ends in too: a posted transfer into the wallet that clears the call's warning in the same transaction.
 */
async function topUp(db: Db, call: CallRecord, runTag: string, run: Run): Promise<void> {
  const amountCents = call.operator.ratePerMinuteCents * TOP_UP_PERIODS
  try {
    await creditMemberWallet(db, {
      transferId: topUpTransferId(runTag, call),
      memberId: call.memberId,
      amountCents,
      source: 'adjustments',
      code: 'wallet_adjustment',
      memo: 'benchmark top-up',
    })
    call.topUpCents = amountCents
    call.topUpAt = Date.now()
  } catch (error) {
    run.error('top-up (creditMemberWallet)', error)
  }
}

const TOP_UP_PERIODS = 4
const topUpTransferId = (runTag: string, call: CallRecord) => `bench:${runTag}:top-up:${call.index}`

function periodsText(options: Options): string {
  return options.periods === options.periodsMax ? String(options.periods) : `${options.periods}–${options.periodsMax}`
}

// ---------------------------------------------------------------------------------------------------------------
// One call, as a plugin drives it

/** What the members do on the website for the calls: ask for them, and confirm each is connected. */
interface MembersSide {
  requests: CallRequestBatcher
  confirm: (memberId: string, callId: string) => Promise<boolean>
}

async function driveCall(call: CallRecord, options: Options, run: Run, phaseStartedAt: number, members: MembersSide): Promise<void> {
  const api = call.operator.api
  // The ramp: each call picks up at its own moment, answering the request its member made just before.
  await sleep(phaseStartedAt + call.startOffsetMs - Date.now())
  let requestId: string
  try {
    requestId = await members.requests.ask({
      memberId: call.memberId,
      operatorId: call.operator.id,
      mode: 'per_minute',
      prepaidMinutes: null,
      ratePerMinuteCents: call.operator.ratePerMinuteCents,
      // On the operator's outside app: billed from the member's confirmation, kept alive by the plugin's heartbeats.
      channel: 'outside',
    })
  } catch (error) {
    run.error('call request (recordCallRequests)', error)
    call.failure = `request: ${(error as Error).message}`
    return
  }
  run.starting += 1
  call.startSentAt = Date.now()
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        await api.startCall({ callId: call.callId, requestId })
        break
      } catch (error) {
        run.error('POST /calls', error)
        // As a plugin would: an answer that never came (or a 5xx) is retried with the same callId, which the API
        // makes safe; a refusal (4xx) is final.
        const status = error instanceof PlatformApiError ? error.status : 0
        if ((status !== 0 && status < 500) || attempt >= START_ATTEMPTS) throw error
        await sleep(1_000)
      }
    }
    call.startAnsweredAt = Date.now()
    run.active += 1
  } catch (error) {
    call.failure = `start: ${(error as Error).message}`
    return
  } finally {
    run.starting -= 1
  }

  try {
    // Accepted: the member confirms on their page that the call is connected, and it starts then.
    call.connectSentAt = Date.now()
    if (!(await members.confirm(call.memberId, call.callId))) throw new Error('the call was not waiting for the member')
    call.connectAnsweredAt = Date.now()
  } catch (error) {
    run.error('member confirmation (confirmConnected)', error)
    call.failure = `connect: ${(error as Error).message}`
    return
  }

  try {
    // The plugin shows the call's clock from the platform's start time (once started); the call ends by that clock.
    let view = await api.getCall(call.callId)
    for (let tries = 0; view.status === 'connecting' && tries < 200; tries++) {
      await sleep(50)
      view = await api.getCall(call.callId)
    }
    call.serverStartedAt = Date.parse(view.startedAt)
  } catch (error) {
    run.error('GET /calls/:callId', error)
    call.serverStartedAt = call.startSentAt
  }
  call.plannedEndAt = call.serverStartedAt + (call.plannedPeriods - 1 + call.fraction) * options.periodMs

  // Heartbeats at a random phase, as independent plugins would send them, not in lock-step.
  let nextBeat = Date.now() + Math.random() * options.heartbeatMs
  while (Date.now() < call.plannedEndAt && !call.endedByPlatform) {
    const wait = Math.min(nextBeat, call.plannedEndAt) - Date.now()
    // The event stream can tell the plugin to hang up at any moment, not only at its next heartbeat.
    await Promise.race([sleep(wait), call.hungUp])
    if (Date.now() >= call.plannedEndAt || call.endedByPlatform) break
    nextBeat += options.heartbeatMs
    try {
      await api.heartbeat(call.callId)
      call.heartbeats += 1
    } catch (error) {
      run.error('POST /calls/:callId/heartbeat', error)
      if (isCallEnded(error)) {
        call.toldToHangUpAt ??= Date.now()
        call.endedByPlatform = true
      }
    }
  }

  call.endSentAt = Date.now()
  for (;;) {
    try {
      const answer = await api.endCall(call.callId, 'operator_hangup')
      call.endFirstAnswerAt ??= Date.now()
      if (answer.status === 'settled') {
        call.settledAnswerAt = Date.now()
        call.settlement = answer
        break
      }
      // 202: settlement took longer than the server waits. Asking again is safe and returns the same settlement.
      call.answered202 = true
    } catch (error) {
      run.error('POST /calls/:callId/end', error)
      const status = error instanceof PlatformApiError ? error.status : 0
      if ((status !== 0 && status < 500) || Date.now() - call.endSentAt > END_PATIENCE_MS) {
        call.failure = `end: ${(error as Error).message}`
        break
      }
    }
    if (Date.now() - call.endSentAt > END_PATIENCE_MS) {
      call.failure = `end: not settled within ${END_PATIENCE_MS / 1000} s`
      break
    }
    await sleep(250)
  }
  run.active -= 1
  if (call.settlement) run.settled += 1
}

// ---------------------------------------------------------------------------------------------------------------
// Reading the ledger afterwards

interface HoldLag {
  call: number
  period: number
  /** When the period began, ms after the first call start was sent. */
  boundaryAtMs: number
  /** Hold committed − period start: negative when the hold was in place before its period began. */
  lagMs: number
  /** Hold committed − when the workflow set out to make it (holdAheadMs before the period): the stack's lateness. */
  latenessMs: number
}

interface CallRow {
  id: string
  status: string
  started_at: Date
  ended_at: Date | null
  settled_at: Date | null
  period_ms: number
  grace_ms: number
  rate_per_minute_cents: number
  held_periods: number
  billed_minutes: number | null
  charged_cents: bigint | null
  commission_cents: bigint | null
  company_share_cents: bigint | null
  operator_earnings_cents: bigint | null
  end_reason: string | null
}

interface ChargeCheck {
  callId: string
  problem: string
}

/**
 * The money rules, restated here rather than imported, so a mistake in workflows/billing.ts cannot hide itself
 * (DESIGN.md, rules 2 and 3): each started period is charged in full; a call no longer than the grace time costs
 * nothing; and no call is charged more periods than its member's money covered (each member here has one call, and
 * the benchmark knows what it put in the wallet). The cap only bites when the platform ran so late that a call
 * outlived its funding.
 */
function expectedCharge(elapsedMs: number, periodMs: number, graceMs: number, rate: number, fundedCents: number) {
  const started = elapsedMs <= graceMs ? 0 : Math.ceil(elapsedMs / periodMs)
  const periods = Math.min(started, Math.floor(fundedCents / rate))
  return { periods, cents: periods * rate, capped: periods < started }
}

async function readLedger(db: Db, calls: CallRecord[], options: Options, stack: BenchStack, runStartMs: number, runTag: string) {
  const ids = calls.map((call) => call.callId)
  // When each top-up committed, by the database's clock (the client learns of it later, and under load much later).
  const topUpIds = calls.map((call) => topUpTransferId(runTag, call))
  const topUpRows = await db.$queryRaw<{ id: string; created_at: Date }[]>`SELECT id, created_at FROM transfers WHERE id = ANY(${topUpIds}::text[])`
  const toppedUpAt = new Map(topUpRows.map((row) => [row.id, row.created_at.getTime()]))
  const byId = new Map(calls.map((call) => [call.callId, call]))
  const holds = await db.$queryRaw<{ id: string; call_id: string; created_at: Date; started_at: Date; period_ms: number }[]>`
    SELECT t.id, t.call_id::text AS call_id, t.created_at, c.started_at, c.period_ms
    FROM transfers t JOIN calls c ON c.id = t.call_id
    WHERE t.code = 'call_hold' AND t.call_id = ANY(${ids}::uuid[])`
  const lags: HoldLag[] = []
  for (const hold of holds) {
    const period = Number(hold.id.slice(hold.id.lastIndexOf(':') + 1))
    const boundary = hold.started_at.getTime() + (period - 1) * hold.period_ms
    const lagMs = hold.created_at.getTime() - boundary
    lags.push({
      call: byId.get(hold.call_id)!.index,
      period,
      boundaryAtMs: boundary - runStartMs,
      lagMs,
      latenessMs: lagMs + (period >= 2 ? holdAheadMs(hold.period_ms) : 0),
    })
  }
  lags.sort((a, b) => a.boundaryAtMs - b.boundaryAtMs)

  const rows = await db.$queryRaw<CallRow[]>`
    SELECT id::text AS id, status::text AS status, started_at, ended_at, settled_at, period_ms, grace_ms, rate_per_minute_cents,
           held_periods, billed_minutes, charged_cents, commission_cents, company_share_cents, operator_earnings_cents, end_reason
    FROM calls WHERE id = ANY(${ids}::uuid[])`
  const rowById = new Map(rows.map((row) => [row.id, row]))

  const problems: ChargeCheck[] = []
  let billedAsPlanned = 0
  let cappedByFunds = 0
  const cutoffLag: number[] = []
  const topUpCleared: number[] = []
  let settledCount = 0
  const endReasons: Record<string, number> = {}
  let chargedTotal = 0
  const settleCommit: number[] = []
  const endReceipt: number[] = []
  for (const call of calls) {
    const row = rowById.get(call.callId)
    if (!row) {
      if (call.startAnsweredAt !== undefined) problems.push({ callId: call.callId, problem: 'started through the API but no call row exists' })
      continue
    }
    if (row.status !== 'settled' || !row.ended_at) {
      problems.push({ callId: call.callId, problem: `not settled (status ${row.status})` })
      continue
    }
    settledCount += 1
    if (row.period_ms !== options.periodMs || row.grace_ms !== options.graceMs) {
      problems.push({
        callId: call.callId,
        problem: `billed with period ${row.period_ms} ms and grace ${row.grace_ms} ms, not the ${options.periodMs} ms / ${options.graceMs} ms asked for`,
      })
    }
    const startedMs = row.started_at.getTime()
    const endedMs = row.ended_at.getTime()
    // A top-up counts towards what the call could be charged once it committed before the call ended.
    const toppedUp = toppedUpAt.get(topUpTransferId(runTag, call))
    const funded = call.fundedCents + (toppedUp !== undefined && toppedUp <= endedMs ? call.operator.ratePerMinuteCents * TOP_UP_PERIODS : 0)
    const expected = expectedCharge(endedMs - startedMs, row.period_ms, row.grace_ms, row.rate_per_minute_cents, funded)
    if (expected.capped && call.kind === 'normal') cappedByFunds += 1
    const charged = Number(row.charged_cents ?? -1)
    chargedTotal += Math.max(0, charged)
    if (charged !== expected.cents || row.billed_minutes !== expected.periods) {
      problems.push({
        callId: call.callId,
        problem: `charged ${charged} cents for ${row.billed_minutes} periods; ${endedMs - startedMs} ms at ${row.rate_per_minute_cents}/period makes ${expected.cents} for ${expected.periods}`,
      })
    }
    const split = Number(row.commission_cents) + Number(row.company_share_cents) + Number(row.operator_earnings_cents)
    if (split !== charged) problems.push({ callId: call.callId, problem: `split ${split} ≠ charge ${charged}` })
    if (call.settlement && (call.settlement.chargedCents !== charged || call.settlement.billedMinutes !== row.billed_minutes)) {
      problems.push({ callId: call.callId, problem: `the API answered ${call.settlement.chargedCents} cents, the ledger holds ${charged}` })
    }
    if (call.settledEventCents !== undefined && call.settledEventCents !== charged) {
      problems.push({ callId: call.callId, problem: `the call.settled event said ${call.settledEventCents} cents, the ledger holds ${charged}` })
    }
    if (expected.periods === call.plannedPeriods) billedAsPlanned += 1
    if (toppedUp !== undefined && call.lowBalanceClearedAt !== undefined) topUpCleared.push(call.lowBalanceClearedAt - toppedUp)
    endReasons[row.end_reason ?? 'none'] = (endReasons[row.end_reason ?? 'none'] ?? 0) + 1
    if (row.end_reason === 'funds_exhausted') {
      // The platform cut the call off at the boundary whose hold the wallet could not cover.
      const boundary = startedMs + Math.floor(funded / row.rate_per_minute_cents) * row.period_ms
      if (endedMs !== boundary) problems.push({ callId: call.callId, problem: `cut off at ${endedMs - startedMs} ms, not at the unfunded boundary ${boundary - startedMs} ms` })
      // Cut-off lag: from the moment the wallet ran out (the boundary it could not pay) to the plugin being told.
      if (call.toldToHangUpAt !== undefined) cutoffLag.push(call.toldToHangUpAt - boundary)
      else problems.push({ callId: call.callId, problem: 'cut off for funds, but the plugin was never told to hang up' })
    }
    // On one machine the client's clock is the platform's: a call the plugin ended was billed up to a moment inside
    // the end request, and began inside the member's confirmation that it was connected.
    if (stack.sameClock && call.connectSentAt !== undefined && call.connectAnsweredAt !== undefined) {
      if (startedMs < call.connectSentAt || startedMs > call.connectAnsweredAt) {
        problems.push({ callId: call.callId, problem: `started_at ${row.started_at.toISOString()} lies outside the member's confirmation` })
      }
      const answeredAt = call.settledAnswerAt ?? call.endFirstAnswerAt
      if (row.end_reason === 'operator_hangup' && call.endSentAt !== undefined && answeredAt !== undefined && (endedMs < call.endSentAt || endedMs > answeredAt)) {
        problems.push({ callId: call.callId, problem: `ended_at ${row.ended_at.toISOString()} lies outside the end request` })
      }
    }
    if (call.endSentAt !== undefined && row.end_reason === 'operator_hangup') {
      endReceipt.push(endedMs - call.endSentAt)
      if (row.settled_at) settleCommit.push(row.settled_at.getTime() - endedMs)
    }
  }
  return { lags, problems, billedAsPlanned, cappedByFunds, endReasons, settledCount, chargedTotal, settleCommit, endReceipt, cutoffLag, topUpCleared }
}

// ---------------------------------------------------------------------------------------------------------------
// Progress and resources

interface ProgressSample {
  /** Seconds since the calls began. */
  t: number
  starting: number
  active: number
  settled: number
  periodsHeld: number
  /** PostgreSQL backends of this database inside a statement or a transaction, and how many of them wait on a lock. */
  pgBusy: number
  pgLockWaits: number
}

/**
 * A line per second on stderr, and the same figures kept for the report. Each second it also asks PostgreSQL what
 * the database's backends are doing: summed over the run, "backend-seconds" per wait show where the ledger's time
 * goes (lock queues, the client's round trips inside open transactions, I/O) without a profiler.
 */
function startProgress(db: Db, calls: CallRecord[], run: Run, periodsPlanned: number) {
  const ids = calls.map((call) => call.callId)
  const samples: ProgressSample[] = []
  const waits: Record<string, number> = {}
  const began = Date.now()
  let stopped = false
  let querying = false
  const timer = setInterval(() => {
    if (querying || stopped) return
    querying = true
    Promise.all([
      db.$queryRaw<{ held: bigint }[]>`SELECT count(*) AS held FROM transfers WHERE code = 'call_hold' AND call_id = ANY(${ids}::uuid[])`,
      // The lock a waiting backend asked for names the table it queues on (none for a wait on another transaction).
      db.$queryRaw<{ state: string; type: string; event: string; relation: string; query: string; n: number }[]>`
        SELECT a.state, coalesce(a.wait_event_type, 'CPU') AS type, coalesce(a.wait_event, 'running') AS event,
               coalesce(min(l.relation::regclass::text), '') AS relation,
               CASE WHEN a.state = 'idle in transaction' THEN left(regexp_replace(a.query, '[[:space:]]+', ' ', 'g'), 60) ELSE '' END AS query,
               count(DISTINCT a.pid)::int AS n
        FROM pg_stat_activity a LEFT JOIN pg_locks l ON l.pid = a.pid AND NOT l.granted
        WHERE a.datname = current_database() AND a.pid <> pg_backend_pid() AND a.state IN ('active', 'idle in transaction')
        GROUP BY a.state, 2, 3, l.relation, 5`,
    ])
      .then(([heldRows, activity]) => {
        let busy = 0
        let lockWaits = 0
        for (const row of activity) {
          busy += row.n
          if (row.type === 'Lock') lockWaits += row.n
          // A backend idle in a transaction is waiting for its client's next statement: the application's time.
          const key =
            row.state === 'idle in transaction'
              ? `idle in transaction (waiting for the client) after "${row.query}"`
              : `${row.type}: ${row.event}${row.relation ? ` on ${row.relation}` : ''}`
          waits[key] = (waits[key] ?? 0) + row.n
        }
        const sample: ProgressSample = {
          t: Math.round((Date.now() - began) / 100) / 10,
          starting: run.starting,
          active: run.active,
          settled: run.settled,
          periodsHeld: Number(heldRows[0]?.held ?? 0),
          pgBusy: busy,
          pgLockWaits: lockWaits,
        }
        samples.push(sample)
        const elapsed = ((Date.now() - run.startedAt) / 1000).toFixed(0).padStart(4)
        log(
          `[${elapsed}s] ${run.phase.padEnd(9)} starting ${String(sample.starting).padStart(5)} · active ${String(sample.active).padStart(5)}/${calls.length}` +
            ` · periods held ${String(sample.periodsHeld).padStart(6)} (of ~${periodsPlanned})` +
            ` · settled ${String(sample.settled).padStart(5)} · errors ${run.errorCount}` +
            ` · db busy ${String(busy).padStart(3)}, on locks ${String(lockWaits).padStart(3)}`,
        )
      })
      .catch(() => undefined)
      .finally(() => {
        querying = false
      })
  }, 1_000)
  return () => {
    stopped = true
    clearInterval(timer)
    return { samples, waits }
  }
}

interface ResourceUse {
  wallSeconds: number
  benchProcess: { cpuSeconds: number; cpuPercentOfOneCore: number; rssMiB: number; eventLoopDelayMs: Summary }
  processes: Array<{ name: string; pid: number; cpuSeconds: number | null; cpuPercentOfOneCore: number | null; rssMiB: number | null }>
  machineCpuPercent: number | null
}

const LOOP_RESOLUTION_MS = 10

function startResourceMeter(stack: BenchStack) {
  const wallStart = performance.now()
  const cpuStart = process.cpuUsage()
  const machineStart = machineCpuTicks()
  const others = stack.processes.map((p) => ({ ...p, cpuStart: processCpuMs(p.pid) }))
  const loop = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS })
  loop.enable()
  return (): ResourceUse => {
    loop.disable()
    const wallMs = performance.now() - wallStart
    const cpu = process.cpuUsage(cpuStart)
    const cpuMs = (cpu.user + cpu.system) / 1000
    const machineEnd = machineCpuTicks()
    // The histogram records whole timer intervals: the delay is what exceeds the sampling resolution.
    const toMs = (ns: number) => Math.max(0, ns / 1e6 - LOOP_RESOLUTION_MS)
    return {
      wallSeconds: Math.round(wallMs / 100) / 10,
      benchProcess: {
        cpuSeconds: Math.round(cpuMs / 100) / 10,
        cpuPercentOfOneCore: Math.round((cpuMs / wallMs) * 100),
        rssMiB: Math.round(process.memoryUsage().rss / 2 ** 20),
        eventLoopDelayMs: {
          count: loop.count,
          min: toMs(loop.min),
          mean: toMs(loop.mean),
          p50: toMs(loop.percentile(50)),
          p95: toMs(loop.percentile(95)),
          p99: toMs(loop.percentile(99)),
          max: toMs(loop.max),
        },
      },
      processes: others.map((p) => {
        const end = processCpuMs(p.pid)
        const used = end !== undefined && p.cpuStart !== undefined ? end - p.cpuStart : null
        return {
          name: p.name,
          pid: p.pid,
          cpuSeconds: used === null ? null : Math.round(used / 100) / 10,
          cpuPercentOfOneCore: used === null ? null : Math.round((used / wallMs) * 100),
          rssMiB: processRssMiB(p.pid) ?? null,
        }
      }),
      machineCpuPercent:
        machineStart && machineEnd && machineEnd.total > machineStart.total
          ? Math.round(((machineEnd.busy - machineStart.busy) / (machineEnd.total - machineStart.total)) * 100)
          : null,
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The report

interface Results {
  benchmark: 'calls'
  command: string
  machine: MachineFacts
  stack: BenchStack['description']
  options: Omit<Options, 'jsonPath' | 'keep'>
  outcome: { ok: boolean; reasons: string[] }
  calls: {
    requested: number
    started: number
    settled: number
    answered202: number
    endedByPlatform: number
    billedAsPlanned: number
    /** Calls that outlived their member's funding because the platform ran late. */
    cappedByFunds: number
    endReasons: Record<string, number>
    chargedTotalCents: number
    heartbeatsSent: number
    settledEventsReceived: number
    kinds: Record<CallKind, number>
  }
  figures: {
    boundaryLagMs: Summary
    /** Periods 2…: hold committed − when the workflow set out to make it (the period start less holdAheadMs). */
    holdLatenessMs: Summary
    firstHoldLagMs: Summary
    startLatencyMs: Summary
    settleLatencyMs: Summary
    settledEventLatencyMs: Summary
    endReceiptMs: Summary
    settleCommitMs: Summary
    /** From the boundary the wallet could not pay to the plugin being told to hang up (event or 410). */
    cutoffLagMs: Summary
    /** From a top-up's commit to the call.low_balance_cleared event on the operator's stream. */
    topUpClearedMs: Summary
    apiLatencyMs: Record<string, Summary>
  }
  /** Most calls running at once, and the hold lag by how many were running when each period began. */
  concurrency: { maxActive: number; byLoad: RampBucket[]; lagGrowsFrom: number | null }
  /** met is null when the run measured nothing for the target (no call was cut off, say). */
  targets: Array<{ target: string; limitMs: number; measuredMs: number; met: boolean | null }>
  ceilings: { ledger: LedgerCeiling | null; temporal: TemporalCeiling | null; error?: string }
  /** Workflow tasks, timers and events per billing period, from a sample of settled calls' histories. */
  historyCost: HistoryCost | null
  plot: string | null
  /** Where the worker's and the web's CPU went (with --cpu-prof). */
  profiles: Array<ProfileSummary & { process: string }>
  requestsPerSecond: number
  /** Period holds committed per second: what the ledger sustained, against what the calls needed (calls / period). */
  holdThroughput: { neededPerSecond: number; meanPerSecond: number; peakPerSecond5s: number | null }
  errors: ErrorTally
  /** Calls the plugin side gave up on (no start, no settlement), with the last error it saw. */
  callFailures: Array<{ callId: string; failure: string }>
  chargeProblems: ChargeCheck[]
  ledgerCheck: LedgerCheckResult
  resources: ResourceUse & { postgresBackends: BackendUse }
  /** The in-process worker's warnings by kind (slow workflow tasks, retried activities), with counts. */
  workerWarnings: Record<string, number>
  /** Backend-seconds per PostgreSQL wait (sampled once a second while calls ran), most first. */
  databaseWaits: Record<string, number>
  progress: ProgressSample[]
  /** [call index, period, boundary ms after the run began, lag ms], for plotting lag over time. */
  holdLags: Array<[number, number, number, number]>
  durationsMs: { prepare: number; calls: number; total: number }
}

function row(name: string, s: Summary): string {
  return `| ${name} | ${s.count} | ${ms(s.p50)} | ${ms(s.p95)} | ${ms(s.p99)} | ${ms(s.max)} |`
}

function markdown(r: Results): string {
  const m = r.machine
  const f = r.figures
  const o = r.options
  const lines = [
    `## Calls benchmark: ${o.calls} call${o.calls === 1 ? '' : 's'} (${o.operators} at once), ${o.periodMs} ms periods, ${periodsText(o as Options)} periods each`,
    '',
    `- Command: \`${r.command}\``,
    `- Mix: ${r.calls.kinds.normal} calls funded past their end, ${r.calls.kinds.cutoff} that run out of money, ${r.calls.kinds.topup} whose member tops up when warned; ` +
      `${o.rampS > 0 ? `starts spread over ${o.rampS} s` : 'all started at the same instant'}; heartbeat every ${o.heartbeatMs} ms.`,
    `- Machine: ${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.os}, Node ${m.node}; load average ${m.loadAverageAtStart} at start`,
    `- Date: ${m.date}; commit ${m.gitCommit ?? 'unknown'}${m.gitDirty ? ' (with uncommitted changes)' : ''}`,
    `- Stack: ${r.stack.summary}`,
    `- Outcome: ${r.outcome.ok ? '**pass**' : `**FAIL**: ${r.outcome.reasons.join('; ')}`}`,
    '',
    `| measure (ms) | n | p50 | p95 | p99 | max |`,
    `| --- | ---: | ---: | ---: | ---: | ---: |`,
    row('period-boundary lag (periods 2…): hold created − period start (negative: held ahead)', f.boundaryLagMs),
    row('…hold created − when the workflow set out to make it (period start − hold-ahead time)', f.holdLatenessMs),
    row('first hold after the call started (period 1)', f.firstHoldLagMs),
    row('call start (POST /calls → 201)', f.startLatencyMs),
    row('settle latency (end request → settled answer)', f.settleLatencyMs),
    row('end request → call.settled event on the stream', f.settledEventLatencyMs),
    row('…of which: end request sent → received by the web', f.endReceiptMs),
    row('…of which: received → settlement committed', f.settleCommitMs),
    row('cut-off lag (wallet ran out → plugin told to hang up)', f.cutoffLagMs),
    row('top-up committed → call.low_balance_cleared on the stream', f.topUpClearedMs),
    '',
    `| target (issue 7) | limit | measured | met |`,
    `| --- | ---: | ---: | --- |`,
    ...r.targets.map((t) => `| ${t.target} | ${t.limitMs} ms | ${ms(t.measuredMs)} ms | ${t.met === null ? 'not measured' : t.met ? 'yes' : '**no**'} |`),
    '',
    `Concurrent calls sustained: ${r.concurrency.maxActive} at most; ` +
      (r.concurrency.lagGrowsFrom === null
        ? `boundary lag p99 stayed under ${TARGETS.boundaryLagP99Ms} ms at every load level reached.`
        : `boundary lag p99 first exceeds ${TARGETS.boundaryLagP99Ms} ms with about ${r.concurrency.lagGrowsFrom} calls running.`),
    '',
    `| calls running when the period began | holds | lag p50 | p99 | max |`,
    `| --- | ---: | ---: | ---: | ---: |`,
    ...r.concurrency.byLoad.map((b) => `| ${b.from}–${b.to} | ${b.lag.count} | ${ms(b.lag.p50)} | ${ms(b.lag.p99)} | ${ms(b.lag.max)} |`),
    '',
    ...(r.plot ? [`![hold lag over time](${r.plot})`, ''] : []),
    `| plugin API endpoint (ms) | n | p50 | p95 | p99 | max |`,
    `| --- | ---: | ---: | ---: | ---: | ---: |`,
    ...Object.entries(f.apiLatencyMs).map(([name, s]) => row(`\`${name}\``, s)),
    '',
    `- Calls: ${r.calls.started}/${r.calls.requested} started, ${r.calls.settled} settled, ${r.calls.billedAsPlanned} billed the planned ${o.periods} periods` +
      (r.calls.cappedByFunds ? ` (${r.calls.cappedByFunds} ran so late they outlived their funding)` : '') +
      `, ${r.calls.answered202} answered 202 first; end reasons ${Object.entries(r.calls.endReasons).map(([k, n]) => `${k} ${n}`).join(', ')}; ${r.calls.settledEventsReceived} call.settled events received;` +
      ` ${r.calls.heartbeatsSent} heartbeats; ${Math.round(r.requestsPerSecond)} API requests/s while calls ran.`,
    `- Ledger throughput: ${r.holdThroughput.meanPerSecond} period holds/s on average` +
      (r.holdThroughput.peakPerSecond5s === null ? '' : `, ${r.holdThroughput.peakPerSecond5s}/s at best over 5 s`) +
      `; ${o.operators} concurrent call${o.operators === 1 ? '' : 's'} on ${o.periodMs} ms periods need ${r.holdThroughput.neededPerSecond}/s.`,
    `- Charges: ${r.chargeProblems.length === 0 ? `every call's charge equals the independent recomputation (${r.calls.chargedTotalCents} cents in all)` : `${r.chargeProblems.length} problems, e.g. ${r.chargeProblems[0]!.problem}`}.`,
    `- Ledger check: ${r.ledgerCheck.ok ? 'ok' : `**${r.ledgerCheck.violations.length} violations**`} (${r.ledgerCheck.accounts} accounts, ${r.ledgerCheck.transfers} transfers, ${r.ledgerCheck.settledCalls} settled calls).`,
    `- Errors: ${Object.keys(r.errors).length === 0 ? 'none' : Object.entries(r.errors).map(([k, n]) => `${k} ×${n}`).join('; ')}.`,
    `- Resources over the calls phase (${r.resources.wallSeconds} s): bench process (${r.stack.inProcess ? 'client, web and worker' : 'client only'}) ${r.resources.benchProcess.cpuSeconds} s CPU` +
      ` (${r.resources.benchProcess.cpuPercentOfOneCore}% of one core), ${r.resources.benchProcess.rssMiB} MiB; its event-loop delay p50 ${ms(r.resources.benchProcess.eventLoopDelayMs.p50)} ms,` +
      ` p99 ${ms(r.resources.benchProcess.eventLoopDelayMs.p99)} ms, max ${ms(r.resources.benchProcess.eventLoopDelayMs.max)} ms` +
      r.resources.processes.map((p) => `; ${p.name} ${p.cpuSeconds ?? '?'} s CPU (${p.cpuPercentOfOneCore ?? '?'}%), ${p.rssMiB ?? '?'} MiB`).join('') +
      (r.resources.machineCpuPercent === null ? '' : `; whole machine ${r.resources.machineCpuPercent}% busy`) +
      '.',
    `- Where PostgreSQL's backends spent the calls phase (backend-seconds, sampled each second): ${
      Object.entries(r.databaseWaits).slice(0, 5).map(([k, n]) => `${k} ${n}`).join('; ') || 'nothing sampled'
    }.`,
    `- Worker warnings: ${
      Object.entries(r.workerWarnings).slice(0, 6).map(([k, n]) => `${k} ×${n}`).join('; ') || (r.stack.inProcess || r.stack.summary.includes('processes of their own') ? 'none' : 'not seen (the worker runs elsewhere)')
    }.`,
    `- PostgreSQL backends of the benchmark's database: ${r.resources.postgresBackends.cpuSeconds ?? '?'} s CPU (${r.resources.postgresBackends.cpuPercentOfOneCore ?? '?'}% of one core) over ${r.resources.postgresBackends.backends} connections.`,
    `- Workflow cost per period${r.historyCost ? ` (histories of ${r.historyCost.calls} settled calls, ${r.historyCost.periods} periods)` : ''}: ${
      r.historyCost
        ? `each timer-driven boundary costs ${r.historyCost.perBoundary.workflowTasks} workflow tasks and ${r.historyCost.perBoundary.events} history events; ` +
          `per call ${r.historyCost.perCall.workflowTasks} tasks, ${r.historyCost.perCall.timers} timers, ${r.historyCost.perCall.markers} local-activity markers and ${r.historyCost.perCall.events} events in all ` +
          `(${r.historyCost.periods} periods held); ${r.historyCost.failedOrTimedOutTasks} tasks failed or timed out`
        : 'not counted'
    }.`,
    `- Ceilings of this machine, measured in the same run: ${ceilingText(r)}.`,
    ...r.profiles.map((p) => `- CPU profile of the ${p.process} (${p.seconds} s): ${p.shares.map((s) => `${s.where} ${s.percent}%`).join(', ')}.`),
    `- Durations: preparing ${Math.round(r.durationsMs.prepare / 1000)} s, calls ${Math.round(r.durationsMs.calls / 1000)} s, total ${Math.round(r.durationsMs.total / 1000)} s.`,
  ]
  return lines.join('\n')
}

function ceilingText(r: Results): string {
  const { ledger, temporal, error } = r.ceilings
  const parts: string[] = []
  if (ledger) {
    parts.push(
      `the hold statement straight against PostgreSQL from ${ledger.clients} connections: ${ledger.holdsPerSecond} holds/s (p50 ${ms(ledger.latencyMs.p50)} ms, p99 ${ms(ledger.latencyMs.p99)} ms); ` +
        `the stack's ${r.holdThroughput.peakPerSecond5s ?? r.holdThroughput.meanPerSecond} holds/s at best is ${pct(r.holdThroughput.peakPerSecond5s ?? r.holdThroughput.meanPerSecond, ledger.holdsPerSecond)} of it`,
    )
  }
  if (temporal) {
    parts.push(
      `a bare Temporal workflow (one timer, one no-op local activity per period; ${temporal.workflows} × ${temporal.periodsEach}) on the same server and worker settings: ` +
        `${temporal.periodsPerSecond} periods/s; the stack's best is ${pct(r.holdThroughput.peakPerSecond5s ?? r.holdThroughput.meanPerSecond, temporal.periodsPerSecond)} of it, ` +
        `and ${r.options.operators} calls on ${r.options.periodMs} ms periods need ${pct(r.holdThroughput.neededPerSecond, temporal.periodsPerSecond)} of it`,
    )
  }
  if (error) parts.push(`not measured: ${error}`)
  return parts.join('; ') || 'skipped (--no-ceilings)'
}

function target(name: string, limitMs: number, measured: Summary): Results['targets'][number] {
  return { target: name, limitMs, measuredMs: measured.p99, met: measured.count === 0 ? null : measured.p99 < limitMs }
}

const pct = (part: number, whole: number) => (whole > 0 ? `${Math.round((part / whole) * 100)}%` : '–')

interface RampBucket {
  from: number
  to: number
  lag: Summary
}

/**
 * How lag depends on load: each hold of periods 2… is put in the bucket of how many calls were running when its period
 * began (from the progress samples), so a ramp shows the load at which lag starts to grow.
 */
function lagByLoad(lags: HoldLag[], samples: ProgressSample[], buckets = 8): RampBucket[] {
  const maxActive = Math.max(1, ...samples.map((s) => s.active))
  const width = Math.max(1, Math.ceil(maxActive / buckets))
  const activeAt = (ms: number) => {
    const t = ms / 1000
    let active = samples[0]?.active ?? 0
    for (const s of samples) {
      if (s.t > t) break
      active = s.active
    }
    return active
  }
  const grouped = new Map<number, number[]>()
  for (const lag of lags) {
    if (lag.period < 2) continue
    const b = Math.min(buckets - 1, Math.floor(activeAt(lag.boundaryAtMs) / width))
    let list = grouped.get(b)
    if (!list) grouped.set(b, (list = []))
    list.push(lag.lagMs)
  }
  return [...grouped.entries()].sort((a, b) => a[0] - b[0]).map(([b, values]) => ({ from: b * width, to: (b + 1) * width, lag: summarize(values) }))
}

// ---------------------------------------------------------------------------------------------------------------

async function runBenchmark(options: Options, argv: string[]): Promise<number> {
  const machine = machineFacts()
  const runTag = randomUUID().slice(0, 8)
  const billing: BillingOverrides = {
    periodMs: options.periodMs,
    graceMs: options.graceMs,
    heartbeatTimeoutMs: options.heartbeatTimeoutMs,
  }
  const t0 = performance.now()
  const profileDir = options.cpuProf ? path.join(repoRoot, 'bench/results', `profile-${machine.date.replace(/[:.]/g, '-')}`) : null
  if (profileDir) await mkdir(profileDir, { recursive: true })
  const stack = options.target
    ? await connectTargetStack({ webUrl: options.target, databaseUrl: options.databaseUrl!, log })
    : await (await import('./support/local-stack.js')).startLocalStack({
        billing,
        runTag,
        log,
        inProcess: options.inProcess,
        temporal: options.temporal,
        ...(profileDir ? { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] } : {}),
      })
  let stopStack = true
  try {
    const run = new Run()
    const db = stack.db
    const { operators, calls } = await createParticipants(db, stack, options, run, runTag)

    const streams = new AbortController()
    // Every operator's stream listens on this one signal; hundreds of listeners are intended, not a leak.
    setMaxListeners(0, streams.signal)
    const byCallId = new Map(calls.map((call) => [call.callId, call]))
    const topUps: Array<Promise<void>> = []
    const onMessage = (message: ServerSentMessage) => {
      const now = Date.now()
      if (isEvent(message, 'call.settled')) {
        const call = byCallId.get(message.data.callId)
        if (call && call.settledEventAt === undefined) {
          call.settledEventAt = now
          call.settledEventCents = message.data.chargedCents
        }
      } else if (isEvent(message, 'call.ending')) {
        // The platform ended the call (its money ran out): the plugin hangs up now.
        const call = byCallId.get(message.data.callId)
        if (call) {
          call.toldToHangUpAt ??= now
          call.endedByPlatform = true
          call.hangUp()
        }
      } else if (isEvent(message, 'call.low_balance')) {
        const call = byCallId.get(message.data.callId)
        if (call && call.lowBalanceAt === undefined) {
          call.lowBalanceAt = now
          if (call.kind === 'topup') topUps.push(topUp(db, call, runTag, run))
        }
      } else if (isEvent(message, 'call.low_balance_cleared')) {
        const call = byCallId.get(message.data.callId)
        if (call) call.lowBalanceClearedAt ??= now
      }
    }
    const closeStreams = await signInOperators(operators, run, streams.signal, onMessage)
    // The plugin looks the caller up before it picks up.
    await mapLimit(calls, 32, async (call) => {
      try {
        await call.operator.api.lookupMember(call.memberHandle)
      } catch (error) {
        run.error('GET /members/lookup', error)
      }
    })
    const prepareMs = performance.now() - t0

    log(
      `starting ${options.calls} calls (${options.operators} at once${options.rampS > 0 ? `, spread over ${options.rampS} s` : ''}), ` +
        `${periodsText(options)} periods of ${options.periodMs} ms each; ${calls.filter((c) => c.kind === 'cutoff').length} run out of money, ` +
        `${calls.filter((c) => c.kind === 'topup').length} top up…`,
    )
    run.phase = 'calls'
    const plannedPeriods = calls.reduce((sum, call) => sum + call.plannedPeriods, 0)
    const stopProgress = startProgress(db, calls, run, plannedPeriods)
    const meter = startResourceMeter(stack)
    const backendMeter = startBackendMeter(db)
    const callsStartedAt = Date.now()
    const apiBefore = countRequests(run)
    // Each operator takes its calls in turn; with as many operators as calls, every call runs at once.
    const members: MembersSide = { requests: createCallRequestBatcher(db), confirm: memberConfirmation(db, stack.config ?? loadConfig()) }
    await Promise.all(
      operators.map(async (operator) => {
        for (const call of calls.filter((c) => c.operator === operator)) await driveCall(call, options, run, callsStartedAt, members)
      }),
    )
    await Promise.all(topUps)
    const callsMs = Date.now() - callsStartedAt
    const requestsPerSecond = (countRequests(run) - apiBefore) / (callsMs / 1000)
    const resources = { ...meter(), postgresBackends: await backendMeter() }

    // The settled events come through NOTIFY and the stream: give the stragglers a moment.
    run.phase = 'settling'
    const deadline = Date.now() + 10_000
    while (Date.now() < deadline && calls.some((c) => c.settlement && c.settledEventAt === undefined)) await sleep(100)
    const progress = stopProgress()
    streams.abort()
    await closeStreams()
    await mapLimit(operators, 16, async (operator) => {
      try {
        await operator.api.presence('offline')
        await operator.api.logout()
      } catch (error) {
        run.error('sign-out', error)
      }
    })

    log('reading the ledger…')
    const ledger = await readLedger(db, calls, options, stack, callsStartedAt, runTag)
    const ledgerCheck = await checkLedger(db)
    const settledIds = new Set(calls.filter((c) => c.settlement !== undefined).map((c) => c.callId))
    let history: HistoryCost | null = null
    if (stack.temporal && options.historySample > 0) {
      const heldByCall = new Map<string, number>()
      for (const lag of ledger.lags) heldByCall.set(calls[lag.call]!.callId, (heldByCall.get(calls[lag.call]!.callId) ?? 0) + 1)
      const sample = calls.filter((c) => settledIds.has(c.callId) && (heldByCall.get(c.callId) ?? 0) > 0).slice(0, options.historySample)
      history = await historyCost({
        address: stack.temporal.address,
        namespace: stack.temporal.namespace,
        calls: sample.map((c) => ({ callId: c.callId, periods: heldByCall.get(c.callId)! })),
      }).catch((error: unknown) => {
        log(`could not count the workflow histories: ${(error as Error).message}`)
        return null
      })
    }
    const ceilings: Results['ceilings'] = { ledger: null, temporal: null }
    if (options.ceilings && stack.temporal && stack.config) {
      run.phase = 'ceilings'
      try {
        ceilings.ledger = await measureLedgerCeiling({
          databaseUrl: stack.databaseUrl,
          // The worker's pool size (prisma/client.ts): as many connections as the charge path has.
          clients: 20,
          seconds: options.ceilingSeconds,
          log,
        })
        ceilings.temporal = await measureTemporalCeiling({
          address: stack.temporal.address,
          namespace: stack.temporal.namespace,
          config: stack.config,
          workflows: options.ceilingWorkflows,
          periodsEach: options.ceilingPeriods,
          runTag,
          log,
        })
      } catch (error) {
        ceilings.error = (error as Error).message
        log(`ceilings: ${ceilings.error}`)
      }
    } else if (options.ceilings) {
      ceilings.error = 'only measured on a stack the benchmark starts (not with --target)'
    }
    const boundaryLag = summarize(ledger.lags.filter((l) => l.period >= 2).map((l) => l.lagMs))
    const cutoffLag = summarize(ledger.cutoffLag)
    const settleLatency = summarize(calls.filter((c) => c.settlement !== undefined).map((c) => c.settledAnswerAt! - c.endSentAt!))
    const byLoad = lagByLoad(ledger.lags, progress.samples)

    const started = calls.filter((c) => c.startAnsweredAt !== undefined)
    const settled = calls.filter((c) => c.settlement !== undefined)
    const reasons: string[] = []
    if (!ledgerCheck.ok) reasons.push(`the ledger check found ${ledgerCheck.violations.length} violations`)
    if (ledger.problems.length > 0) reasons.push(`${ledger.problems.length} calls were charged wrong or not settled`)
    if (started.length < calls.length) reasons.push(`${calls.length - started.length} calls did not start`)
    if (settled.length < started.length) reasons.push(`${started.length - settled.length} started calls never answered settled`)

    const results: Results = {
      benchmark: 'calls',
      command: `npm run bench:calls -- ${argv.join(' ')}`.trim(),
      machine,
      stack: stack.description,
      options: (({ jsonPath: _json, keep: _keep, ...rest }) => ({ ...rest, databaseUrl: rest.databaseUrl === null ? null : redact(rest.databaseUrl) }))(options),
      outcome: { ok: reasons.length === 0, reasons },
      calls: {
        requested: calls.length,
        started: started.length,
        settled: settled.length,
        answered202: calls.filter((c) => c.answered202).length,
        endedByPlatform: calls.filter((c) => c.endedByPlatform).length,
        billedAsPlanned: ledger.billedAsPlanned,
        cappedByFunds: ledger.cappedByFunds,
        endReasons: ledger.endReasons,
        chargedTotalCents: ledger.chargedTotal,
        heartbeatsSent: calls.reduce((sum, c) => sum + c.heartbeats, 0),
        settledEventsReceived: calls.filter((c) => c.settledEventAt !== undefined).length,
        kinds: {
          normal: calls.filter((c) => c.kind === 'normal').length,
          cutoff: calls.filter((c) => c.kind === 'cutoff').length,
          topup: calls.filter((c) => c.kind === 'topup').length,
        },
      },
      figures: {
        boundaryLagMs: boundaryLag,
        holdLatenessMs: summarize(ledger.lags.filter((l) => l.period >= 2).map((l) => l.latenessMs)),
        firstHoldLagMs: summarize(ledger.lags.filter((l) => l.period === 1).map((l) => l.lagMs)),
        startLatencyMs: summarize(started.map((c) => c.startAnsweredAt! - c.startSentAt!)),
        settleLatencyMs: settleLatency,
        settledEventLatencyMs: summarize(calls.filter((c) => c.settledEventAt !== undefined && c.endSentAt !== undefined).map((c) => c.settledEventAt! - c.endSentAt!)),
        endReceiptMs: summarize(ledger.endReceipt),
        settleCommitMs: summarize(ledger.settleCommit),
        cutoffLagMs: cutoffLag,
        topUpClearedMs: summarize(ledger.topUpCleared),
        apiLatencyMs: run.api.summaries(),
      },
      concurrency: {
        maxActive: Math.max(0, ...progress.samples.map((s) => s.active)),
        byLoad,
        lagGrowsFrom: byLoad.find((b) => b.lag.p99 > TARGETS.boundaryLagP99Ms)?.from ?? null,
      },
      targets: [
        target('period-boundary lag p99', TARGETS.boundaryLagP99Ms, boundaryLag),
        target('cut-off lag p99', TARGETS.cutoffLagP99Ms, cutoffLag),
        target('settle latency p99', TARGETS.settleLatencyP99Ms, settleLatency),
      ],
      ceilings,
      historyCost: history,
      plot: null,
      profiles: [],
      requestsPerSecond,
      holdThroughput: holdThroughput(progress.samples, options),
      errors: run.errors,
      callFailures: calls.filter((c) => c.failure).map((c) => ({ callId: c.callId, failure: c.failure! })),
      chargeProblems: ledger.problems,
      ledgerCheck,
      resources,
      workerWarnings: stack.workerWarnings(),
      databaseWaits: Object.fromEntries(Object.entries(progress.waits).sort((a, b) => b[1] - a[1])),
      progress: progress.samples,
      holdLags: ledger.lags.map((l) => [l.call, l.period, Math.round(l.boundaryAtMs), l.lagMs]),
      durationsMs: { prepare: Math.round(prepareMs), calls: callsMs, total: Math.round(performance.now() - t0) },
    }

    if (profileDir && !options.keep) {
      // The profiles are written when the processes exit.
      await stack.stop({ keepData: false })
      stopStack = false
      const names = new Map(stack.processes.map((p) => [String(p.pid), p.name]))
      for (const summary of await summarizeProfiles(profileDir, repoRoot)) {
        const pid = /\.(\d+)\.\d+\.\d+\.cpuprofile$/.exec(summary.file)?.[1] ?? ''
        results.profiles.push({ ...summary, process: names.get(pid) ?? `pid ${pid}` })
      }
    }
    const jsonPath = options.jsonPath ?? path.join(repoRoot, 'bench/results', `calls-${machine.date.replace(/[:.]/g, '-')}.json`)
    await mkdir(path.dirname(jsonPath), { recursive: true })
    try {
      const svgPath = jsonPath.replace(/\.json$/, '') + '.svg'
      const svg = await lagOverTimeSvg({
        title: `${options.calls} calls, ${options.periodMs} ms periods (${machine.date.slice(0, 16)}Z, load ${machine.loadAverageAtStart})`,
        lags: ledger.lags.map((l) => ({ t: l.boundaryAtMs / 1000, lagMs: l.lagMs, period: l.period })),
        load: progress.samples.map((s) => ({ t: s.t, active: s.active })),
        targetMs: TARGETS.boundaryLagP99Ms,
      })
      await writeFile(svgPath, svg)
      results.plot = path.relative(path.dirname(jsonPath), svgPath)
    } catch (error) {
      log(`could not draw the plot: ${(error as Error).message}`)
    }
    await writeFile(jsonPath, `${JSON.stringify(results, null, 2)}\n`)
    process.stdout.write(`${markdown(results)}\n\nResults: ${path.relative(process.cwd(), jsonPath) || jsonPath}\n`)
    for (const problem of ledger.problems.slice(0, 20)) log(`charge problem: call ${problem.callId}: ${problem.problem}`)
    for (const violation of ledgerCheck.violations.slice(0, 20)) log(`ledger violation: ${violation.invariant}: ${violation.detail}`)

    if (options.keep) {
      stopStack = false
      await keepRunning(stack)
    }
    return results.outcome.ok ? 0 : 1
  } finally {
    if (stopStack) await stack.stop({ keepData: false })
  }
}

function holdThroughput(samples: ProgressSample[], options: Options): Results['holdThroughput'] {
  // No 5-s window in a run that short: no peak to speak of.
  let peak: number | null = samples.length > 5 ? 0 : null
  for (let i = 0; i + 5 < samples.length; i++) {
    const [a, b] = [samples[i]!, samples[i + 5]!]
    peak = Math.max(peak ?? 0, (b.periodsHeld - a.periodsHeld) / (b.t - a.t))
  }
  // Mean over the span in which holds were being made, from the first sample to the one that saw the last hold.
  const last = samples.findIndex((s) => s.periodsHeld === samples[samples.length - 1]?.periodsHeld)
  const span = last > 0 ? samples[last]!.t - samples[0]!.t : 0
  const mean = span > 0 ? (samples[last]!.periodsHeld - samples[0]!.periodsHeld) / span : 0
  const round = (n: number) => Math.round(n * 10) / 10
  return { neededPerSecond: round(options.operators / (options.periodMs / 1000)), meanPerSecond: round(mean), peakPerSecond5s: peak === null ? null : round(peak) }
}

function countRequests(run: Run): number {
  return Object.values(run.api.summaries()).reduce((sum, s) => sum + s.count, 0)
}

function redact(url: string): string {
  try {
    const parsed = new URL(url)
    if (parsed.password) parsed.password = '***'
    return parsed.toString()
  } catch {
    return '(invalid URL)'
  }
}

async function keepRunning(stack: BenchStack): Promise<void> {
  log('\n--keep: the stack stays up until Ctrl-C.')
  for (const [name, where] of Object.entries(stack.description.endpoints)) log(`  ${name}: ${where}`)
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve)
    process.once('SIGTERM', resolve)
  })
  log('stopping; the database and the Temporal state file are kept:')
  const kept = await stack.stop({ keepData: true })
  for (const line of kept) log(`  ${line}`)
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2)
  let options: Options | 'help'
  try {
    options = parseOptions(argv)
  } catch (error) {
    if (error instanceof UsageError) {
      log(`bench:calls: ${error.message}\n\n${HELP}`)
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
    process.exitCode = await runBenchmark(options, argv)
  } catch (error) {
    // A set-up failure (no PostgreSQL, no Temporal CLI…) says what is missing; a stack trace would not help.
    log(`bench:calls: ${(error as Error)?.message ?? String(error)}`)
    if (process.env.BENCH_DEBUG) log(String((error as Error)?.stack))
    process.exitCode = 2
  }
}

await main()
// Whatever a library left open (a keep-alive socket, a timer), the benchmark is done.
process.exit(process.exitCode ?? 0)

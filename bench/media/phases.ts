import type { Db } from '../../prisma/client.js'
import { mapLimit, sleep } from '../support/concurrency.js'
import { summarize, type Summary } from '../support/stats.js'
import { readCalls, waitForCalls, type CallDriver, type CallRow, type MediaCall, type Pair } from './calls.js'
import { round1, startSpan, type Groups, type SpanUse } from './meter.js'
import type { ParticipantPool } from './participant-pool.js'
import type { ParticipantStats } from './protocol.js'

/** The two phases of bench/media.ts: a step of concurrent calls held for a while, and calls cut off at load. */

export const FRAMES_PER_SECOND = 50
const START_LANES = 10
const ACTIVE_WITHIN_MS = 60_000
const SETTLED_WITHIN_MS = 60_000

export interface PhaseContext {
  db: Db
  driver: CallDriver
  /** The participant processes of the phase under way: bench/media.ts starts fresh ones for every step. */
  pool: ParticipantPool
  groups: () => Groups
  log: (line: string) => void
}

export interface Running {
  calls: MediaCall[]
  failures: string[]
  /** ms from the first request to the last call active. */
  startMs: number
}

/** Starts a call per pair and waits until the platform has every one active (both parties seen in the room). */
export async function startCalls(ctx: PhaseContext, pairs: Pair[]): Promise<Running> {
  const t0 = Date.now()
  const failures: string[] = []
  const started = await mapLimit(pairs, START_LANES, async (pair) => {
    try {
      return await ctx.driver.start(pair)
    } catch (error) {
      failures.push(`start: ${(error as Error).message}`)
      return null
    }
  })
  const calls = started.filter((call): call is MediaCall => call !== null)
  const rows = await waitForCalls(ctx.db, calls.map((c) => c.callId), (row) => row.status !== 'connecting', ACTIVE_WITHIN_MS)
  for (const call of calls) {
    const row = rows.find((r) => r.id === call.callId)
    // Connected is what counts: a cut-off call may already be over (billed its period) when the slowest one connects.
    const connected = row !== undefined && (row.status === 'active' || (row.status === 'settled' && (row.billedMinutes ?? 0) > 0))
    if (!connected) {
      call.failure = `not active: ${row?.status ?? 'no row'} ${row?.endReason ?? ''}`.trim()
      failures.push(call.failure)
    }
  }
  return { calls, failures, startMs: Date.now() - t0 }
}

/** Waits until every party of these calls hears the other (or the time is up). */
async function untilHearing(pool: ParticipantPool, parties: string[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const stats = await pool.stats(parties)
    if (parties.every((id) => (stats.get(id)?.framesReceived ?? 0) > 0)) return
    await sleep(250)
  }
}

export const partiesOf = (calls: MediaCall[]) => calls.flatMap((call) => [call.operatorParty, call.memberParty])

/** Both parties of every call leave; answers the calls' settled rows. */
export async function hangUpAll(ctx: PhaseContext, calls: MediaCall[]): Promise<CallRow[]> {
  await mapLimit(calls, START_LANES, (call) => ctx.driver.hangUp(call).catch(() => undefined))
  return waitForCalls(ctx.db, calls.map((c) => c.callId), (row) => row.status === 'settled', SETTLED_WITHIN_MS)
}

export interface FrameFigures {
  parties: number
  /** Frames each party received per second over the window. */
  framesPerSecond: Summary
  /** Share of parties that received at least 95% of the 50 frames a second the other side sent. */
  shareAtLeast95: number
  /** Share of the frames received that carried the tone (not decoded silence). */
  audibleShare: number
}

export function frameFigures(before: Map<string, ParticipantStats>, after: Map<string, ParticipantStats>, parties: string[], seconds: number): FrameFigures {
  const rates: number[] = []
  let frames = 0
  let audible = 0
  for (const id of parties) {
    const a = after.get(id)
    const b = before.get(id)
    const received = (a?.framesReceived ?? 0) - (b?.framesReceived ?? 0)
    frames += received
    audible += (a?.audibleFrames ?? 0) - (b?.audibleFrames ?? 0)
    rates.push(received / seconds)
  }
  const enough = rates.filter((rate) => rate >= 0.95 * FRAMES_PER_SECOND).length
  return {
    parties: parties.length,
    framesPerSecond: summarize(rates),
    shareAtLeast95: parties.length ? enough / parties.length : 0,
    audibleShare: frames ? audible / frames : 0,
  }
}

export interface StepResult {
  calls: number
  started: number
  failures: string[]
  startMs: number
  frames: FrameFigures
  use: SpanUse
  /** The process group that used the most CPU over the window. */
  busiest: string
  passed: boolean
  why: string[]
  rows: CallRow[]
}

export interface StepRules {
  holdS: number
  /** The most of one core LiveKit may use for a step to count, in %. */
  liveKitSharePercent: number
}

/** One step of the capacity phase: `pairs.length` calls at once, held `holdS`, then hung up. */
export async function runStep(ctx: PhaseContext, pairs: Pair[], rules: StepRules): Promise<StepResult> {
  ctx.log(`step: ${pairs.length} calls…`)
  const running = await startCalls(ctx, pairs)
  const live = running.calls.filter((call) => !call.failure)
  const parties = partiesOf(live)
  await untilHearing(ctx.pool, parties, 10_000)
  // A second for every jitter buffer to settle before the window opens.
  await sleep(1_000)
  const before = await ctx.pool.stats(parties)
  const span = startSpan(ctx.groups)
  await sleep(rules.holdS * 1000)
  const use = span()
  const after = await ctx.pool.stats(parties)
  const frames = frameFigures(before, after, partiesOf(running.calls), use.seconds)
  const rows = await hangUpAll(ctx, running.calls)
  const why: string[] = []
  if (running.failures.length) why.push(`${running.failures.length} calls did not start`)
  if (frames.shareAtLeast95 < 0.99) why.push(`${Math.round(frames.shareAtLeast95 * 1000) / 10}% of parties got ≥ 95% of frames (< 99%)`)
  const liveKitCpu = use.processes['LiveKit server']?.cpuPercent ?? 0
  if (liveKitCpu > rules.liveKitSharePercent) why.push(`LiveKit used ${liveKitCpu}% of a core (> ${rules.liveKitSharePercent}%)`)
  ctx.log(
    `  ${pairs.length} calls: ${Math.round(frames.shareAtLeast95 * 1000) / 10}% of ${frames.parties} parties ≥ 95% of frames ` +
      `(p50 ${round1(frames.framesPerSecond.p50)}/s, min ${round1(frames.framesPerSecond.min)}/s); LiveKit ${liveKitCpu}% of a core, ` +
      `machine ${use.machineBusyPercent}% busy${why.length ? `; fails: ${why.join('; ')}` : ''}`,
  )
  const [busiest, busiestUse] = Object.entries(use.processes).sort((a, b) => b[1].cpuPercent - a[1].cpuPercent)[0]!
  return {
    calls: pairs.length,
    started: live.length,
    failures: running.failures,
    startMs: running.startMs,
    frames,
    use,
    busiest: `${busiest} (${Math.round(busiestUse.cpuPercent)}% of a core)`,
    passed: why.length === 0,
    why,
    rows,
  }
}

export interface CutoffCall {
  callId: string
  endReason: string | null
  billedMinutes: number | null
  /** ended_at − (started_at + one period): 0 when the platform ended it on its boundary. */
  endedAfterBoundaryMs: number | null
  /** The last inbound frame each party received, after ended_at (negative: before it). */
  lastFrameLagMs: { member: number | null; operator: number | null }
  /** The room's disconnect as each party saw it, after ended_at. */
  disconnectLagMs: { member: number | null; operator: number | null }
  /** Both parties heard the other before the boundary: only then does the lag say when the audio stopped. */
  heard: boolean
}

export interface CutoffResult {
  load: number
  loadStarted: number
  calls: CutoffCall[]
  lastFrameLag: Summary
  disconnectLag: Summary
  /** The background calls' frames while the cut-off calls ran. */
  loadFrames: FrameFigures | null
  use: SpanUse
  failures: string[]
  rows: CallRow[]
}

/**
 * `loadPairs.length` calls run (reusing the capacity phase's pairs) while `cutoffPairs` (members funded for exactly
 * one period) start beside them: the platform ends each on its first boundary (funds_exhausted) by deleting its room. The lag is from that
 * boundary (the settled call's ended_at) to when each party's inbound audio stopped.
 */
export async function runCutoff(ctx: PhaseContext, loadPairs: Pair[], cutoffPairs: Pair[], periodMs: number): Promise<CutoffResult> {
  ctx.log(`cut-off: ${cutoffPairs.length} calls funded for one period, beside ${loadPairs.length} running…`)
  const load = await startCalls(ctx, loadPairs)
  const loadParties = partiesOf(load.calls.filter((c) => !c.failure))
  await untilHearing(ctx.pool, loadParties, 10_000)
  const loadBefore = await ctx.pool.stats(loadParties)
  const span = startSpan(ctx.groups)
  const cut = await startCalls(ctx, cutoffPairs)
  const cutIds = cut.calls.map((c) => c.callId)
  const settled = await waitForCalls(ctx.db, cutIds, (row) => row.status === 'settled', periodMs + SETTLED_WITHIN_MS)
  // Whatever frames were still in flight when the room closed arrive within moments; then the figures are read.
  await sleep(2_000)
  const use = span()
  const [stats, loadAfter] = await Promise.all([ctx.pool.stats(partiesOf(cut.calls)), ctx.pool.stats(loadParties)])
  const loadFrames = loadParties.length ? frameFigures(loadBefore, loadAfter, loadParties, use.seconds) : null
  const calls = cut.calls.map((call): CutoffCall => {
    const row = settled.find((r) => r.id === call.callId)
    const endedAt = row?.endedAt?.getTime() ?? null
    const lag = (at: number | null | undefined) => (endedAt === null || at === null || at === undefined ? null : at - endedAt)
    const member = stats.get(call.memberParty)
    const operator = stats.get(call.operatorParty)
    return {
      callId: call.callId,
      endReason: row?.endReason ?? null,
      billedMinutes: row?.billedMinutes ?? null,
      endedAfterBoundaryMs: row && endedAt !== null ? endedAt - (row.startedAt.getTime() + periodMs) : null,
      lastFrameLagMs: { member: lag(member?.lastFrameAt), operator: lag(operator?.lastFrameAt) },
      disconnectLagMs: { member: lag(member?.disconnectedAt), operator: lag(operator?.disconnectedAt) },
      heard: endedAt !== null && [member, operator].every((party) => party?.firstFrameAt != null && party.firstFrameAt < endedAt),
    }
  })
  const values = (pick: (c: CutoffCall) => { member: number | null; operator: number | null }) =>
    calls
      // The cut-off proper: ended by the platform on the boundary it could not pay (others ended for another reason).
      .filter((c) => c.endReason === 'funds_exhausted' && c.endedAfterBoundaryMs === 0 && c.heard)
      .flatMap((c) => [pick(c).member, pick(c).operator])
      .filter((v): v is number => v !== null)
  await mapLimit(cut.calls, START_LANES, (call) => ctx.driver.hangUp(call).catch(() => undefined))
  const loadRows = await hangUpAll(ctx, load.calls)
  return {
    load: loadPairs.length,
    loadStarted: load.calls.filter((call) => !call.failure).length,
    calls,
    lastFrameLag: summarize(values((c) => c.lastFrameLagMs)),
    disconnectLag: summarize(values((c) => c.disconnectLagMs)),
    loadFrames,
    use,
    failures: [...load.failures.map((f) => `load ${f}`), ...cut.failures.map((f) => `cut-off ${f}`)],
    rows: [...(await readCalls(ctx.db, cutIds)), ...loadRows],
  }
}

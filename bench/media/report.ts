import type { LedgerViolation } from '../../activities/ledger/check.js'
import type { MediaOptions } from '../media.js'
import type { MachineFacts } from '../support/machine.js'
import { ms, type Summary } from '../support/stats.js'
import type { ChargeCheck } from './charges.js'
import type { SpanUse } from './meter.js'
import type { CutoffResult, StepResult } from './phases.js'

/** What bench/media.ts writes to its JSON and prints as Markdown. */
export interface MediaResults {
  machine: MachineFacts
  loadAverageAtEnd: number
  options: MediaOptions
  stack: string
  /** The participant processes, gone when the benchmark is (tests check). */
  participantPids: number[]
  participantProcesses: { died: number; libraryErrors: { count: number; samples: string[] } }
  idle: SpanUse
  steps: Array<Omit<StepResult, 'rows'>>
  capacity: number | null
  cutoff: Omit<CutoffResult, 'rows'> & { rows: undefined }
  charges: ChargeCheck
  ledger: { ok: boolean; accounts: number; transfers: number; settledCalls: number; violations: LedgerViolation[] }
}

const cpu = (use: SpanUse, name: string) => `${Math.round(use.processes[name]?.cpuPercent ?? 0)}%`
const pct = (share: number) => `${Math.round(share * 1000) / 10}%`
const lag = (s: Summary) => (s.count ? `${ms(s.p50)} / ${ms(s.p99)} / ${ms(s.max)} ms (n ${s.count})` : '– (n 0)')

export function markdown(r: MediaResults): string {
  const m = r.machine
  const lines = [
    `# Media: LiveKit capacity and cut-off lag`,
    '',
    `${m.date}, commit ${m.gitCommit ?? '?'}${m.gitDirty ? ' (uncommitted changes)' : ''}; ${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB, ` +
      `${m.os}, Node ${m.node}; load average ${m.loadAverageAtStart} at start, ${r.loadAverageAtEnd} at the end.`,
    `Stack: ${r.stack}. Period ${r.options.periodMs} ms, grace ${r.options.graceMs} ms; parties in ${r.options.processes} processes (fresh ones for every step); ` +
      `each step held ${r.options.holdS} s; 48 kHz mono, 20-ms frames (50/s sent by each party).`,
    '',
    `With the stack up and no call (3 s): machine ${r.idle.machineBusyPercent}% busy; LiveKit ${cpu(r.idle, 'LiveKit server')} of a core, ` +
      `web ${cpu(r.idle, 'web')}, worker ${cpu(r.idle, 'worker')}, Temporal ${cpu(r.idle, 'Temporal dev server')}, participants ${cpu(r.idle, 'participants')}.`,
    '',
    '| calls | parties ≥ 95% of frames | frames/s per party p50 / min | audible | LiveKit CPU, RSS | participants CPU | web, worker, Temporal CPU | machine busy | most CPU | verdict |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |',
    ...r.steps.map((s) => {
      const lk = s.use.processes['LiveKit server']
      return (
        `| ${s.calls}${s.started < s.calls ? ` (${s.started} started)` : ''} | ${pct(s.frames.shareAtLeast95)} of ${s.frames.parties} | ` +
        `${s.frames.framesPerSecond.p50.toFixed(1)} / ${s.frames.framesPerSecond.min.toFixed(1)} | ${pct(s.frames.audibleShare)} | ` +
        `${Math.round(lk?.cpuPercent ?? 0)}%, ${lk?.rssMiB ?? 0} MiB | ${cpu(s.use, 'participants')} | ` +
        `${cpu(s.use, 'web')}, ${cpu(s.use, 'worker')}, ${cpu(s.use, 'Temporal dev server')} | ${Math.round(s.use.machineBusyPercent)}% | ${s.busiest} | ` +
        `${s.passed ? 'pass' : `fail: ${s.why.join('; ')}`} |`
      )
    }),
    '',
    `**Capacity: ${r.capacity === null ? 'no step passed' : `${r.capacity} concurrent two-party audio calls`}** ` +
      `(≥ 99% of parties receiving ≥ 95% of their frames, LiveKit within ${r.options.liveKitSharePercent}% of a core).`,
    '',
    `## Cut-off lag at ${r.cutoff.load + r.cutoff.calls.length} calls (${r.cutoff.loadStarted} running beside ${r.cutoff.calls.length} cut off)`,
    '',
    `${r.cutoff.calls.length} calls funded for one period, ended by the platform: ` +
      `${r.cutoff.calls.filter((c) => c.endReason === 'funds_exhausted').length} \`funds_exhausted\`, ` +
      `ended_at − boundary max ${ms(Math.max(...r.cutoff.calls.map((c) => c.endedAfterBoundaryMs ?? Number.NaN)))} ms; ` +
      `${r.cutoff.calls.filter((c) => c.heard).length} heard by both parties before their boundary (the lag below is theirs).`,
    '',
    '| from the boundary (ended_at) to | p50 / p99 / max |',
    '| --- | ---: |',
    `| each party's last inbound audio frame | ${lag(r.cutoff.lastFrameLag)} |`,
    `| each party's room disconnect | ${lag(r.cutoff.disconnectLag)} |`,
    '',
    r.cutoff.loadFrames
      ? `The ${r.cutoff.loadStarted} calls beside them meanwhile: ${pct(r.cutoff.loadFrames.shareAtLeast95)} of parties ≥ 95% of frames; ` +
        `LiveKit ${cpu(r.cutoff.use, 'LiveKit server')} of a core, machine ${Math.round(r.cutoff.use.machineBusyPercent)}% busy.`
      : '',
    r.charges.cutoffsOffPlan.length ? `Cut-off calls that ended otherwise (their lag is left out): ${r.charges.cutoffsOffPlan.join('; ')}.` : '',
    r.cutoff.failures.length ? `Failures: ${[...new Set(r.cutoff.failures)].slice(0, 5).join('; ')} (${r.cutoff.failures.length} in all).` : '',
    '',
    `Participant processes: ${r.participantProcesses.died} died during the run; the media library raised ${r.participantProcesses.libraryErrors.count} errors in them` +
      (r.participantProcesses.libraryErrors.count ? ` (${r.participantProcesses.libraryErrors.samples.join('; ')})` : '') +
      '.',
    '',
    `## Money`,
    '',
    `${r.charges.calls} calls, ${r.charges.chargedCents} cents charged: ` +
      (r.charges.problems.length ? `**${r.charges.problems.length} problems**: ${r.charges.problems.slice(0, 10).join('; ')}` : 'every charge equals billed periods × rate, by the billing rule') +
      `. Ledger check: ${r.ledger.ok ? 'clean' : `**${r.ledger.violations.length} violations**`} (${r.ledger.accounts} accounts, ${r.ledger.transfers} transfers, ${r.ledger.settledCalls} settled calls).`,
  ]
  return lines.filter((line, i, all) => !(line === '' && all[i - 1] === '')).join('\n')
}

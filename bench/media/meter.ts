import { machineCpuTicks, processCpuMs, processRssMiB } from '../support/machine.js'

/**
 * CPU over a span, per named group of processes (one group: LiveKit; another: every participant process), from
 * /proc/<pid>/stat at the span's start and end, and the whole machine's from /proc/stat.
 */

export interface ProcessUse {
  /** Share of one core over the span, in % (200 is both cores of a two-core machine). */
  cpuPercent: number
  /** Resident memory at the span's end, summed over the group. */
  rssMiB: number
}

export interface SpanUse {
  seconds: number
  processes: Record<string, ProcessUse>
  /** The machine's busy share over the span, in % of all its cores (others' work included). */
  machineBusyPercent: number
}

export type Groups = Record<string, number[]>

export function startSpan(groups: () => Groups): () => SpanUse {
  const before = new Map<number, number>()
  for (const pids of Object.values(groups())) for (const pid of pids) before.set(pid, processCpuMs(pid) ?? 0)
  const ticks = machineCpuTicks()
  const t0 = performance.now()
  return () => {
    const seconds = (performance.now() - t0) / 1000
    const processes: Record<string, ProcessUse> = {}
    for (const [name, pids] of Object.entries(groups())) {
      let cpuMs = 0
      let rssMiB = 0
      for (const pid of pids) {
        const now = processCpuMs(pid)
        if (now !== undefined) cpuMs += now - (before.get(pid) ?? now)
        rssMiB += processRssMiB(pid) ?? 0
      }
      processes[name] = { cpuPercent: round1((cpuMs / (seconds * 1000)) * 100), rssMiB }
    }
    const after = machineCpuTicks()
    const machineBusyPercent =
      ticks && after && after.total > ticks.total ? round1(((after.busy - ticks.busy) / (after.total - ticks.total)) * 100) : Number.NaN
    return { seconds: round1(seconds), processes, machineBusyPercent }
  }
}

export const round1 = (value: number) => Math.round(value * 10) / 10

import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import os from 'node:os'

/** What a figure was measured on: a benchmark result without its machine is not a result. */

export interface MachineFacts {
  date: string
  cpuModel: string
  cores: number
  memoryGiB: number
  os: string
  node: string
  /** 1-minute load average when the run began: others' work on a shared machine shows here. */
  loadAverageAtStart: number
  gitCommit: string | null
  /** Uncommitted changes in the working tree: the figures then describe code no commit holds. */
  gitDirty: boolean | null
}

export function machineFacts(): MachineFacts {
  const cpus = os.cpus()
  let gitCommit: string | null = null
  let gitDirty: boolean | null = null
  try {
    gitCommit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()
    gitDirty = execFileSync('git', ['status', '--porcelain'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() !== ''
  } catch {
    // Not a git checkout (an unpacked release, say): the facts are still worth having.
  }
  return {
    date: new Date().toISOString(),
    cpuModel: cpuModel() ?? cpus[0]?.model ?? 'unknown',
    cores: os.availableParallelism?.() ?? cpus.length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    loadAverageAtStart: Math.round(os.loadavg()[0]! * 100) / 100,
    gitCommit,
    gitDirty,
  }
}

function cpuModel(): string | undefined {
  // os.cpus() gives a bare "AMD EPYC" on some virtual machines; /proc/cpuinfo can say more (the family, the stepping).
  try {
    const info = readFileSync('/proc/cpuinfo', 'utf8')
    const model = /^model name\s*:\s*(.+)$/m.exec(info)?.[1]?.trim()
    return model || undefined
  } catch {
    return undefined
  }
}

/** CPU time a process used, in ms, from /proc (Linux); undefined elsewhere or once it has exited. */
export function processCpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // Fields after the command name, which may itself contain spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const ticks = Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])
    return (ticks * 1000) / clockTicksPerSecond()
  } catch {
    return undefined
  }
}

/** Resident memory of a process in MiB, from /proc (Linux). */
export function processRssMiB(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const kib = Number(/^VmRSS:\s+(\d+)\s+kB$/m.exec(status)?.[1])
    return Number.isFinite(kib) ? Math.round(kib / 1024) : undefined
  } catch {
    return undefined
  }
}

/** Busy and total CPU time of the whole machine so far, from /proc/stat (Linux), to compute utilisation over a span. */
export function machineCpuTicks(): { busy: number; total: number } | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!
    const values = line.trim().split(/\s+/).slice(1).map(Number)
    const idle = (values[3] ?? 0) + (values[4] ?? 0)
    const total = values.reduce((sum, value) => sum + value, 0)
    return { busy: total - idle, total }
  } catch {
    return undefined
  }
}

let ticksPerSecond: number | undefined

function clockTicksPerSecond(): number {
  // USER_HZ is 100 on every Linux architecture Node ships for; getconf says so where it exists. Asked once: the
  // progress line samples CPU every second.
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()) || 100
    } catch {
      ticksPerSecond = 100
    }
  }
  return ticksPerSecond
}

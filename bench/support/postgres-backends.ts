import type { Db } from '../../prisma/client.js'
import { processCpuMs } from './machine.js'

/**
 * CPU used by the PostgreSQL backends that serve one database (the benchmark's), from /proc: every second the
 * backends of the database are listed from pg_stat_activity, and each one's CPU time is read when first and last
 * seen. PostgreSQL is shared with other work on this machine; counting only this database's backends keeps theirs
 * out. Works when PostgreSQL runs on this machine (pids are then ours to read), else reports nothing.
 */

export interface BackendUse {
  backends: number
  cpuSeconds: number | null
  cpuPercentOfOneCore: number | null
}

export function startBackendMeter(db: Db): () => Promise<BackendUse> {
  const seen = new Map<number, { first: number; last: number }>()
  const began = performance.now()
  let readable = true
  const sample = async () => {
    const rows = await db.$queryRaw<{ pid: number }[]>`
      SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND backend_type = 'client backend'`
    for (const { pid } of rows) {
      const cpu = processCpuMs(pid)
      if (cpu === undefined) {
        readable = false
        continue
      }
      const entry = seen.get(pid)
      if (entry) entry.last = cpu
      else seen.set(pid, { first: cpu, last: cpu })
    }
  }
  let busy = false
  const timer = setInterval(() => {
    if (busy) return
    busy = true
    sample()
      .catch(() => undefined)
      .finally(() => (busy = false))
  }, 1_000)
  void sample().catch(() => undefined)
  return async () => {
    clearInterval(timer)
    await sample().catch(() => undefined)
    const wallMs = performance.now() - began
    if (!readable && seen.size === 0) return { backends: 0, cpuSeconds: null, cpuPercentOfOneCore: null }
    const cpuMs = [...seen.values()].reduce((sum, e) => sum + (e.last - e.first), 0)
    return { backends: seen.size, cpuSeconds: Math.round(cpuMs / 100) / 10, cpuPercentOfOneCore: Math.round((cpuMs / wallMs) * 100) }
  }
}

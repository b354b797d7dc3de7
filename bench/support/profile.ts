import { readdir, readFile } from 'node:fs/promises'
import path from 'node:path'

/**
 * Where a process spent its CPU, from the V8 profiles `node --cpu-prof` writes (one per process): self time summed by
 * where the code lives — a package under node_modules, a file of ours, or V8's own (garbage collection, idle, the
 * engine's program time) — so a report can say "the worker spent 30% in Prisma" without opening a profiler.
 */

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string }
  hitCount?: number
}

interface CpuProfile {
  nodes: ProfileNode[]
  startTime: number
  endTime: number
  samples?: number[]
}

export interface ProfileSummary {
  file: string
  seconds: number
  /** Share of samples per place, most first. */
  shares: Array<{ where: string; percent: number }>
}

function placeOf(node: ProfileNode, root: string): string {
  const { url, functionName } = node.callFrame
  if (!url) return functionName.startsWith('(') ? functionName : '(native)'
  const modules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)
  if (modules) return modules[1]!
  if (url.startsWith('node:')) return 'node internals'
  const local = url.replace(/^file:\/\//, '')
  return local.startsWith(root) ? path.relative(root, local).split('/').slice(0, 2).join('/') : local
}

export async function summarizeProfiles(dir: string, root: string, top = 12): Promise<ProfileSummary[]> {
  const files = (await readdir(dir).catch(() => [])).filter((f) => f.endsWith('.cpuprofile'))
  const summaries: ProfileSummary[] = []
  for (const file of files) {
    const profile = JSON.parse(await readFile(path.join(dir, file), 'utf8')) as CpuProfile
    const byPlace = new Map<string, number>()
    let total = 0
    for (const node of profile.nodes) {
      const hits = node.hitCount ?? 0
      if (!hits) continue
      total += hits
      const where = placeOf(node, root)
      byPlace.set(where, (byPlace.get(where) ?? 0) + hits)
    }
    summaries.push({
      file,
      seconds: Math.round((profile.endTime - profile.startTime) / 1e5) / 10,
      shares: [...byPlace.entries()]
        .sort((a, b) => b[1] - a[1])
        .slice(0, top)
        .map(([where, hits]) => ({ where, percent: Math.round((hits / Math.max(1, total)) * 1000) / 10 })),
    })
  }
  return summaries
}

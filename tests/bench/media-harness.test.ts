import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import type { MediaResults } from '../../bench/media/report.js'

// `npm run bench:media -- --quick` as a user runs it: its own stack (Temporal dev server, database, worker, web and a
// LiveKit server), real calls through the plugin API, rtc-node participants in processes of their own. The figures
// it reports must be measured ones, its money right, and nothing of it left running afterwards.

const repoRoot = fileURLToPath(new URL('../../', import.meta.url))
let dir: string | undefined

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true })
})

function runBench(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/media.ts', ...args], { cwd: repoRoot, stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    child.once('exit', (code) => resolve({ code, stderr }))
  })
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

describe('npm run bench:media -- --quick', () => {
  it('measures frames and the cut-off lag on real media, checks the money, and leaves no participant running', async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'media-bench-test-'))
    const jsonPath = path.join(dir, 'media.json')
    const { code, stderr } = await runBench(['--quick', '--json', jsonPath])
    expect(code, stderr).toBe(0)
    const r = JSON.parse(await readFile(jsonPath, 'utf8')) as MediaResults

    expect(r.steps.map((s) => s.calls)).toEqual([2, 4].slice(0, r.steps.length))
    const first = r.steps[0]!
    expect(first.started, stderr).toBe(2)
    expect(first.frames.parties).toBe(4)
    // Frames were heard, and they carried the tone: not a counter that counts nothing.
    expect(first.frames.framesPerSecond.min, stderr).toBeGreaterThan(0)
    expect(first.frames.framesPerSecond.max).toBeLessThanOrEqual(60)
    expect(first.frames.audibleShare).toBeGreaterThan(0.9)
    expect(first.use.processes['LiveKit server']!.cpuPercent).toBeGreaterThan(0)
    expect(first.use.processes['LiveKit server']!.rssMiB).toBeGreaterThan(0)
    expect(first.use.processes.participants!.cpuPercent).toBeGreaterThan(0)

    // The cut-off: ended by the platform on its boundary, and each party's audio stopped within a second of it.
    expect(r.cutoff.calls).toHaveLength(1)
    expect(r.cutoff.calls[0]).toMatchObject({ endReason: 'funds_exhausted', billedMinutes: 1, endedAfterBoundaryMs: 0, heard: true })
    expect(r.cutoff.lastFrameLag.count).toBe(2)
    expect(r.cutoff.lastFrameLag.max).toBeLessThan(1_000)
    // …and it was flowing until then (a call that was never heard would have its "last frame" long before).
    expect(r.cutoff.lastFrameLag.min).toBeGreaterThan(-1_000)
    expect(r.cutoff.disconnectLag.count).toBe(2)

    expect(r.charges.problems).toEqual([])
    expect(r.charges.calls).toBeGreaterThanOrEqual(3)
    expect(r.ledger.ok).toBe(true)
    expect(r.participantPids.length).toBeGreaterThan(0)
    expect(r.participantPids.filter(alive)).toEqual([])
  }, 150_000)
})

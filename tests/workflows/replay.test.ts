import { readdirSync, readFileSync } from 'node:fs'
import { Worker } from '@temporalio/worker'
import { describe, expect, it } from 'vitest'
import { workflowBundle } from '../support/call-harness.js'

// Histories recorded from real runs (tests/support/record-histories.ts). If a change to the workflow makes one of
// them fail to replay, runs in flight would break: guard the change with patched() instead.
const folder = new URL('./histories/', import.meta.url)
const histories = readdirSync(folder).filter((f) => f.endsWith('.json'))

describe('the call workflow replays every recorded history', () => {
  it('has histories to replay', () => {
    expect(histories.length).toBeGreaterThanOrEqual(2)
  })

  it.each(histories)('%s', async (file) => {
    const history = JSON.parse(readFileSync(new URL(file, folder), 'utf8'))
    await expect(
      Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, `replay-${file}`),
    ).resolves.toBeUndefined()
  })
})

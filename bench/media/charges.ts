import { billablePeriods } from '../../workflows/billing.js'
import type { CallRow } from './calls.js'

/**
 * Every call's charge, recomputed apart from the settlement: billed periods × the call's rate, the billed periods by
 * the billing rule from the call's own start and end, and a cut-off call billed its one funded period, ended
 * `funds_exhausted` on its boundary.
 */

export interface ChargeCheck {
  calls: number
  chargedCents: number
  /** Money wrong: a charge that is not its billed periods × rate, or periods the billing rule does not give. */
  problems: string[]
  /** Cut-off calls that did not end as planned (another end reason, off their boundary): reported, not money wrong. */
  cutoffsOffPlan: string[]
}

export function checkCharges(rows: CallRow[], cutoffIds: ReadonlySet<string>): ChargeCheck {
  const problems: string[] = []
  const cutoffsOffPlan: string[] = []
  let chargedCents = 0
  for (const row of rows) {
    if (row.status !== 'settled' || row.endedAt === null || row.billedMinutes === null || row.chargedCents === null) {
      problems.push(`${row.id}: not settled (${row.status})`)
      continue
    }
    const charged = Number(row.chargedCents)
    chargedCents += charged
    if (charged !== row.billedMinutes * row.ratePerMinuteCents) {
      problems.push(`${row.id}: charged ${charged} cents for ${row.billedMinutes} periods at ${row.ratePerMinuteCents}`)
    }
    const elapsed = row.endedAt.getTime() - row.startedAt.getTime()
    const expected = billablePeriods(elapsed, { periodMs: row.periodMs, graceMs: row.graceMs }, Number.MAX_SAFE_INTEGER)
    if (row.billedMinutes !== expected) problems.push(`${row.id}: billed ${row.billedMinutes} periods, its ${elapsed} ms make ${expected}`)
    if (cutoffIds.has(row.id)) {
      // More than the one period funded would be money wrong; an earlier end (the media lost, say) is not.
      if (row.billedMinutes > 1) problems.push(`${row.id}: a cut-off call billed ${row.billedMinutes} periods, more than its one`)
      if (row.endReason !== 'funds_exhausted' || row.endedAt.getTime() !== row.startedAt.getTime() + row.periodMs) {
        cutoffsOffPlan.push(`${row.id}: ended ${row.endReason} ${elapsed} ms in`)
      }
    }
  }
  return { calls: rows.length, chargedCents, problems, cutoffsOffPlan }
}

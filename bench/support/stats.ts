/** Summaries of measured samples, the same way in every benchmark so reports compare. */

export interface Summary {
  count: number
  min: number
  mean: number
  p50: number
  p95: number
  p99: number
  max: number
}

/**
 * Nearest-rank percentiles (the sample at rank ceil(p·n)): every figure reported is a value that was actually
 * measured, never an interpolation between two.
 */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN
  const rank = Math.max(1, Math.ceil(p * sorted.length))
  return sorted[Math.min(rank, sorted.length) - 1]!
}

export function summarize(values: readonly number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b)
  const sum = sorted.reduce((total, value) => total + value, 0)
  return {
    count: sorted.length,
    min: sorted[0] ?? Number.NaN,
    mean: sorted.length ? sum / sorted.length : Number.NaN,
    p50: percentile(sorted, 0.5),
    p95: percentile(sorted, 0.95),
    p99: percentile(sorted, 0.99),
    max: sorted[sorted.length - 1] ?? Number.NaN,
  }
}

/** Samples grouped by a key (an endpoint, say), summarized per group. */
export class SampleSets {
  private readonly sets = new Map<string, number[]>()

  add(key: string, value: number): void {
    let set = this.sets.get(key)
    if (!set) this.sets.set(key, (set = []))
    set.push(value)
  }

  summaries(): Record<string, Summary> {
    const out: Record<string, Summary> = {}
    for (const key of [...this.sets.keys()].sort()) out[key] = summarize(this.sets.get(key)!)
    return out
  }
}

/** Milliseconds for a report: whole ms from 10 up, one decimal below. */
export function ms(value: number): string {
  if (!Number.isFinite(value)) return '–'
  return Math.abs(value) >= 10 ? `${Math.round(value)}` : value.toFixed(1)
}

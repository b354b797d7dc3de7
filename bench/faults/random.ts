/**
 * Seeded randomness for the fault drills: the same seed draws the same schedule (which faults, when, against what),
 * so a failure found once can be run again. mulberry32: tiny, fast, and good enough to scatter faults; not for secrets.
 */
export type Random = () => number

export function seededRandom(seed: number): Random {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}

/** A stream of its own for one purpose (one call, one request kind), so that timing elsewhere cannot shift its draws. */
export function substream(seed: number, ...labels: Array<string | number>): Random {
  let h = seed >>> 0
  for (const label of labels) {
    for (const ch of String(label)) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0
    h = Math.imul(h ^ 0x2c, 0x01000193) >>> 0
  }
  return seededRandom(h)
}

export const between = (random: Random, min: number, max: number) => min + random() * (max - min)
export const pick = <T>(random: Random, items: readonly T[]): T => items[Math.floor(random() * items.length)]!

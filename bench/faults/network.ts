import { sleep } from '../support/concurrency.js'
import { between, substream } from './random.js'

/**
 * A bad network between the plugin and the platform, as a fetch the plugin's API client is given: heartbeats and
 * call ends are delayed (some past the next one, so they arrive out of order), sent twice, or lost on the way there
 * or on the way back (the platform acted but the plugin never heard, so it sends the request again). Each request's
 * fate is drawn from its own seeded stream (call, kind, attempt), so the same seed replays the same faults whatever
 * the timing. Other requests pass untouched.
 */

export interface NetworkFaults {
  delayed: number
  duplicated: number
  lostBefore: number
  lostAfter: number
}

export function faultyNetwork(seed: number, options: { maxDelayMs: number }): { fetch: typeof fetch; faults: NetworkFaults } {
  const faults: NetworkFaults = { delayed: 0, duplicated: 0, lostBefore: 0, lostAfter: 0 }
  const attempts = new Map<string, number>()
  const faulty: typeof fetch = async (input, init) => {
    const url = String(input instanceof Request ? input.url : input)
    const match = /\/calls\/([^/]+)\/(heartbeat|end)$/.exec(new URL(url).pathname)
    if (!match) return fetch(input, init)
    const key = `${match[1]}:${match[2]}`
    const attempt = (attempts.get(key) ?? 0) + 1
    attempts.set(key, attempt)
    const random = substream(seed, match[1]!, match[2]!, attempt)
    const roll = random()
    if (roll < 0.15) {
      faults.lostBefore += 1
      await sleep(between(random, 0, options.maxDelayMs))
      throw new TypeError('fetch failed (drill: request lost)')
    }
    if (random() < 0.5) {
      faults.delayed += 1
      await sleep(between(random, 0, options.maxDelayMs))
    }
    if (roll < 0.35) {
      // Sent twice: the second copy goes on its own, a little later, and its answer is thrown away.
      faults.duplicated += 1
      const later = between(random, 0, options.maxDelayMs)
      void sleep(later).then(() => fetch(input, init).then((r) => r.body?.cancel()).catch(() => undefined))
    }
    const response = await fetch(input, init)
    if (roll > 0.85) {
      // The platform handled it, but the answer never reached the plugin.
      faults.lostAfter += 1
      await response.body?.cancel()
      throw new TypeError('fetch failed (drill: answer lost)')
    }
    return response
  }
  return { fetch: faulty, faults }
}

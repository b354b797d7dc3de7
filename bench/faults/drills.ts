import { memberConfirmation } from '../support/call-requests.js'
import { sleep } from '../support/concurrency.js'
import { driveCalls, prepareCalls, verifyDrill, type DrillCall, type DrillMember, type DrillVerdict } from './calls.js'
import { faultyNetwork } from './network.js'
import { between, seededRandom, type Random } from './random.js'
import type { DrillStack } from './stack.js'

/**
 * The fault drills: each runs calls through the plugin API while it injects one kind of fault on a seeded schedule,
 * then checks the money (bench/faults/calls.ts verifyDrill). The same seed replays the same schedule: which faults,
 * when, and against what. tests/faults runs each briefly in CI; `npm run bench:faults` runs longer schedules.
 */

export const DRILLS = ['worker-kill', 'temporal-restart', 'postgres-drop', 'network', 'double-click', 'shared-wallet'] as const
export type DrillName = (typeof DRILLS)[number]

export interface DrillOptions {
  seed: number
  /** Calls at once. */
  calls: number
  /** How many periods each call lasts (it ends part-way through the last), before faults stretch it. */
  periods: number
  /** How many faults to inject (kills, restarts, connection drops). */
  faults: number
  rateCents?: number
  log: (line: string) => void
}

export interface DrillReport {
  drill: DrillName
  seed: number
  injected: string[]
  verdict: DrillVerdict
  seconds: number
}

export async function runDrill(stack: DrillStack, drill: DrillName, options: DrillOptions): Promise<DrillReport> {
  const began = performance.now()
  const random = seededRandom(options.seed)
  const P = stack.config.BILLING_PERIOD_MS
  const rate = options.rateCents ?? 100
  const tag = `${drill}-${options.seed}-${Math.floor(random() * 1e9).toString(36)}`
  const injected: string[] = []
  const say = (line: string) => {
    injected.push(line)
    options.log(`  ${drill}: ${line}`)
  }
  options.log(`drill ${drill}, seed ${options.seed} (npm run bench:faults -- --drill ${drill} --seed ${options.seed} replays it)`)
  const lengthMs = (index: number) => (options.periods - 1 + 0.3 + 0.4 * ((index * 0.618) % 1)) * P
  const heartbeatMs = Math.max(100, Math.round(P / 2))
  if (!stack.worker()) await stack.startWorker()
  // Each call's member confirms on their page that it is connected, as the website does.
  const connect = memberConfirmation(stack.db, stack.config)

  let calls: DrillCall[]
  let members: DrillMember[]
  let drive: Promise<void>
  switch (drill) {
    case 'network': {
      const network = faultyNetwork(options.seed, { maxDelayMs: P })
      ;({ calls, members } = await prepareCalls({ db: stack.db, webUrl: stack.webUrl, calls: options.calls, rateCents: rate, fundedCents: rate * (options.periods + 20), lengthMs, fetch: network.fetch, tag }))
      await driveCalls(calls, { heartbeatMs, connect })
      say(`heartbeats and ends: ${network.faults.delayed} delayed, ${network.faults.duplicated} sent twice, ${network.faults.lostBefore} lost on the way, ${network.faults.lostAfter} answers lost`)
      drive = Promise.resolve()
      break
    }
    case 'double-click': {
      ;({ calls, members } = await prepareCalls({ db: stack.db, webUrl: stack.webUrl, calls: options.calls, rateCents: rate, fundedCents: rate * (options.periods + 20), lengthMs, tag }))
      const copies = 2 + Math.floor(random() * 7)
      say(`every start and every end sent ${copies} times at once`)
      drive = driveCalls(calls, { heartbeatMs, copies, connect })
      break
    }
    case 'shared-wallet': {
      // One member, every call at once: the wallet covers about half of what the calls would use.
      const periods = Math.max(options.calls, Math.floor((options.calls * options.periods) / 2))
      ;({ calls, members } = await prepareCalls({ db: stack.db, webUrl: stack.webUrl, calls: options.calls, rateCents: rate, fundedCents: rate * periods + 37, sharedMember: true, lengthMs, tag }))
      say(`${options.calls} calls drain one wallet of ${periods} periods (+37 cents)`)
      drive = driveCalls(calls, { heartbeatMs, connect })
      break
    }
    default: {
      ;({ calls, members } = await prepareCalls({ db: stack.db, webUrl: stack.webUrl, calls: options.calls, rateCents: rate, fundedCents: rate * (options.periods + 20), lengthMs, tag }))
      drive = driveCalls(calls, { heartbeatMs, connect })
      await injectFaults(stack, drill, options, random, drive, P, say)
    }
  }
  await drive
  // A worker the drill killed last must be back for the settlements still to come.
  if (!stack.worker()) await stack.startWorker()
  const verdict = await verifyDrill(stack.db, calls, members, { settleTimeoutMs: 60_000 + 10 * P })
  const seconds = Math.round((performance.now() - began) / 100) / 10
  options.log(
    `drill ${drill}, seed ${options.seed}: ${verdict.ok ? 'pass' : `FAIL (${verdict.problems.length} problems)`} in ${seconds} s; ${JSON.stringify(verdict.calls)}` +
      (verdict.outlivedTheirMoney ? `; ${verdict.outlivedTheirMoney} calls outlived their money (a late cut-off)` : ''),
  )
  for (const problem of verdict.problems.slice(0, 20)) options.log(`    ${problem}`)
  return { drill, seed: options.seed, injected, verdict, seconds }
}

/** Injects `faults` faults of the drill's kind at seeded moments while the calls run, spread over their expected span. */
async function injectFaults(
  stack: DrillStack,
  drill: DrillName,
  options: DrillOptions,
  random: Random,
  drive: Promise<void>,
  P: number,
  say: (line: string) => void,
): Promise<void> {
  let done = false
  void drive.finally(() => (done = true))
  const span = options.periods * P
  const moments = Array.from({ length: options.faults }, () => between(random, 0.3 * P, span)).sort((a, b) => a - b)
  const began = Date.now()
  for (const [i, at] of moments.entries()) {
    await sleep(began + at - Date.now())
    if (done) break
    switch (drill) {
      case 'worker-kill': {
        // Half the time from outside at this moment; otherwise the worker kills itself right after one of its next
        // ledger writes commits, before it can report back.
        if (random() < 0.5) {
          await stack.killWorker()
          say(`fault ${i + 1}: worker SIGKILLed at ${Date.now() - began} ms`)
        } else {
          const writes = 1 + Math.floor(random() * 4)
          await stack.killWorker()
          await stack.startWorker(writes)
          say(`fault ${i + 1}: worker replaced by one that dies right after its ledger write no. ${writes}`)
          const child = stack.worker()
          const died = await Promise.race([child?.exited.then(() => true), sleep(span).then(() => false), drive.then(() => false)])
          say(died ? `  …it died by its own hand at ${Date.now() - began} ms, its write committed and unreported` : '  …it had not made that many writes in time; killed from outside instead')
          if (stack.worker() === child && child) await stack.killWorker()
        }
        await sleep(between(random, 200, 1_500))
        if (!stack.worker()) await stack.startWorker()
        break
      }
      case 'temporal-restart': {
        const kill = random() < 0.5
        const downMs = Math.round(between(random, 200, 2_000))
        say(`fault ${i + 1}: Temporal dev server ${kill ? 'SIGKILLed' : 'stopped'} at ${Date.now() - began} ms, down ${downMs} ms (state file kept)`)
        await stack.restartTemporal({ kill, downMs })
        break
      }
      case 'postgres-drop': {
        const dropped = await stack.dropDatabaseConnections()
        say(`fault ${i + 1}: ${dropped} PostgreSQL connections terminated at ${Date.now() - began} ms`)
        break
      }
      default:
        break
    }
  }
}

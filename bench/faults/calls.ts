import { randomUUID } from 'node:crypto'
import { recordCallRequests } from '../../activities/call-requests.js'
import { checkLedger } from '../../activities/ledger/check.js'
import { createUser } from '../../activities/identity/users.js'
import { creditMemberWallet } from '../../activities/wallets.js'
import type { Db } from '../../prisma/client.js'
import { isCallEnded, PlatformApi, PlatformApiError, type CallSettled } from '../../plugin/src/core/platform-api.js'
import { mapLimit, sleep } from '../support/concurrency.js'

/**
 * The plugin's side of a fault drill, and the check afterwards. Calls go through the plugin API exactly as the plugin
 * makes them (plugin/src/core/platform-api.ts), retrying as it would: a start with the same callId until it is
 * answered, heartbeats until the call ends or a 410 says it has, an end until it is settled. Then the ledger and every
 * call's charge are checked against an independent recomputation from the call's own start, end and heartbeat times.
 */

const PASSWORD = 'drill-password-not-secret'

export interface DrillParty {
  operatorId: string
  email: string
  api: PlatformApi
  ratePerMinuteCents: number
}

export interface DrillCall {
  index: number
  callId: string
  party: DrillParty
  memberId: string
  /** The member's request this call answers (docs/decisions/046). */
  requestId: string
  /** How long the plugin keeps the call, from the start's answer. */
  lengthMs: number
  startSentAt?: number
  startAnsweredAt?: number
  /** 'started' (201/200), 'refused' (a 4xx, e.g. 402 on a drained wallet), or the last error when it gave up. */
  start?: 'started' | 'refused' | string
  heartbeats: Array<{ sentAt: number; answeredAt?: number; status: number }>
  endSentAt?: number
  /** When the first answer of any kind came back for an end request (200 or 202). */
  endFirstAnswerAt?: number
  settledAt?: number
  settlement?: CallSettled
  endedByPlatform: boolean
  failure?: string
}

export interface DrillMember {
  id: string
  /** Everything credited to the wallet. */
  fundedCents: number
}

/** Operators (one per call) and members (one per call, or one shared), signed in through the API. */
export async function prepareCalls(options: {
  db: Db
  webUrl: string
  calls: number
  rateCents: number
  /** Each member's funding; with sharedMember, the one member's. */
  fundedCents: number
  sharedMember?: boolean
  lengthMs: (index: number) => number
  fetch?: typeof fetch
  tag: string
}): Promise<{ calls: DrillCall[]; members: DrillMember[] }> {
  const { db, tag } = options
  const memberCount = options.sharedMember ? 1 : options.calls
  const members = await mapLimit(Array.from({ length: memberCount }, (_, i) => i), 4, async (i) => {
    const member = await createUser(db, {
      role: 'member',
      email: `drill-${tag}-member-${i}@drill.test`,
      password: PASSWORD,
      displayName: `Drill member ${i}`,
      callingProvider: 'discord',
      callingHandle: `drill-${tag}-member-${i}`,
    })
    await creditMemberWallet(db, {
      transferId: `drill:${tag}:fund:${i}`,
      memberId: member.id,
      amountCents: options.fundedCents,
      source: 'adjustments',
      code: 'wallet_adjustment',
    })
    return { id: member.id, fundedCents: options.fundedCents }
  })
  const calls = await mapLimit(Array.from({ length: options.calls }, (_, i) => i), 4, async (index): Promise<DrillCall> => {
    const email = `drill-${tag}-op-${index}@drill.test`
    const operator = await createUser(db, { role: 'operator', emailVerified: true, email, password: PASSWORD, displayName: `Drill operator ${index}`, ratePerMinuteCents: options.rateCents })
    // Signing in is not part of the fault: it goes straight to the web.
    const session = await new PlatformApi({ baseUrl: options.webUrl }).login(email, PASSWORD)
    // The client's default timeout (30 s) outlasts the platform's own wait for a start (15 s): a slow start is answered.
    const api = new PlatformApi({ baseUrl: options.webUrl, token: session.token, ...(options.fetch ? { fetch: options.fetch } : {}) })
    return {
      index,
      callId: randomUUID(),
      party: { operatorId: operator.id, email, api, ratePerMinuteCents: options.rateCents },
      memberId: members[options.sharedMember ? 0 : index]!.id,
      requestId: '',
      lengthMs: options.lengthMs(index),
      heartbeats: [],
      endedByPlatform: false,
    }
  })
  // Each member asks their operator for the call, the way the website records it, in one statement.
  const requests = await recordCallRequests(
    db,
    calls.map((call) => ({ memberId: call.memberId, operatorId: call.party.operatorId, mode: 'per_minute' as const, prepaidMinutes: null, ratePerMinuteCents: options.rateCents, channel: 'outside' as const })),
  )
  calls.forEach((call, i) => (call.requestId = requests[i]!.id))
  return { calls, members }
}

const statusOf = (error: unknown) => (error instanceof PlatformApiError ? error.status : 0)

/** Runs every call as its plugin would, all at once. `copies` sends each start and each end that many times at once. */
export async function driveCalls(
  calls: DrillCall[],
  options: { heartbeatMs: number; copies?: number; patienceMs?: number; connect: (memberId: string, callId: string) => Promise<boolean> },
): Promise<void> {
  const copies = options.copies ?? 1
  const patience = options.patienceMs ?? 300_000
  await Promise.all(
    calls.map(async (call) => {
      const api = call.party.api
      call.startSentAt = Date.now()
      // Start: the same request until it is answered; a refusal is final.
      while (call.start === undefined) {
        const answers = await Promise.allSettled(
          Array.from({ length: copies }, () => api.startCall({ callId: call.callId, requestId: call.requestId })),
        )
        if (answers.some((a) => a.status === 'fulfilled')) call.start = 'started'
        else {
          const errors = answers.map((a) => (a as PromiseRejectedResult).reason)
          const refusal = errors.find((e) => statusOf(e) >= 400 && statusOf(e) < 500 && !(e instanceof PlatformApiError && e.code === 'call_id_conflict'))
          if (refusal) call.start = 'refused'
          else if (Date.now() - call.startSentAt > patience) call.start = `gave up: ${(errors[0] as Error)?.message}`
          else await sleep(300)
        }
      }
      if (call.start !== 'started') return
      // Accepted: the member confirms it is connected (again after a failure, as a member clicks again); it starts then.
      for (;;) {
        try {
          // False: not connecting any more (started by an earlier confirmation whose answer was lost, or ended).
          await options.connect(call.memberId, call.callId)
          break
        } catch {
          if (Date.now() - call.startSentAt > patience) break
          await sleep(300)
        }
      }
      call.startAnsweredAt = Date.now()

      const endAt = call.startAnsweredAt + call.lengthMs
      while (Date.now() < endAt && !call.endedByPlatform) {
        await sleep(Math.min(options.heartbeatMs, endAt - Date.now()))
        if (Date.now() >= endAt) break
        const beat: DrillCall['heartbeats'][number] = { sentAt: Date.now(), status: 0 }
        call.heartbeats.push(beat)
        try {
          await api.heartbeat(call.callId)
          beat.status = 204
          beat.answeredAt = Date.now()
        } catch (error) {
          beat.status = statusOf(error)
          if (isCallEnded(error)) {
            beat.answeredAt = Date.now()
            call.endedByPlatform = true
          }
        }
      }

      call.endSentAt = Date.now()
      while (!call.settlement) {
        const answers = await Promise.allSettled(Array.from({ length: copies }, () => api.endCall(call.callId, 'operator_hangup')))
        for (const answer of answers) {
          if (answer.status !== 'fulfilled') continue
          call.endFirstAnswerAt ??= Date.now()
          if (answer.value.status === 'settled') {
            call.settlement = answer.value
            call.settledAt = Date.now()
          }
        }
        if (call.settlement) break
        const refusal = answers.find((a) => a.status === 'rejected' && statusOf(a.reason) >= 400 && statusOf(a.reason) < 500)
        if (refusal) {
          call.failure = `end refused: ${((refusal as PromiseRejectedResult).reason as Error).message}`
          return
        }
        if (Date.now() - call.endSentAt > patience) {
          call.failure = 'end: not settled in time'
          return
        }
        await sleep(300)
      }
    }),
  )
}

interface CallRow {
  id: string
  member_id: string
  status: string
  started_at: Date
  ended_at: Date | null
  end_reason: string | null
  period_ms: number
  grace_ms: number
  rate_per_minute_cents: number
  billed_minutes: number | null
  charged_cents: bigint | null
  last_heartbeat_at: Date
  holds: number
  posted: number
  settled_events: number
}

export interface DrillVerdict {
  ok: boolean
  problems: string[]
  calls: { started: number; refused: number; settled: number; endReasons: Record<string, number>; chargedCents: number }
  /**
   * Calls that outlived their member's money because the platform reached the boundary late (a drained shared wallet
   * under load): charged what was held, the rest of the operator's time unpaid. Not a failure of the money rules, a
   * cost of lag, and counted so that it shows.
   */
  outlivedTheirMoney: number
  ledger: { ok: boolean; violations: number }
}

/** Clock slack between the plugin's timestamps and the database's (one machine, one clock; ms rounding). */
const SLACK_MS = 5

/**
 * Pass means: every call that started was settled exactly once; no period charged twice (the ledger check); no wallet
 * negative and each one's balance exactly its funding less its calls' charges; the sum of all balances zero; and each
 * call's charge equal to a recomputation from its own start, end and heartbeat times: every started period charged in
 * full, nothing within the grace time, every started period held (the operator's time is paid), a call cut off for
 * funds ended exactly at the boundary it could not pay, and an end time that lies where the plugin's requests say.
 */
export async function verifyDrill(db: Db, calls: DrillCall[], members: DrillMember[], options: { settleTimeoutMs?: number } = {}): Promise<DrillVerdict> {
  const problems: string[] = []
  const started = calls.filter((c) => c.start === 'started')
  for (const call of calls) if (call.start !== 'started' && call.start !== 'refused') problems.push(`call ${call.index}: ${call.start ?? 'never started'}`)
  for (const call of calls) if (call.failure) problems.push(`call ${call.index}: ${call.failure}`)

  const ids = calls.map((c) => c.callId)
  const deadline = Date.now() + (options.settleTimeoutMs ?? 60_000)
  let rows: CallRow[] = []
  for (;;) {
    rows = await db.$queryRaw<CallRow[]>`
      SELECT c.id::text AS id, c.member_id::text AS member_id, c.status::text AS status, c.started_at, c.ended_at, c.end_reason,
             c.period_ms, c.grace_ms, c.rate_per_minute_cents, c.billed_minutes, c.charged_cents, c.last_heartbeat_at,
             (SELECT count(*)::int FROM transfers t WHERE t.call_id = c.id AND t.code = 'call_hold') AS holds,
             (SELECT count(*)::int FROM transfers t WHERE t.call_id = c.id AND t.code = 'call_hold' AND t.status = 'posted') AS posted,
             (SELECT count(*)::int FROM outbox_events e WHERE e.call_id = c.id AND e.type = 'call.settled') AS settled_events
      FROM calls c WHERE c.id = ANY(${ids}::uuid[])`
    if (rows.every((r) => r.status === 'settled') || Date.now() > deadline) break
    await sleep(250)
  }
  const byId = new Map(rows.map((r) => [r.id, r]))
  const endReasons: Record<string, number> = {}
  let chargedCents = 0
  let outlivedTheirMoney = 0
  const shortOfMoney: Array<{ name: string; memberId: string; rate: number }> = []
  const chargedByMember = new Map<string, number>()
  for (const call of calls) {
    const row = byId.get(call.callId)
    const name = `call ${call.index} (${call.callId})`
    if (call.start === 'refused') {
      if (row) problems.push(`${name}: refused, yet a call row exists`)
      continue
    }
    if (call.start !== 'started') continue
    if (!row) {
      problems.push(`${name}: started through the API but no call row exists`)
      continue
    }
    if (row.status !== 'settled' || !row.ended_at) {
      problems.push(`${name}: not settled (${row.status})`)
      continue
    }
    if (row.settled_events !== 1) problems.push(`${name}: ${row.settled_events} call.settled events, not exactly one`)
    endReasons[row.end_reason ?? '?'] = (endReasons[row.end_reason ?? '?'] ?? 0) + 1
    const startedMs = row.started_at.getTime()
    const endedMs = row.ended_at.getTime()
    const elapsed = endedMs - startedMs
    const P = row.period_ms
    const periodsStarted = elapsed <= row.grace_ms ? 0 : Math.ceil(elapsed / P)
    const charged = Number(row.charged_cents ?? -1)
    chargedCents += Math.max(0, charged)
    chargedByMember.set(row.member_id, (chargedByMember.get(row.member_id) ?? 0) + Math.max(0, charged))
    // Every started period is charged, as far as it was held: a period the member's money could not cover is never
    // charged (rule 2 ends the call there; a late platform lets it run on, unpaid, and that is checked below).
    const billable = Math.min(periodsStarted, row.holds)
    if (charged !== billable * row.rate_per_minute_cents || row.billed_minutes !== billable) {
      problems.push(`${name}: charged ${charged} for ${row.billed_minutes} periods; ${elapsed} ms makes ${periodsStarted} started, ${row.holds} held, × ${row.rate_per_minute_cents}`)
    }
    if (row.posted !== billable) problems.push(`${name}: ${row.posted} holds posted for ${billable} billable periods`)
    if (row.holds < periodsStarted) {
      // Only acceptable when the money had run out: the member's wallet must not cover one more period.
      outlivedTheirMoney += 1
      shortOfMoney.push({ name, memberId: row.member_id, rate: row.rate_per_minute_cents })
    }
    if (startedMs < call.startSentAt! - SLACK_MS || startedMs > call.startAnsweredAt! + SLACK_MS) {
      problems.push(`${name}: started_at lies outside the plugin's start requests`)
    }
    if (row.end_reason === 'funds_exhausted') {
      if (endedMs !== startedMs + row.holds * P) problems.push(`${name}: cut off at ${elapsed} ms, not at the unfunded boundary ${row.holds * P} ms`)
    } else if (row.end_reason === 'heartbeat_lost') {
      // Billed up to its last heartbeat: the time the platform recorded (the opening, or a heartbeat it received),
      // which lies between the plugin's first start request and its end request, never after the plugin went quiet.
      const lastBeat = row.last_heartbeat_at.getTime()
      const inside = endedMs >= call.startSentAt! - SLACK_MS && endedMs <= (call.endSentAt ?? Infinity) + SLACK_MS
      if (endedMs !== lastBeat || !inside) {
        problems.push(
          `${name}: ended for lost heartbeats at ${elapsed} ms (last heartbeat recorded at ${lastBeat - startedMs} ms; ` +
            `the plugin's start sent at ${call.startSentAt! - startedMs} ms, its end at ${(call.endSentAt ?? NaN) - startedMs} ms)`,
        )
      }
    } else if (row.end_reason === 'operator_hangup') {
      const answered = call.endFirstAnswerAt ?? call.settledAt ?? Infinity
      if (endedMs < call.endSentAt! - SLACK_MS || endedMs > answered + SLACK_MS) problems.push(`${name}: ended_at lies outside the plugin's end requests`)
    }
    if (call.settlement && (call.settlement.chargedCents !== charged || call.settlement.billedMinutes !== row.billed_minutes)) {
      problems.push(`${name}: the API answered ${call.settlement.chargedCents} cents, the ledger holds ${charged}`)
    }
  }
  // Each wallet: never negative, and exactly its funding less what its calls were charged.
  for (const member of members) {
    const [wallet] = await db.$queryRaw<{ available: bigint; pending: bigint }[]>`
      SELECT credits_posted - debits_posted - debits_pending AS available, debits_pending AS pending FROM accounts
      WHERE kind = 'member_wallet' AND owner_id = ${member.id}::uuid`
    const expected = member.fundedCents - (chargedByMember.get(member.id) ?? 0)
    if (!wallet || Number(wallet.available) !== expected || Number(wallet.pending) !== 0) {
      problems.push(`member ${member.id}: wallet ${wallet?.available} available (${wallet?.pending} held), expected ${expected}`)
    }
  }
  for (const short of shortOfMoney) {
    const [wallet] = await db.$queryRaw<{ available: bigint }[]>`
      SELECT credits_posted - debits_posted - debits_pending AS available FROM accounts
      WHERE kind = 'member_wallet' AND owner_id = ${short.memberId}::uuid`
    if (!wallet || Number(wallet.available) >= short.rate) {
      problems.push(`${short.name}: periods started that were never held, while the wallet could pay (${wallet?.available} cents left): unpaid time`)
    }
  }
  const ledger = await checkLedger(db)
  for (const v of ledger.violations) problems.push(`ledger: ${v.invariant}: ${v.detail}`)
  return {
    ok: problems.length === 0,
    problems,
    calls: { started: started.length, refused: calls.filter((c) => c.start === 'refused').length, settled: rows.filter((r) => r.status === 'settled').length, endReasons, chargedCents },
    ledger: { ok: ledger.ok, violations: ledger.violations.length },
    outlivedTheirMoney,
  }
}

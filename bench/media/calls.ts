import { randomUUID } from 'node:crypto'
import { openPlatformAccounts } from '../../activities/ledger/accounts.js'
import { creditMemberWallet } from '../../activities/wallets.js'
import type { PlatformConfig } from '../../config/env.js'
import { PlatformApi } from '../../plugin/src/core/platform-api.js'
import type { Db } from '../../prisma/client.js'
import { mediaJoinFor } from '../../web-remix/app/calls/call-media.server.js'
import type { PlatformServices } from '../../web-remix/app/plugin-api/services.server.js'
import { createCallRequestBatcher, type CallRequestBatcher } from '../support/call-requests.js'
import { mapLimit, sleep } from '../support/concurrency.js'
import { insertUsers } from '../support/participants.js'
import type { ParticipantPool } from './participant-pool.js'

/**
 * The platform's side of a media benchmark call, as it happens for real: the member asks for an audio call (recorded
 * as the website records it), the operator's plugin accepts it through the plugin API (201 connecting, with its
 * token for the call's room), the member's page gets its own token (web-remix/app/calls/call-media.server.ts), and
 * both parties join the room; the call starts when LiveKit's signed webhooks say both are there.
 */

export const PASSWORD = 'bench-password-not-secret'

export interface Pair {
  index: number
  operatorId: string
  operatorEmail: string
  memberId: string
  memberName: string
  rateCents: number
  api: PlatformApi
}

export interface MediaCall {
  callId: string
  pair: Pair
  /** Party ids in the participant pool: one each. */
  operatorParty: string
  memberParty: string
  failure?: string
}

export interface CallRow {
  id: string
  status: string
  endReason: string | null
  startedAt: Date
  endedAt: Date | null
  billedMinutes: number | null
  chargedCents: bigint | null
  ratePerMinuteCents: number
  periodMs: number
  graceMs: number
}

/** Operators (signed in through the plugin API) and members, `fundedCents` each. */
export async function preparePairs(
  db: Db,
  webUrl: string,
  options: { count: number; runTag: string; label: string; fundedCents: (rateCents: number) => number; rateCents: number },
): Promise<Pair[]> {
  const { count, runTag, label } = options
  // The funding comes from the platform's adjustments account (a fresh database has none until the first user).
  await openPlatformAccounts(db)
  const operators = await insertUsers(
    db,
    PASSWORD,
    Array.from({ length: count }, (_, i) => ({
      role: 'operator' as const,
      email: `media-${runTag}-${label}-op-${i}@bench.test`,
      displayName: `Media operator ${label} ${i}`,
      ratePerMinuteCents: options.rateCents,
    })),
  )
  const members = await insertUsers(
    db,
    PASSWORD,
    Array.from({ length: count }, (_, i) => ({
      role: 'member' as const,
      email: `media-${runTag}-${label}-member-${i}@bench.test`,
      displayName: `Media member ${label} ${i}`,
    })),
  )
  return mapLimit(
    operators.map((operator, i) => ({ operator, member: members[i]!, i })),
    8,
    async ({ operator, member, i }): Promise<Pair> => {
      await creditMemberWallet(db, {
        transferId: `media:${runTag}:${label}:fund:${i}`,
        memberId: member.id,
        amountCents: options.fundedCents(options.rateCents),
        source: 'adjustments',
        code: 'wallet_adjustment',
        memo: 'media benchmark funding',
      })
      const api = new PlatformApi({ baseUrl: webUrl })
      await api.login(operator.email, PASSWORD)
      await api.presence('online')
      return { index: i, operatorId: operator.id, operatorEmail: operator.email, memberId: member.id, memberName: member.displayName, rateCents: options.rateCents, api }
    },
  )
}

export interface CallDriver {
  /** Request, accept, both join; resolves once both parties are in the room (not yet once the call is active). */
  start(pair: Pair): Promise<MediaCall>
  /** Both parties leave: the member first, so the call ends `member_left`. */
  hangUp(call: MediaCall): Promise<void>
}

/** `pool`: the participant processes of the phase under way (each phase gets fresh ones). */
export function callDriver(db: Db, config: PlatformConfig, pool: () => ParticipantPool): CallDriver {
  const requests: CallRequestBatcher = createCallRequestBatcher(db)
  const services = { db, config } as unknown as PlatformServices
  return {
    async start(pair) {
      const callId = randomUUID()
      const call: MediaCall = { callId, pair, operatorParty: `${callId}:operator`, memberParty: `${callId}:member` }
      const requestId = await requests.ask({
        memberId: pair.memberId,
        operatorId: pair.operatorId,
        mode: 'per_minute',
        prepaidMinutes: null,
        ratePerMinuteCents: pair.rateCents,
        channel: 'audio',
      })
      const started = await pair.api.startCall({ callId, requestId })
      if (!started.media) throw new Error(`call ${callId} was accepted without a room (status ${started.status})`)
      const memberJoin = await mediaJoinFor(services, { id: callId, channel: 'audio', status: 'connecting' }, { id: pair.memberId, displayName: pair.memberName })
      if (!memberJoin) throw new Error(`no room for the member of call ${callId}`)
      await Promise.all([
        pool().join(call.operatorParty, { url: started.media.url, token: started.media.token }),
        pool().join(call.memberParty, { url: memberJoin.url, token: memberJoin.token }),
      ])
      return call
    },
    async hangUp(call) {
      await pool().leave(call.memberParty)
      await pool().leave(call.operatorParty)
    },
  }
}

export async function readCalls(db: Db, ids: string[]): Promise<CallRow[]> {
  if (ids.length === 0) return []
  return db.call.findMany({
    where: { id: { in: ids } },
    select: {
      id: true,
      status: true,
      endReason: true,
      startedAt: true,
      endedAt: true,
      billedMinutes: true,
      chargedCents: true,
      ratePerMinuteCents: true,
      periodMs: true,
      graceMs: true,
    },
  }) as Promise<CallRow[]>
}

/** Polls the calls' rows until every one satisfies `done` or the time is up; answers the last rows read. */
export async function waitForCalls(db: Db, ids: string[], done: (row: CallRow) => boolean, timeoutMs: number): Promise<CallRow[]> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const rows = await readCalls(db, ids)
    if ((rows.length === ids.length && rows.every(done)) || Date.now() > deadline) return rows
    await sleep(250)
  }
}

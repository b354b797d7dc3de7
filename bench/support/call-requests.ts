import { recordCallRequests, type NewCallRequest } from '../../activities/call-requests.js'
import type { PlatformConfig } from '../../config/env.js'
import type { Db } from '../../prisma/client.js'
import { getTemporalClient } from '../../temporal/client.js'
import { confirmConnected } from '../../web-remix/app/calls/member-calls.server.js'
import type { PlatformServices } from '../../web-remix/app/plugin-api/services.server.js'

/**
 * The members' side of a load run: each call answers a request its member made, recorded the way the website records
 * one (activities/call-requests.ts), many in one statement. Requests are made just before their call starts (a request
 * lapses after two minutes, and the ramp is longer than that), gathered for a few milliseconds into batches, so a
 * burst of thousands of starts costs a few statements, not thousands.
 */

export interface CallRequestBatcher {
  /** Records the member's request and answers its id once the batch holding it has committed. */
  ask(request: NewCallRequest): Promise<string>
  /** Statements made and requests recorded so far. */
  stats(): { statements: number; requests: number }
}

export function createCallRequestBatcher(db: Db, options: { gatherMs?: number; maxBatch?: number } = {}): CallRequestBatcher {
  const gatherMs = options.gatherMs ?? 20
  const maxBatch = options.maxBatch ?? 500
  const queue: Array<{ request: NewCallRequest; resolve: (id: string) => void; reject: (error: unknown) => void }> = []
  let timer: ReturnType<typeof setTimeout> | undefined
  let statements = 0
  let requests = 0

  const flush = () => {
    timer = undefined
    const batch = queue.splice(0, maxBatch)
    if (queue.length > 0) timer = setTimeout(flush, 0)
    if (batch.length === 0) return
    statements += 1
    recordCallRequests(db, batch.map((item) => item.request)).then(
      (recorded) => {
        requests += recorded.length
        recorded.forEach((row, i) => batch[i]!.resolve(row.id))
      },
      (error: unknown) => batch.forEach((item) => item.reject(error)),
    )
  }

  return {
    ask(request) {
      return new Promise<string>((resolve, reject) => {
        queue.push({ request, resolve, reject })
        timer ??= setTimeout(flush, queue.length >= maxBatch ? 0 : gatherMs)
      })
    },
    stats: () => ({ statements, requests }),
  }
}

/**
 * The member's confirmation that a call on an outside app is connected, as their call page's button makes it
 * (web-remix/app/calls/member-calls.server.ts): the call starts then.
 */
export function memberConfirmation(db: Db, config: PlatformConfig): (memberId: string, callId: string) => Promise<boolean> {
  let temporal: ReturnType<typeof getTemporalClient> | undefined
  const services = {
    db,
    config,
    temporal: () => (temporal ??= getTemporalClient({ address: config.TEMPORAL_ADDRESS, namespace: config.TEMPORAL_NAMESPACE })),
  } as unknown as PlatformServices
  return (memberId, callId) => confirmConnected(services, { id: memberId, email: '', displayName: '', role: 'member', emailVerified: true }, callId)
}

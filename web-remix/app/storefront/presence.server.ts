import pg from 'pg'
import type { Db } from '../../../prisma/client.js'
import { shownPresenceOf, type ShownPresence } from './operators.server.js'
import { serverSentEvents } from '../sse.server.js'

/**
 * Live presence for the storefront (docs/decisions/011-presence-stream.md). Triggers NOTIFY `operator_presence` with
 * an operator's id when their reported presence changes, and when one of their calls opens or settles. A web process
 * keeps ONE listening connection, and only while some browser is watching; each notification costs one read of the
 * shown presence, whatever the number of browsers. A presence that simply expires (the plugin went quiet) writes
 * nothing, so the hub also looks, every few seconds while someone watches, for presences that expired since its
 * last look.
 */

export const PRESENCE_CHANNEL = 'operator_presence'

export interface PresenceChange {
  operatorId: string
  presence: ShownPresence
}

export type PresenceSubscriber = (change: PresenceChange) => void

export interface PresenceHub {
  subscribe(subscriber: PresenceSubscriber): () => void
  /** The number of browsers watching (tests use it to wait for a stream to be listening). */
  readonly watching: number
}

const RECONNECT_MIN_MS = 250
const RECONNECT_MAX_MS = 5_000

export function createPresenceHub(deps: { databaseUrl: string; db: Db; sweepMs?: number; log?: (message: string) => void }): PresenceHub {
  const log = deps.log ?? ((message: string) => console.warn(`presence: ${message}`))
  const sweepMs = deps.sweepMs ?? 2_000
  const subscribers = new Set<PresenceSubscriber>()
  let client: pg.Client | undefined
  let connecting: Promise<void> | undefined
  let reconnectTimer: NodeJS.Timeout | undefined
  let reconnectDelay = RECONNECT_MIN_MS
  let sweepTimer: NodeJS.Timeout | undefined
  let sweptUntil: Date | undefined
  let sweeping = false

  const announce = async (operatorIds: string[]) => {
    if (operatorIds.length === 0 || subscribers.size === 0) return
    const shown = await shownPresenceOf(deps.db, operatorIds)
    for (const operatorId of operatorIds) {
      const change = { operatorId, presence: shown.get(operatorId) ?? 'offline' }
      for (const subscriber of subscribers) subscriber(change)
    }
  }

  const onNotification = (message: pg.Notification) => {
    if (message.channel !== PRESENCE_CHANNEL || !message.payload) return
    announce([message.payload]).catch((error: unknown) => log(`could not read presence: ${(error as Error).message}`))
  }

  async function sweep(): Promise<void> {
    if (sweeping || subscribers.size === 0) return
    sweeping = true
    try {
      const [row] = await deps.db.$queryRaw<{ now: Date; expired: string[] }[]>`
        SELECT now() AS now, coalesce(array_agg(user_id::text), '{}') AS expired
        FROM operators
        WHERE presence <> 'offline' AND presence_expires_at <= now()
          AND presence_expires_at > ${sweptUntil ?? new Date(0)}`
      const first = sweptUntil === undefined
      sweptUntil = row?.now ?? sweptUntil
      // The first look only sets the mark: the page a browser loaded already showed what had expired before.
      if (!first && row) await announce(row.expired)
    } catch (error) {
      log(`could not look for expired presences: ${(error as Error).message}`)
    } finally {
      sweeping = false
    }
  }

  function scheduleReconnect(): void {
    if (reconnectTimer || subscribers.size === 0) return
    const delay = reconnectDelay
    reconnectDelay = Math.min(reconnectDelay * 2, RECONNECT_MAX_MS)
    reconnectTimer = setTimeout(() => {
      reconnectTimer = undefined
      void connect()
    }, delay)
    reconnectTimer.unref()
  }

  function dropConnection(lost: pg.Client, why: string | null): void {
    if (client === lost) client = undefined
    lost.removeAllListeners('notification')
    lost.end().catch(() => undefined)
    if (why !== null && subscribers.size > 0) {
      log(`listening connection lost (${why}); reconnecting`)
      scheduleReconnect()
    }
  }

  function connect(): Promise<void> {
    if (client || subscribers.size === 0) return Promise.resolve()
    connecting ??= (async () => {
      const candidate = new pg.Client({ connectionString: deps.databaseUrl, keepAlive: true })
      candidate.on('error', (error) => dropConnection(candidate, error.message))
      candidate.on('end', () => {
        if (client === candidate) dropConnection(candidate, 'connection ended')
      })
      try {
        await candidate.connect()
        candidate.on('notification', onNotification)
        await candidate.query(`LISTEN ${candidate.escapeIdentifier(PRESENCE_CHANNEL)}`)
        if (subscribers.size === 0) {
          await candidate.end()
          return
        }
        client = candidate
        reconnectDelay = RECONNECT_MIN_MS
      } catch (error) {
        dropConnection(candidate, null)
        log(`could not listen on ${PRESENCE_CHANNEL}: ${(error as Error).message}`)
        scheduleReconnect()
      }
    })().finally(() => {
      connecting = undefined
    })
    return connecting
  }

  function stopWhenIdle(): void {
    if (subscribers.size > 0) return
    clearInterval(sweepTimer)
    sweepTimer = undefined
    sweptUntil = undefined
    clearTimeout(reconnectTimer)
    reconnectTimer = undefined
    const current = client
    client = undefined
    if (current) dropConnection(current, null)
  }

  return {
    subscribe(subscriber) {
      subscribers.add(subscriber)
      void connect()
      if (!sweepTimer) {
        void sweep()
        sweepTimer = setInterval(() => void sweep(), sweepMs)
        sweepTimer.unref()
      }
      return () => {
        subscribers.delete(subscriber)
        stopWhenIdle()
      }
    },
    get watching() {
      return subscribers.size
    },
  }
}

const hubs = new Map<string, PresenceHub>()

/** The process's presence hub for a database (one LISTEN connection per process, held only while watched). */
export function presenceHub(databaseUrl: string, db: Db): PresenceHub {
  let hub = hubs.get(databaseUrl)
  if (!hub) {
    hub = createPresenceHub({ databaseUrl, db })
    hubs.set(databaseUrl, hub)
  }
  return hub
}

export const MAX_WATCHED_OPERATORS = 100

/**
 * A browser's presence stream: first the current presence of the operators its page shows, then each change to one
 * of them, as `event: presence` with `{operatorId, presence}`.
 */
export function presenceStream(options: { hub: PresenceHub; db: Db; operatorIds: string[]; signals: AbortSignal[]; onEnd?: () => void }): Response {
  const { hub, db } = options
  const watched = new Set(options.operatorIds.slice(0, MAX_WATCHED_OPERATORS))
  return serverSentEvents({
    signals: options.signals,
    retryMs: 3_000,
    onEnd: options.onEnd,
    start({ write, stop }) {
      const send = (change: PresenceChange) => write(`event: presence\ndata: ${JSON.stringify(change)}\n\n`)
      // Subscribed before the snapshot is read, so a change in between is sent (perhaps twice, never lost).
      const unsubscribe = hub.subscribe((change) => {
        if (watched.has(change.operatorId)) send(change)
      })
      shownPresenceOf(db, [...watched]).then(
        (shown) => {
          for (const [operatorId, presence] of shown) send({ operatorId, presence })
        },
        (error: unknown) => {
          console.warn(`presence: could not read the snapshot: ${(error as Error).message}`)
          stop()
        },
      )
      return unsubscribe
    },
  })
}

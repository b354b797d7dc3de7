import pg from 'pg'
import { OUTBOX_CHANNEL, type OutboxNotification } from '../../../activities/outbox.js'
import type { Db } from '../../../prisma/client.js'
import { serverSentEvents } from '../sse.server.js'

/**
 * The outbox, streamed. Workflows write what users must see to outbox_events and NOTIFY OUTBOX_CHANNEL in the same
 * transaction (activities/outbox.ts). A web process keeps ONE listening connection, however many plugins are
 * connected, and fans each notification out to the streams of the operator it concerns. The NOTIFY carries only the
 * event's id, so the event itself is read from the table, which is also where a reconnecting client's missed events
 * come from (Last-Event-ID).
 */

export interface OutboxEvent {
  id: bigint
  type: string
  payload: unknown
}

/** Whose events a stream carries: an operator's (the plugin) or a member's (the member's pages). */
export type Audience = { operatorId: string } | { memberId: string }

function audienceKey(audience: Audience): string {
  return 'operatorId' in audience ? `operator:${audience.operatorId}` : `member:${audience.memberId}`
}

export interface OutboxSubscriber {
  /** A live event for this subscriber's audience. */
  deliver(event: OutboxEvent): void
  /**
   * The listening connection is up, the first time or again after a loss: notifications may have been missed
   * meanwhile (or before it first listened), so what the table holds is to be read again.
   */
  resync(): void
  /** The listener is closing (the web server is shutting down). */
  end(): void
}

export interface OutboxListener {
  subscribe(audience: Audience, subscriber: OutboxSubscriber): () => void
  /** The audience's events after `afterId`, oldest first, from the table. */
  eventsAfter(audience: Audience, afterId: bigint, limit: number): Promise<OutboxEvent[]>
  /** The audience's newest event id now (0 if none): where a stream of only new events starts. */
  latestId(audience: Audience): Promise<bigint>
  close(): Promise<void>
}

const RECONNECT_MIN_MS = 250
const RECONNECT_MAX_MS = 5_000

export function createOutboxListener(deps: {
  databaseUrl: string
  db: Db
  log?: (message: string) => void
}): OutboxListener {
  const log = deps.log ?? ((message: string) => console.warn(`events: ${message}`))
  const subscribers = new Map<string, Set<OutboxSubscriber>>()
  let client: pg.Client | undefined
  let connecting: Promise<void> | undefined
  let reconnectTimer: NodeJS.Timeout | undefined
  let reconnectDelay = RECONNECT_MIN_MS
  let closed = false

  async function readEvent(id: string): Promise<(OutboxEvent & { operator_id: string | null; member_id: string | null }) | undefined> {
    const rows = await deps.db.$queryRaw<(OutboxEvent & { operator_id: string | null; member_id: string | null })[]>`
      SELECT id, type, payload, operator_id::text, member_id::text FROM outbox_events WHERE id = ${id}::bigint`
    return rows[0]
  }

  let deliveries: Promise<void> = Promise.resolve()

  function onNotification(message: pg.Notification): void {
    if (message.channel !== OUTBOX_CHANNEL || !message.payload) return
    let notification: OutboxNotification
    try {
      notification = JSON.parse(message.payload) as OutboxNotification
    } catch {
      return
    }
    if (!/^\d+$/.test(String(notification.id))) return
    const keys = [
      notification.operatorId ? audienceKey({ operatorId: notification.operatorId }) : null,
      notification.memberId ? audienceKey({ memberId: notification.memberId }) : null,
    ].filter((key): key is string => key !== null && subscribers.has(key))
    if (keys.length === 0) return
    // The audience is checked against the row, not the notification: only the table says whose an event is. Rows are
    // read side by side but delivered in the order their notifications came (commit order): two events of one
    // transaction (call.ending, call.settled) must not overtake each other.
    const read = readEvent(String(notification.id))
    deliveries = deliveries.then(() => read).then(
      (row) => {
        if (!row) return
        const event: OutboxEvent = { id: row.id, type: row.type, payload: row.payload }
        for (const key of keys) {
          const owner = key.startsWith('operator:') ? row.operator_id : row.member_id
          if (owner !== key.slice(key.indexOf(':') + 1)) continue
          for (const subscriber of subscribers.get(key) ?? []) subscriber.deliver(event)
        }
      },
      (error: unknown) => log(`could not read outbox event ${notification.id}: ${(error as Error).message}`),
    )
  }

  function scheduleReconnect(): void {
    if (closed || reconnectTimer) return
    const delay = reconnectDelay
    reconnectDelay = Math.min(reconnectDelay * 2, RECONNECT_MAX_MS)
    reconnectTimer = setTimeout(() => {
      reconnectTimer = undefined
      void connect()
    }, delay)
    reconnectTimer.unref()
  }

  function onConnectionLost(lost: pg.Client, why: string): void {
    if (client !== lost) return
    client = undefined
    lost.removeAllListeners('notification')
    lost.end().catch(() => undefined)
    if (!closed) {
      log(`listening connection lost (${why}); reconnecting`)
      scheduleReconnect()
    }
  }

  function connect(): Promise<void> {
    if (closed || client) return Promise.resolve()
    connecting ??= (async () => {
      const candidate = new pg.Client({ connectionString: deps.databaseUrl, keepAlive: true })
      candidate.on('error', (error) => onConnectionLost(candidate, error.message))
      candidate.on('end', () => onConnectionLost(candidate, 'connection ended'))
      try {
        await candidate.connect()
        candidate.on('notification', onNotification)
        await candidate.query(`LISTEN ${candidate.escapeIdentifier(OUTBOX_CHANNEL)}`)
        if (closed) {
          await candidate.end()
          return
        }
        client = candidate
        reconnectDelay = RECONNECT_MIN_MS
        // Subscribers that came before this connection listened (the first one too) may have missed notifications.
        for (const set of subscribers.values()) for (const subscriber of set) subscriber.resync()
      } catch (error) {
        candidate.removeAllListeners('notification')
        candidate.end().catch(() => undefined)
        log(`could not listen on ${OUTBOX_CHANNEL}: ${(error as Error).message}`)
        scheduleReconnect()
      }
    })().finally(() => {
      connecting = undefined
    })
    return connecting
  }

  return {
    subscribe(audience, subscriber) {
      const key = audienceKey(audience)
      let set = subscribers.get(key)
      if (!set) subscribers.set(key, (set = new Set()))
      set.add(subscriber)
      void connect()
      return () => {
        set.delete(subscriber)
        if (set.size === 0 && subscribers.get(key) === set) subscribers.delete(key)
      }
    },

    async eventsAfter(audience, afterId, limit) {
      if ('operatorId' in audience) {
        return deps.db.$queryRaw<OutboxEvent[]>`
          SELECT id, type, payload FROM outbox_events
          WHERE operator_id = ${audience.operatorId}::uuid AND id > ${afterId.toString()}::bigint
          ORDER BY id LIMIT ${limit}`
      }
      return deps.db.$queryRaw<OutboxEvent[]>`
        SELECT id, type, payload FROM outbox_events
        WHERE member_id = ${audience.memberId}::uuid AND id > ${afterId.toString()}::bigint
        ORDER BY id LIMIT ${limit}`
    },

    async latestId(audience) {
      const [row] =
        'operatorId' in audience
          ? await deps.db.$queryRaw<{ id: bigint }[]>`
              SELECT coalesce(max(id), 0)::bigint AS id FROM outbox_events WHERE operator_id = ${audience.operatorId}::uuid`
          : await deps.db.$queryRaw<{ id: bigint }[]>`
              SELECT coalesce(max(id), 0)::bigint AS id FROM outbox_events WHERE member_id = ${audience.memberId}::uuid`
      return BigInt(row!.id)
    },

    async close() {
      closed = true
      clearTimeout(reconnectTimer)
      for (const set of subscribers.values()) for (const subscriber of set) subscriber.end()
      subscribers.clear()
      await connecting?.catch(() => undefined)
      const current = client
      client = undefined
      await current?.end().catch(() => undefined)
    },
  }
}

/** What a member may not see of an event addressed to both sides: how the operator's side splits the money. */
const OPERATOR_ONLY_FIELDS = new Set(['operatorEarningsCents', 'commissionCents', 'companyShareCents'])

function payloadFor(audience: Audience, payload: unknown): unknown {
  if ('operatorId' in audience || payload === null || typeof payload !== 'object') return payload
  return Object.fromEntries(Object.entries(payload).filter(([key]) => !OPERATOR_ONLY_FIELDS.has(key)))
}

const REPLAY_PAGE = 500
/** How often an open stream asks whether its session or token still holds (one indexed read). */
export const AUTH_RECHECK_MS = 5_000
/** How many delivered ids a stream remembers, to drop an event it already sent (a replay overlapping live ones). */
const REMEMBERED_IDS = 1_000

/**
 * One audience's event stream (an operator's plugin, a member's pages) as a text/event-stream response. With `afterId`
 * (from Last-Event-ID) the events the client missed are replayed from the table first; live events wait behind the
 * replay, and none is sent twice.
 */
export function outboxEventStream(options: {
  listener: OutboxListener
  audience: Audience
  afterId: bigint | null
  /** Any of them aborting (the client went away) ends the stream. */
  signals: AbortSignal[]
  /**
   * Whether the credential the stream was opened with still holds (the session, the token). Asked every few seconds;
   * a "no", or no answer at all, ends the stream: one logged out, revoked, suspended or expired sees nothing more.
   */
  stillAuthorised: () => Promise<boolean>
  /** Called once when the stream has ended (frees its slot). */
  onEnd?: () => void
}): Response {
  const { listener, audience } = options
  return serverSentEvents({
    signals: options.signals,
    retryMs: 2_000,
    onEnd: options.onEnd,
    start({ write, stop }) {
      let cursor = options.afterId ?? 0n
      let open = true
      const delivered = new Set<bigint>()
      // Everything is written from one promise chain, so events go out in the order they were queued.
      let queue: Promise<void> = Promise.resolve()

      const send = (event: OutboxEvent) => {
        const id = BigInt(event.id)
        if (delivered.has(id)) return
        delivered.add(id)
        if (delivered.size > REMEMBERED_IDS) delivered.delete(delivered.values().next().value!)
        if (id > cursor) cursor = id
        write(`id: ${id}\nevent: ${event.type}\ndata: ${JSON.stringify(payloadFor(audience, event.payload))}\n\n`)
      }
      const enqueue = (task: () => Promise<void> | void) => {
        queue = queue.then(task).catch((error: unknown) => {
          console.warn(`events: stream for ${audienceKey(audience)} failed: ${(error as Error).message}`)
          stop()
        })
      }
      const replayAfterCursor = async () => {
        for (;;) {
          if (!open) return
          const events = await listener.eventsAfter(audience, cursor, REPLAY_PAGE)
          for (const event of events) send(event)
          if (events.length < REPLAY_PAGE) return
        }
      }

      // A stream of only new events starts after the newest one now, so that what the listener replays on its
      // first connection (events it could not hear yet) is only what came after the stream opened.
      if (options.afterId === null) {
        enqueue(async () => {
          const latest = await listener.latestId(audience)
          if (latest > cursor) cursor = latest
        })
      }
      const unsubscribe = listener.subscribe(audience, {
        deliver: (event) => enqueue(() => send(event)),
        resync: () => enqueue(replayAfterCursor),
        end: () => stop(),
      })
      if (options.afterId !== null) enqueue(replayAfterCursor)
      // Live events go out as they come; between two checks at most AUTH_RECHECK_MS of them can follow a revocation.
      let checking = false
      const recheck = setInterval(() => {
        if (checking) return
        checking = true
        options.stillAuthorised().then(
          (ok) => {
            checking = false
            if (!ok) stop()
          },
          (error: unknown) => {
            checking = false
            console.warn(`events: stream for ${audienceKey(audience)} closed, its credential could not be checked: ${(error as Error).message}`)
            stop()
          },
        )
      }, AUTH_RECHECK_MS)
      recheck.unref()
      return () => {
        open = false
        clearInterval(recheck)
        unsubscribe()
      }
    },
  })
}

/** The replay cursor from a Last-Event-ID header: absent or empty means "only new events". */
export function parseLastEventId(header: string | null): bigint | null | 'invalid' {
  if (header === null || header.trim() === '') return null
  const value = header.trim()
  if (!/^\d{1,19}$/.test(value)) return 'invalid'
  const id = BigInt(value)
  return id <= 9_223_372_036_854_775_807n ? id : 'invalid'
}

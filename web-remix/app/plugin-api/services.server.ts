import type { AppLoadContext } from '@remix-run/node'
import { Client, Connection } from '@temporalio/client'
import { loadConfig, type PlatformConfig } from '../../../config/env.js'
import { createDb, type Db } from '../../../prisma/client.js'
import { EventStreamSlots } from '../sse.server.js'
import { createOutboxListener, type OutboxListener } from './events.server.js'

/**
 * What the web's loaders and actions need from the outside world: the validated configuration, one Prisma client,
 * one Temporal client and one LISTEN connection for the event streams. A web process creates them once.
 *
 * web-remix/server.ts creates them and hands them to every request through Remix's load context, so a test can run
 * a web server with its own configuration (its own task queue, a short billing period) and close everything it
 * opened. Without a load context (`remix vite:dev`) the process's own services are made from loadConfig().
 */
export interface PlatformServices {
  readonly config: PlatformConfig
  readonly db: Db
  /** Connected on first use, so pages are served even while Temporal is still starting. */
  temporal(): Promise<Client>
  readonly outbox: OutboxListener
  /** The event streams open in this process, per client and per address, within their caps. */
  readonly eventStreams: EventStreamSlots
  close(): Promise<void>
}

declare module '@remix-run/node' {
  interface AppLoadContext {
    services?: PlatformServices
    /** Aborted when the client's connection closes (see web-remix/server.ts); long responses stop on it. */
    responseClosed?: AbortSignal
    /** The client's address (behind a trusted proxy, the one it forwarded); null when unknown. */
    clientAddress?: string | null
    /** This response's Content-Security-Policy nonce (web-remix/http/security-headers.ts), for the document's scripts. */
    cspNonce?: string
  }
}

export function createPlatformServices(config: PlatformConfig): PlatformServices {
  const db = createDb(config.DATABASE_URL)
  const outbox = createOutboxListener({ databaseUrl: config.DATABASE_URL, db })
  let temporal: Promise<{ connection: Connection; client: Client }> | undefined

  function connectTemporal() {
    const connecting = Connection.connect({ address: config.TEMPORAL_ADDRESS }).then((connection) => ({
      connection,
      client: new Client({ connection, namespace: config.TEMPORAL_NAMESPACE }),
    }))
    // A failed connection is forgotten, so the next request tries again instead of failing forever.
    connecting.catch(() => {
      if (temporal === connecting) temporal = undefined
    })
    return connecting
  }

  return {
    config,
    db,
    eventStreams: new EventStreamSlots({ perClient: config.EVENT_STREAMS_PER_CLIENT, perAddress: config.EVENT_STREAMS_PER_ADDRESS }),
    async temporal() {
      temporal ??= connectTemporal()
      return (await temporal).client
    },
    outbox,
    async close() {
      const pending = temporal
      temporal = undefined
      await Promise.allSettled([
        outbox.close(),
        db.$disconnect(),
        pending?.then(({ connection }) => connection.close()),
      ])
    },
  }
}

let processServices: PlatformServices | undefined

/** The services of this request: those the server passed in, else the process's own. */
export function servicesFrom(context: AppLoadContext | undefined): PlatformServices {
  if (context?.services) return context.services
  processServices ??= createPlatformServices(loadConfig())
  return processServices
}

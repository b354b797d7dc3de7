import { existsSync } from 'node:fs'
import type { AddressInfo, Socket } from 'node:net'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { createRequestHandler } from '@remix-run/express'
import type { ServerBuild } from '@remix-run/node'
import express, { type ErrorRequestHandler } from 'express'
import { parseTrustProxy } from '../config/addresses.js'
import { ConfigError, loadConfig, type PlatformConfig } from '../config/env.js'
import { createHeartbeatRecorder } from './app/plugin-api/heartbeat.server.js'
import { createPlatformServices } from './app/plugin-api/services.server.js'
import { hostServes, parsePublicHosts } from './app/backoffice/portal-hosts.js'
import { acceptOnlyFormBodies, refuseForeignOrigins } from './http/request-guards.js'
import { assignCspNonce, securityHeaders } from './http/security-headers.js'

/**
 * The web process: serves the built Remix app (portals and the plugin API) with Express.
 * Build it first with `remix vite:build --config web-remix/vite.config.ts`.
 */

const buildDirectory = fileURLToPath(new URL('./build/', import.meta.url))
export const serverBuildPath = `${buildDirectory}server/index.js`
const clientBuildDirectory = `${buildDirectory}client`

/** How long requests in flight may take to finish when the server closes. */
const SHUTDOWN_GRACE_MS = 10_000

export interface WebServer {
  url: string
  close(): Promise<void>
}

export class WebBuildMissingError extends Error {
  override name = 'WebBuildMissingError'
}

/**
 * Aborted when the client's connection goes away. Remix hands loaders a copy of the request whose signal follows the
 * original only through a weak reference (undici), so after a garbage collection a long-lived response such as an
 * event stream may never hear of the disconnect; the response's own 'close' event always arrives.
 */
function closedSignal(response: express.Response): AbortSignal {
  const controller = new AbortController()
  response.once('close', () => controller.abort())
  return controller.signal
}

export async function startWebServer(options: { config: PlatformConfig; port?: number; host?: string }): Promise<WebServer> {
  const { config } = options
  if (!existsSync(serverBuildPath)) {
    throw new WebBuildMissingError(
      `the web app is not built (${serverBuildPath} is missing); run: npx remix vite:build --config web-remix/vite.config.ts`,
    )
  }
  const build = (await import(pathToFileURL(serverBuildPath).href)) as ServerBuild
  const services = createPlatformServices(config)
  const heartbeats = createHeartbeatRecorder(config.DATABASE_URL)

  const app = express()
  app.disable('x-powered-by')
  // Express's own error pages carry stack traces unless its env says production; only development shows them.
  app.set('env', config.NODE_ENV === 'development' ? 'development' : 'production')
  // X-Forwarded-For is believed only from proxies the configuration names (TRUST_PROXY); otherwise the peer's address.
  app.set('trust proxy', parseTrustProxy(config.TRUST_PROXY))
  // On every response, whatever answers it (http/security-headers.ts).
  app.use(assignCspNonce, securityHeaders(config))
  // Responses in progress, so that closing the server can end the event streams among them.
  const inProgress = new Set<express.Response>()
  app.use((_request, response, next) => {
    inProgress.add(response)
    response.once('close', () => inProgress.delete(response))
    next()
  })
  // Portals by host (PUBLIC_HOSTS): the admin host alone serves the admin portal.
  const publicHosts = parsePublicHosts(config.PUBLIC_HOSTS)
  app.use((request, response, next) => {
    if (hostServes(publicHosts, request.headers.host, request.path)) return next()
    response.status(404).type('text/plain').send('Not found on this host.')
  })
  // The plugin's heartbeat, nine requests in ten under load, answered in one statement when all is in order; anything
  // else goes on to its route, which answers it precisely (app/plugin-api/heartbeat.server.ts, docs/decisions/030).
  app.post('/api/plugin/v1/calls/:callId/heartbeat', (request, response, next) => {
    heartbeats.record(request.headers.authorization, request.params.callId!).then((recorded) => {
      if (!recorded) return next()
      response.status(204).set('Cache-Control', 'no-store').end()
    }, next)
  })
  // Fingerprinted by Vite: cache them for good.
  app.use('/assets', express.static(`${clientBuildDirectory}/assets`, { immutable: true, maxAge: '1y', fallthrough: true }))
  app.use(express.static(clientBuildDirectory, { maxAge: '1h' }))
  // Remix's data protocols (`/x.data`, `?_data=`) serve the browser's navigations of pages. Under /api/ there are no
  // pages: they would only re-encode a resource route's JSON (or its event stream) in Remix's wire format.
  // Form posts: from this site, and in a form's encoding (http/request-guards.ts).
  app.use(refuseForeignOrigins, acceptOnlyFormBodies)
  app.use('/api', (request, response, next) => {
    if (request.path.endsWith('.data') || new URL(request.originalUrl, 'http://localhost').searchParams.has('_data')) {
      response.status(404).json({ error: 'not_found', message: 'no such endpoint in the plugin API (see docs/api.md)' })
      return
    }
    next()
  })
  app.all(
    '*',
    createRequestHandler({
      build,
      // Remix's development mode puts errors' stack traces in the pages it serves: on a developer's machine only, not in
      // tests (which are what production does) and never in production.
      mode: config.NODE_ENV === 'development' ? 'development' : 'production',
      getLoadContext: (request, response) => ({
        services,
        responseClosed: closedSignal(response),
        clientAddress: request.ip ?? request.socket.remoteAddress ?? null,
        cspNonce: response.locals.cspNonce as string,
      }),
    }),
  )
  // Requests that never reach Remix because Express cannot make sense of them (a path with broken percent-encoding,
  // a Host header that makes no URL): answer JSON, never a stack trace.
  const lastResort: ErrorRequestHandler = (error: unknown, request, response, next) => {
    if (response.headersSent) return next(error)
    const failure = error as { status?: unknown; statusCode?: unknown; code?: unknown } | null
    const status = Number(failure?.status ?? failure?.statusCode)
    if ((status >= 400 && status < 500) || failure?.code === 'ERR_INVALID_URL') {
      response.status(status >= 400 && status < 500 ? status : 400).json({ error: 'bad_request', message: 'the request could not be understood' })
      return
    }
    console.error(`web: ${request.method} ${request.originalUrl} failed`, error)
    response.status(500).json({ error: 'internal_error', message: 'something went wrong on our side; it has been logged' })
  }
  app.use(lastResort)

  const host = options.host ?? config.WEB_HOST
  const server = app.listen(options.port ?? config.WEB_PORT, host)
  const sockets = new Set<Socket>()
  server.on('connection', (socket: Socket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
  })
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve)
      server.once('error', reject)
    })
  } catch (error) {
    await Promise.allSettled([services.close(), heartbeats.close()])
    throw error
  }
  const { port } = server.address() as AddressInfo
  const shownHost = host.includes(':') ? `[${host}]` : host

  let closing: Promise<void> | undefined
  return {
    url: `http://${shownHost}:${port}`,
    close() {
      closing ??= (async () => {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()))
        // Event streams never end by themselves: end them first, then cut every connection that carries no other
        // response. Node's closeIdleConnections() is not enough: it spares sockets that never sent a request (clients
        // open them ahead of time) and those of a client that stopped reading an event stream without closing it.
        // Requests in flight get a grace period to finish (a call start waits for its workflow), and the database
        // and Temporal connections stay open until they have.
        await services.outbox.close()
        const cutIdle = () => {
          const busy = new Set<unknown>()
          for (const response of inProgress) {
            if (!/text\/event-stream/i.test(String(response.getHeader('content-type') ?? ''))) busy.add(response.socket)
          }
          for (const socket of sockets) if (!busy.has(socket)) socket.destroy()
        }
        cutIdle()
        const sweep = setInterval(cutIdle, 25)
        const force = setTimeout(() => server.closeAllConnections(), SHUTDOWN_GRACE_MS)
        await stopped
        clearInterval(sweep)
        clearTimeout(force)
        await Promise.allSettled([services.close(), heartbeats.close()])
      })()
      return closing
    },
  }
}

async function main(): Promise<void> {
  const config = loadConfig()
  const web = await startWebServer({ config })
  console.log(`web: listening on ${web.url} (Temporal ${config.TEMPORAL_ADDRESS}, namespace ${config.TEMPORAL_NAMESPACE})`)
  let stopping = false
  const stop = (signal: string) => {
    if (stopping) return
    stopping = true
    console.log(`web: ${signal} received, closing`)
    web.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(`web: could not close cleanly: ${(error as Error).message}`)
        process.exit(1)
      },
    )
  }
  process.once('SIGTERM', () => stop('SIGTERM'))
  process.once('SIGINT', () => stop('SIGINT'))
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((error: unknown) => {
    const known = error instanceof ConfigError || error instanceof WebBuildMissingError
    const code = (error as { code?: unknown })?.code
    if (known) console.error(`web: ${(error as Error).message}`)
    else if (code === 'EADDRINUSE') console.error(`web: the port is already in use (${(error as Error).message}); set WEB_PORT`)
    else console.error(`web: could not start: ${(error as Error).message}`)
    process.exit(1)
  })
}

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

/**
 * The test run's LiveKit has one webhook URL, fixed when it starts, while web servers start per test file on free
 * ports (docs/decisions/070-livekit.md). This relay, started by the global set-up, is that URL: it forwards every
 * webhook LiveKit POSTs, verbatim (the raw body, its Authorization header and its Content-Type), to every target
 * registered at that moment, in the order LiveKit sent them, and answers LiveKit at once.
 *
 * Targets register over loopback HTTP (tests/support/livekit.ts does it for test files):
 *   POST   /targets        {"url": "http://127.0.0.1:PORT/webhooks/livekit"}  → 201 {"id": "…"}
 *   DELETE /targets/<id>                                                      → 204
 * Only loopback http:// targets are accepted. A target that fails or is slow delays only itself.
 */

export const RELAY_WEBHOOK_PATH = '/webhooks/livekit'

export interface WebhookRelay {
  /** http://127.0.0.1:PORT: where targets register. */
  url: string
  /** What LiveKit's config names as its webhook URL. */
  webhookUrl: string
  /** How many webhooks LiveKit delivered so far. */
  received(): number
  close(): Promise<void>
}

interface Delivery {
  body: Buffer
  authorization: string | undefined
  contentType: string | undefined
}

interface Target {
  url: string
  /** The tail of this target's queue: deliveries to one target go one after another. */
  queue: Promise<void>
}

const MAX_BODY_BYTES = 1024 * 1024
const FORWARD_TIMEOUT_MS = 5_000

export async function startWebhookRelay(options: { onForwardError?: (target: string, message: string) => void } = {}): Promise<WebhookRelay> {
  const targets = new Map<string, Target>()
  let nextId = 1
  let received = 0

  const forward = (target: Target, delivery: Delivery) => {
    target.queue = target.queue.then(async () => {
      try {
        const headers: Record<string, string> = { 'content-type': delivery.contentType ?? 'application/webhook+json' }
        if (delivery.authorization !== undefined) headers.authorization = delivery.authorization
        const response = await fetch(target.url, {
          method: 'POST',
          headers,
          body: new Uint8Array(delivery.body),
          signal: AbortSignal.timeout(FORWARD_TIMEOUT_MS),
        })
        await response.arrayBuffer()
      } catch (error) {
        options.onForwardError?.(target.url, (error as Error).message)
      }
    })
  }

  const server = createServer((request, response) => {
    void handle(request, response).catch(() => {
      if (!response.headersSent) response.writeHead(500).end()
    })
  })

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://relay')
    if (request.method === 'POST' && url.pathname === RELAY_WEBHOOK_PATH) {
      const body = await readBody(request)
      if (!body) return void response.writeHead(413).end()
      received += 1
      const delivery = { body, authorization: request.headers.authorization, contentType: request.headers['content-type'] }
      for (const target of targets.values()) forward(target, delivery)
      return void response.writeHead(200).end()
    }
    if (request.method === 'POST' && url.pathname === '/targets') {
      const body = await readBody(request)
      let target: string | undefined
      try {
        target = (JSON.parse(body?.toString('utf8') ?? '') as { url?: unknown }).url as string | undefined
      } catch {
        target = undefined
      }
      if (typeof target !== 'string' || !isLoopbackHttpUrl(target)) {
        return void response.writeHead(400, { 'content-type': 'text/plain' }).end('expected {"url": "http://127.0.0.1:PORT/…"}')
      }
      const id = String(nextId++)
      targets.set(id, { url: target, queue: Promise.resolve() })
      return void response.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ id }))
    }
    const match = /^\/targets\/([^/]+)$/.exec(url.pathname)
    if (request.method === 'DELETE' && match) {
      const target = targets.get(match[1]!)
      targets.delete(match[1]!)
      // What was already queued for it is still delivered; answer once it has been.
      await target?.queue
      return void response.writeHead(204).end()
    }
    response.writeHead(404).end()
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const { port } = server.address() as AddressInfo
  const url = `http://127.0.0.1:${port}`
  return {
    url,
    webhookUrl: `${url}${RELAY_WEBHOOK_PATH}`,
    received: () => received,
    close: async () => {
      await Promise.allSettled([...targets.values()].map((target) => target.queue))
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

function isLoopbackHttpUrl(text: string): boolean {
  try {
    const url = new URL(text)
    return url.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)
  } catch {
    return false
  }
}

async function readBody(request: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of request) {
    size += (chunk as Buffer).length
    if (size > MAX_BODY_BYTES) return undefined
    chunks.push(chunk as Buffer)
  }
  return Buffer.concat(chunks)
}

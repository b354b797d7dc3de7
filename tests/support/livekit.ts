import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { inject } from 'vitest'
import { createLiveKit, type LiveKit, type LiveKitSettings } from '../../activities/media/livekit.js'
import { sleep } from '../../temporal/setup/processes.js'

/**
 * LiveKit for test files: the run's server, which tests/support/global-setup.ts started on free ports with keys of the
 * run's own (process.env.LIVEKIT_*), and its webhooks, which arrive through the run's relay
 * (tests/support/livekit-webhook-relay.ts, docs/decisions/070-livekit.md).
 *
 * Rooms keep test files apart: name rooms after fresh call ids (roomNameForCall(randomUUID())). Webhooks of every room
 * reach every registered target, so a receiver looks only at its own rooms' events.
 */

/** The run's LiveKit, as the platform's configuration names it. */
export function testLiveKitSettings(): LiveKitSettings {
  const { LIVEKIT_URL, LIVEKIT_API_URL, LIVEKIT_API_KEY, LIVEKIT_API_SECRET } = process.env
  if (!LIVEKIT_URL || !LIVEKIT_API_URL || !LIVEKIT_API_KEY || !LIVEKIT_API_SECRET) {
    throw new Error('LIVEKIT_* is not set: run the tests through vitest, whose global set-up starts the test LiveKit')
  }
  return { url: LIVEKIT_URL, apiUrl: LIVEKIT_API_URL, apiKey: LIVEKIT_API_KEY, apiSecret: LIVEKIT_API_SECRET }
}

/** activities/media/livekit.ts on the run's LiveKit. */
export function testLiveKit(): LiveKit {
  return createLiveKit(testLiveKitSettings())
}

/**
 * Has LiveKit's webhooks forwarded to `url` (a web server's /webhooks/livekit, say) until the returned function is
 * called. tests/support/web-server.ts registers every web stack it starts.
 */
export async function registerWebhookTarget(url: string): Promise<() => Promise<void>> {
  const relay = inject('liveKitWebhookRelayUrl')
  const response = await fetch(`${relay}/targets`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ url }),
  })
  if (response.status !== 201) throw new Error(`the webhook relay refused ${url}: HTTP ${response.status} ${await response.text()}`)
  const { id } = (await response.json()) as { id: string }
  let done = false
  return async () => {
    if (done) return
    done = true
    await fetch(`${relay}/targets/${id}`, { method: 'DELETE' })
  }
}

/** One webhook as it arrived: the raw body and the Authorization header, for the verifier to judge. */
export interface ReceivedWebhook {
  body: string
  authorization: string | undefined
  contentType: string | undefined
}

export interface WebhookCollector {
  /** Its own loopback URL (registered with the relay). */
  url: string
  /** Every webhook received so far, in arrival order. */
  received(): readonly ReceivedWebhook[]
  /**
   * Waits until `predicate` holds for what was received (checked every 100 ms); returns what
   * it returned. Fails with what did arrive when it does not hold within timeoutMs.
   */
  waitFor<T>(predicate: (received: readonly ReceivedWebhook[]) => T | undefined | false, timeoutMs?: number): Promise<T>
  close(): Promise<void>
}

/** A loopback HTTP server that keeps every webhook the relay forwards to it, registered while it is open. */
export async function collectWebhooks(): Promise<WebhookCollector> {
  const received: ReceivedWebhook[] = []
  const server = createServer((request, response) => {
    void readText(request).then((body) => {
      received.push({ body, authorization: request.headers.authorization, contentType: request.headers['content-type'] })
      response.writeHead(200).end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/livekit`
  const unregister = await registerWebhookTarget(url)
  return {
    url,
    received: () => received,
    async waitFor(predicate, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs
      for (;;) {
        const result = predicate(received)
        if (result !== undefined && result !== false) return result
        if (Date.now() > deadline) {
          throw new Error(
            `the expected webhooks did not arrive within ${timeoutMs} ms; ${received.length} arrived:\n` +
              received.map((webhook) => `  ${webhook.body.slice(0, 200)}`).join('\n'),
          )
        }
        await sleep(100)
      }
    },
    async close() {
      await unregister()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

async function readText(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of request) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

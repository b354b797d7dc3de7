import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startWebStack, type WebStack } from '../support/web-server.js'
import { newUser, signedIn } from './backoffice-users.js'
import { signedInOperator } from './plugin-client.js'

// Event streams hold a connection for as long as the client likes, so one client (a browser session, a plugin token)
// and one address may hold only so many open at once: the plugin's stream, the member's call stream and the
// storefront's presence stream answer 429 beyond their caps (docs/decisions/058-requests-within-bounds.md).

let stack: WebStack
beforeAll(async () => {
  // Small caps, and X-Forwarded-For believed from loopback so that clients can come from addresses of their own.
  stack = await startWebStack({ env: { EVENT_STREAMS_PER_CLIENT: '2', EVENT_STREAMS_PER_ADDRESS: '3', TRUST_PROXY: 'loopback' }, worker: false })
})
afterAll(async () => {
  await stack?.stop()
})

interface OpenStream {
  status: number
  type: string
  body: string
  close(): void
}

const opened: OpenStream[] = []
/** Opens a stream and leaves it open (a refusal is read in full); closed at the end of the test if not before. */
async function open(path: string, headers: Record<string, string>): Promise<OpenStream> {
  const controller = new AbortController()
  const response = await fetch(`${stack.url}${path}`, { headers: { accept: 'text/event-stream', ...headers }, signal: controller.signal })
  const type = response.headers.get('content-type') ?? ''
  const body = /event-stream/.test(type) ? '' : await response.text()
  const stream = { status: response.status, type, body, close: () => controller.abort() }
  opened.push(stream)
  return stream
}
const closeAll = () => opened.splice(0).forEach((stream) => stream.close())

describe('event streams', () => {
  it('allow a plugin token so many at once, then answer 429 in the API’s shape; a closed one frees its place', async () => {
    const operator = await signedInOperator(stack.db, stack.url)
    const headers = { authorization: `Bearer ${operator.token}`, 'x-forwarded-for': '198.51.100.1' }
    try {
      const [first, second] = [await open('/api/plugin/v1/events', headers), await open('/api/plugin/v1/events', headers)]
      expect([first.status, second.status]).toEqual([200, 200])
      const third = await open('/api/plugin/v1/events', headers)
      expect(third.status).toBe(429)
      expect(JSON.parse(third.body)).toMatchObject({ error: 'too_many_streams' })
      first.close()
      await expect.poll(async () => (await open('/api/plugin/v1/events', headers)).status, { timeout: 5_000 }).toBe(200)
    } finally {
      closeAll()
    }
  })

  it('allow a member’s session so many, and an address so many whoever opens them', async () => {
    const address = { 'x-forwarded-for': '198.51.100.2' }
    const sessions = await Promise.all([1, 2].map(async () => (await signedIn(stack.url, (await newUser(stack.db, 'member')).email)).cookieHeader()))
    try {
      const one = { ...address, cookie: sessions[0]! }
      expect((await open('/calls/events', one)).status).toBe(200)
      expect((await open('/calls/events', one)).status).toBe(200)
      expect((await open('/calls/events', one)).status).toBe(429)
      // Another session from the same address: its third stream is the address's fourth.
      const other = { ...address, cookie: sessions[1]! }
      expect((await open('/calls/events', other)).status).toBe(200)
      expect((await open('/calls/events', other)).status).toBe(429)
      // Elsewhere, the same session may still open what its own cap leaves (none here) and others theirs.
      expect((await open('/calls/events', { ...other, 'x-forwarded-for': '198.51.100.3' })).status).toBe(200)
    } finally {
      closeAll()
    }
  })

  it('allow the public presence stream so many per address', async () => {
    const headers = { 'x-forwarded-for': '198.51.100.4' }
    try {
      const statuses = []
      for (let i = 0; i < 4; i++) statuses.push((await open('/storefront/presence-stream?ids=', headers)).status)
      expect(statuses).toEqual([200, 200, 200, 429])
      expect((await open('/storefront/presence-stream?ids=', { 'x-forwarded-for': '198.51.100.5' })).status).toBe(200)
    } finally {
      closeAll()
    }
  })
})

import { randomUUID } from 'node:crypto'
import { recordCallRequests } from '../../activities/call-requests.js'
import { createUser, type CreatedUser } from '../../activities/identity/users.js'
import { creditMemberWallet } from '../../activities/wallets.js'
import type { PlatformConfig } from '../../config/env.js'
import type { Db } from '../../prisma/client.js'
import { getTemporalClient } from '../../temporal/client.js'
import { confirmConnected } from '../../web-remix/app/calls/member-calls.server.js'
import type { PlatformServices } from '../../web-remix/app/plugin-api/services.server.js'

/** What the plugin does over HTTP, as small helpers for the plugin API's tests, plus the users they need. */

export const PASSWORD = 'correct-horse-battery'

export interface ApiResponse {
  status: number
  headers: Headers
  text: string
  /** The parsed JSON body, or undefined when the body is empty or not JSON. Tests index into it freely; their
   *  assertions are what check its shape. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any
}

export interface ApiRequest {
  method?: string
  token?: string
  /** Sent as JSON. */
  json?: unknown
  /** Sent as is (for malformed bodies). */
  raw?: string | Uint8Array<ArrayBuffer>
  headers?: Record<string, string>
}

export async function call(baseUrl: string, path: string, request: ApiRequest = {}): Promise<ApiResponse> {
  const headers: Record<string, string> = { ...request.headers }
  if (request.token) headers.authorization = `Bearer ${request.token}`
  let body: string | Uint8Array<ArrayBuffer> | undefined
  if (request.json !== undefined) {
    body = JSON.stringify(request.json)
    headers['content-type'] ??= 'application/json'
  } else if (request.raw !== undefined) {
    body = request.raw
  }
  const response = await fetch(`${baseUrl}${path}`, {
    method: request.method ?? (body === undefined ? 'GET' : 'POST'),
    headers,
    body,
    redirect: 'manual',
  })
  const text = await response.text()
  let parsed: unknown
  try {
    parsed = text ? JSON.parse(text) : undefined
  } catch {
    parsed = undefined
  }
  return { status: response.status, headers: response.headers, text, body: parsed }
}

const tag = () => randomUUID().slice(0, 8)

export async function createOperator(
  db: Db,
  options: { ratePerMinuteCents?: number; companyId?: string | null; status?: 'active' | 'disabled'; headline?: string } = {},
): Promise<CreatedUser & { email: string; ratePerMinuteCents: number }> {
  const id = tag()
  const ratePerMinuteCents = options.ratePerMinuteCents ?? 100
  const user = await createUser(db, {
    role: 'operator',
    emailVerified: true,
    email: `web-operator-${id}@example.test`,
    password: PASSWORD,
    displayName: `Web Operator ${id}`,
    ratePerMinuteCents,
    companyId: options.companyId ?? null,
    headline: options.headline ?? 'Listens well',
  })
  if (options.status === 'disabled') await db.user.update({ where: { id: user.id }, data: { status: 'disabled' } })
  return { ...user, ratePerMinuteCents }
}

export async function createMember(db: Db, options: { fundedCents?: number; handle?: string } = {}): Promise<CreatedUser & { handle: string }> {
  const id = tag()
  const handle = options.handle ?? `web-member-${id}`
  const user = await createUser(db, {
    role: 'member',
    email: `web-member-${id}@example.test`,
    password: PASSWORD,
    displayName: `Web Member ${id}`,
    callingProvider: 'discord',
    callingHandle: handle,
  })
  if (options.fundedCents) await fund(db, user.id, options.fundedCents)
  return { ...user, handle }
}

export async function fund(db: Db, memberId: string, amountCents: number): Promise<void> {
  await creditMemberWallet(db, {
    transferId: `web-test-credit:${randomUUID()}`,
    memberId,
    amountCents,
    source: 'adjustments',
    code: 'wallet_adjustment',
  })
}

/**
 * The member asks the operator for a call, as the website records it (activities/call-requests.ts), at the operator's
 * price now: the consent a call start must answer. Answers the request's id.
 */
export async function askForCall(
  db: Db,
  member: { id: string },
  operator: { id: string },
  terms: { mode?: 'per_minute' | 'prepaid'; prepaidMinutes?: number | null; channel?: 'audio' | 'video' | 'outside' } = {},
): Promise<string> {
  const { ratePerMinuteCents } = await db.operator.findUniqueOrThrow({ where: { userId: operator.id }, select: { ratePerMinuteCents: true } })
  const [recorded] = await recordCallRequests(db, [
    { memberId: member.id, operatorId: operator.id, mode: terms.mode ?? 'per_minute', prepaidMinutes: terms.prepaidMinutes ?? null, ratePerMinuteCents, channel: terms.channel ?? 'outside' },
  ])
  return recorded!.id
}

/**
 * The member confirms, on their call page, that the call on the operator's outside app is connected: what the page's
 * button does (web-remix/app/calls/member-calls.server.ts confirmConnected). The call starts then; this waits until it has.
 */
export async function memberConfirms(
  stack: { db: Db; config: PlatformConfig },
  member: { id: string; email: string; displayName: string },
  callId: string,
): Promise<void> {
  const temporal = await getTemporalClient({ address: stack.config.TEMPORAL_ADDRESS, namespace: stack.config.TEMPORAL_NAMESPACE })
  const services = { db: stack.db, config: stack.config, temporal: async () => temporal } as unknown as PlatformServices
  const sessionMember = { ...member, role: 'member' as const, emailVerified: true }
  if (!(await confirmConnected(services, sessionMember, callId))) throw new Error(`call ${callId} is not waiting for this member's confirmation`)
  await eventually(
    async () => ((await stack.db.call.findUniqueOrThrow({ where: { id: callId }, select: { status: true } })).status === 'connecting' ? undefined : true),
    15_000,
    `call ${callId} to start`,
  )
}

export async function signIn(baseUrl: string, email: string, password = PASSWORD): Promise<string> {
  const response = await call(baseUrl, '/api/plugin/v1/sessions', { json: { login: email, password } })
  if (response.status !== 201) throw new Error(`sign-in failed: ${response.status} ${response.text}`)
  return response.body.token as string
}

/** An operator signed in to the plugin API. */
export async function signedInOperator(db: Db, baseUrl: string, options: Parameters<typeof createOperator>[1] = {}) {
  const operator = await createOperator(db, options)
  return { ...operator, token: await signIn(baseUrl, operator.email) }
}

export interface ServerSentEvent {
  id?: string
  event: string
  data: string
}

/**
 * An open /events stream, read with fetch and a small parser of the text/event-stream format (the parts the API
 * uses: id, event, data, comments).
 */
export interface EventStream {
  status: number
  contentType: string | null
  events: ServerSentEvent[]
  comments: string[]
  /** Resolves with the first event (already received or still to come) that matches, or fails after timeoutMs. */
  next(match: (event: ServerSentEvent) => boolean, timeoutMs?: number): Promise<ServerSentEvent>
  close(): void
}

/** Opens the plugin's stream (with its token), or another stream (`path`) with a browser's cookies. */
export async function openEvents(
  baseUrl: string,
  token: string | null,
  options: { lastEventId?: string; path?: string; cookie?: string } = {},
): Promise<EventStream> {
  const controller = new AbortController()
  const headers: Record<string, string> = { accept: 'text/event-stream' }
  if (token) headers.authorization = `Bearer ${token}`
  if (options.cookie) headers.cookie = options.cookie
  if (options.lastEventId !== undefined) headers['last-event-id'] = options.lastEventId
  const response = await fetch(`${baseUrl}${options.path ?? '/api/plugin/v1/events'}`, { headers, signal: controller.signal })
  const events: ServerSentEvent[] = []
  const comments: string[] = []
  const waiters = new Set<() => void>()
  const notify = () => {
    for (const waiter of waiters) waiter()
  }

  const parseBlock = (block: string) => {
    const event: ServerSentEvent = { event: 'message', data: '' }
    const data: string[] = []
    let hasField = false
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) {
        comments.push(line.slice(1).trim())
        continue
      }
      const colon = line.indexOf(':')
      const field = colon === -1 ? line : line.slice(0, colon)
      const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '')
      if (field === 'id') event.id = value
      else if (field === 'event') event.event = value
      else if (field === 'data') data.push(value)
      else continue
      hasField = true
    }
    if (hasField && data.length > 0) {
      event.data = data.join('\n')
      events.push(event)
    }
    notify()
  }

  if (response.ok && response.body) {
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader()
    void (async () => {
      let buffer = ''
      try {
        for (;;) {
          const { done, value } = await reader.read()
          if (done) break
          buffer += value.replace(/\r\n?/g, '\n')
          let boundary: number
          while ((boundary = buffer.indexOf('\n\n')) !== -1) {
            parseBlock(buffer.slice(0, boundary))
            buffer = buffer.slice(boundary + 2)
          }
        }
      } catch {
        // Aborted by close(), or the server went away.
      }
    })()
  }

  return {
    status: response.status,
    contentType: response.headers.get('content-type'),
    events,
    comments,
    next(match, timeoutMs = 15_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = events.find(match)
          if (!found) return false
          cleanup()
          resolve(found)
          return true
        }
        const timer = setTimeout(() => {
          cleanup()
          reject(new Error(`no matching event within ${timeoutMs} ms; received: ${JSON.stringify(events)}`))
        }, timeoutMs)
        const waiter = () => void check()
        const cleanup = () => {
          clearTimeout(timer)
          waiters.delete(waiter)
        }
        waiters.add(waiter)
        check()
      })
    },
    close() {
      controller.abort()
    },
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Polls `probe` until it returns something other than undefined, or fails after timeoutMs. */
export async function eventually<T>(probe: () => Promise<T | undefined>, timeoutMs = 15_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(100)
  }
}

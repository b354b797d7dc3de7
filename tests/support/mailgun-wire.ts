import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

/**
 * A local stand-in for Mailgun's messages endpoint, so the real mailgun.js client runs against the wire:
 * POST /v3/<domain>/messages with multipart or urlencoded form fields and HTTP basic auth (user "api", the key).
 * It answers as Mailgun does: 200 {"id":"<…@domain>","message":"Queued. Thank you."}, 401 "Forbidden" for a wrong
 * key, 400 {"message":"…"} for a missing field, and whatever failures a test scripts (failNext).
 */

export interface ReceivedMessage {
  domain: string
  fields: Record<string, string[]>
  authorization: string | null
}

export interface MailgunWire {
  url: string
  received: ReceivedMessage[]
  /** The next `count` requests fail with this status (and body), before any other check. */
  failNext(count: number, status: number, body?: string): void
  close(): Promise<void>
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of request) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

async function parseForm(request: IncomingMessage, body: Buffer): Promise<Record<string, string[]>> {
  // The WHATWG Request parses multipart/form-data and urlencoded bodies exactly as a server framework would.
  const parsed = await new Request('http://mailgun.local/', {
    method: 'POST',
    headers: { 'content-type': request.headers['content-type'] ?? '' },
    body: new Uint8Array(body),
  }).formData()
  const fields: Record<string, string[]> = {}
  for (const [name, value] of parsed.entries()) (fields[name] ??= []).push(typeof value === 'string' ? value : `[file ${value.name}]`)
  return fields
}

export async function startMailgunWire(options: { apiKey: string }): Promise<MailgunWire> {
  const received: ReceivedMessage[] = []
  const scripted: { status: number; body: string }[] = []
  let counter = 0
  const server: Server = createServer((request, response) => {
    void (async () => {
      const body = await readBody(request)
      const reply = (status: number, payload: unknown) => {
        const text = typeof payload === 'string' ? payload : JSON.stringify(payload)
        response.writeHead(status, { 'content-type': typeof payload === 'string' ? 'text/plain' : 'application/json' })
        response.end(text)
      }
      const match = /^\/v3\/([^/]+)\/messages$/.exec(request.url ?? '')
      if (request.method !== 'POST' || !match) return reply(404, { message: 'Not Found' })
      const failure = scripted.shift()
      if (failure) return reply(failure.status, failure.body)
      const expected = `Basic ${Buffer.from(`api:${options.apiKey}`).toString('base64')}`
      if (request.headers.authorization !== expected) return reply(401, 'Forbidden')
      const fields = await parseForm(request, body)
      for (const required of ['from', 'to', 'subject']) {
        if (!fields[required]?.length) return reply(400, { message: `'${required}' parameter is missing` })
      }
      if (!fields.text?.length && !fields.html?.length) return reply(400, { message: 'Need at least one of \'text\' or \'html\' parameters specified' })
      received.push({ domain: decodeURIComponent(match[1]!), fields, authorization: request.headers.authorization ?? null })
      counter += 1
      reply(200, { id: `<20261123.${counter}@${match[1]}>`, message: 'Queued. Thank you.' })
    })()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    failNext(count, status, body = JSON.stringify({ message: 'Internal Server Error' })) {
      for (let i = 0; i < count; i++) scripted.push({ status, body })
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  }
}

import { z, type ZodType, type ZodTypeDef } from 'zod'
import { uuid } from '../ids.server.js'
import { apiError } from './errors.server.js'

/** Reading what a client sends: bounded, parsed and validated before anything touches the database. */

/** No request of the plugin API needs more; a larger body is refused before it is read in full. */
export const MAX_BODY_BYTES = 64 * 1024

const tooLarge = () => apiError(413, 'payload_too_large', `request bodies are limited to ${MAX_BODY_BYTES} bytes`)

/**
 * After a body turned out too large: read a little more, so a client still sending gets its 413 instead of a reset
 * connection, but not without end (cancelling destroys the connection, which is the right answer to a flood).
 */
const MAX_DISCARDED_BYTES = 1024 * 1024

async function discardRest(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<void> {
  let discarded = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) return
    discarded += value.byteLength
    if (discarded > MAX_DISCARDED_BYTES) {
      await reader.cancel().catch(() => undefined)
      return
    }
  }
}

async function readBodyText(request: Request): Promise<string> {
  const declared = request.headers.get('content-length')
  if (declared !== null && Number(declared) > MAX_BODY_BYTES) throw tooLarge()
  if (!request.body) return ''
  // Counted while streaming: a chunked body has no Content-Length to trust.
  const reader = request.body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > MAX_BODY_BYTES) {
      await discardRest(reader)
      throw tooLarge()
    }
    chunks.push(value)
  }
  const bytes = new Uint8Array(size)
  let offset = 0
  for (const chunk of chunks) {
    bytes.set(chunk, offset)
    offset += chunk.byteLength
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes)
  } catch {
    throw apiError(422, 'invalid_json', 'the body is not valid UTF-8')
  }
}

/** The request's JSON body. Any content type is accepted: clients (and curl -d) often send none or the wrong one. */
export async function readJsonBody(request: Request): Promise<unknown> {
  const text = await readBodyText(request)
  if (!text.trim()) throw apiError(422, 'invalid_json', 'a JSON body is required')
  try {
    return JSON.parse(text) as unknown
  } catch {
    throw apiError(422, 'invalid_json', 'the body is not valid JSON')
  }
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => (issue.path.length ? `${issue.path.join('.')}: ${issue.message}` : issue.message))
    .join('; ')
}

export async function parseJsonBody<Output>(request: Request, schema: ZodType<Output, ZodTypeDef, unknown>): Promise<Output> {
  const result = schema.safeParse(await readJsonBody(request))
  if (!result.success) throw apiError(422, 'invalid_body', describeIssues(result.error))
  return result.data
}

export function parseQuery<Output>(url: URL, schema: ZodType<Output, ZodTypeDef, unknown>): Output {
  const result = schema.safeParse(Object.fromEntries(url.searchParams))
  if (!result.success) throw apiError(422, 'invalid_query', describeIssues(result.error))
  return result.data
}

/** A uuid, in PostgreSQL's lower-case spelling, so that the same id always names the same call and workflow. */
export { uuid } from '../ids.server.js'

/** Text bound for the database: PostgreSQL cannot store NUL characters, so they are refused here, not there. */
export function text(min: number, max: number) {
  return z
    .string()
    .min(min)
    .max(max)
    .refine((value) => !value.includes('\u0000'), 'must not contain NUL characters')
}

/**
 * A call id from the path. One that is not a uuid cannot name a call, so it is "not found" like any other unknown
 * call, and never reaches PostgreSQL (where the uuid cast would fail).
 */
export function callIdFromParams(params: Record<string, string | undefined>): string {
  const parsed = uuid.safeParse(params.callId)
  if (!parsed.success) throw apiError(404, 'call_not_found', 'no such call')
  return parsed.data
}

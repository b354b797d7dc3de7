import type { ActionFunctionArgs, LoaderFunctionArgs } from '@remix-run/node'
import { WorkflowUpdateRPCTimeoutOrCancelledError } from '@temporalio/client'
import { CallStartTimeoutError } from '../../../temporal/calls.js'

/**
 * Every answer of the plugin API is JSON, errors included: `{error: <code>, message: <for humans>}`.
 * Handlers throw these responses (as the Epic Stack's `require…` helpers do) and `apiRoute` returns them.
 */

export type ApiErrorCode =
  | 'invalid_json'
  | 'invalid_body'
  | 'invalid_query'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'unauthorized'
  | 'invalid_credentials'
  | 'not_an_operator'
  | 'too_many_attempts'
  | 'account_disabled'
  | 'not_found'
  | 'call_not_found'
  | 'member_not_found'
  | 'method_not_allowed'
  | 'insufficient_funds'
  | 'spending_cap'
  | 'operator_busy'
  | 'operator_unavailable'
  | 'call_id_conflict'
  | 'handle_taken'
  | 'call_ended'
  | 'call_request_not_found'
  | 'call_request_closed'
  | 'call_request_required'
  | 'call_terms_mismatch'
  | 'scheduled_call_not_found'
  | 'scheduled_call_not_reserved'
  | 'email_not_verified'
  | 'no_media'
  | 'invalid_last_event_id'
  | 'too_many_streams'
  | 'too_many_messages'
  | 'temporal_unavailable'
  | 'call_service_busy'
  | 'internal_error'

const NO_STORE = { 'Cache-Control': 'no-store' }

export function jsonResponse(body: unknown, status = 200, headers: HeadersInit = {}): Response {
  return Response.json(body, { status, headers: { ...NO_STORE, ...Object.fromEntries(new Headers(headers)) } })
}

export function noContent(): Response {
  return new Response(null, { status: 204, headers: NO_STORE })
}

export function apiError(status: number, error: ApiErrorCode, message: string, headers: HeadersInit = {}): Response {
  return jsonResponse({ error, message }, status, headers)
}

export function methodNotAllowed(allowed: readonly string[]): Response {
  return apiError(405, 'method_not_allowed', `use ${allowed.join(' or ')} on this resource`, { Allow: allowed.join(', ') })
}

/**
 * Temporal's client fails this way when it cannot reach the server: the first connection times out (a plain Error
 * from gRPC), or a call on an established connection comes back UNAVAILABLE (gRPC status 14).
 */
function isTemporalUnreachable(error: unknown): boolean {
  const failure = error as { name?: unknown; message?: unknown; code?: unknown; cause?: { code?: unknown } } | null
  const message = String(failure?.message ?? '')
  if (/Failed to connect before the deadline/i.test(message)) return true
  const code = failure?.code ?? failure?.cause?.code
  return (failure?.name === 'ServiceError' || failure?.name === 'TransportError') && (code === 14 || /UNAVAILABLE/.test(message))
}

type Handler<Args> = (args: Args) => Promise<Response>

/**
 * Wraps a resource route's loader or action: thrown responses are answers, anything else is a bug (logged, 500)
 * or an unreachable Temporal server (503). Remix's own fallback would answer such errors with text, not JSON.
 */
export function apiRoute<Args extends LoaderFunctionArgs | ActionFunctionArgs>(handler: Handler<Args>): Handler<Args> {
  return async (args) => {
    try {
      return await handler(args)
    } catch (thrown) {
      if (thrown instanceof Response) return thrown
      if (thrown instanceof CallStartTimeoutError || thrown instanceof WorkflowUpdateRPCTimeoutOrCancelledError) {
        return apiError(503, 'call_service_busy', 'the call service did not answer in time; send the same request again', { 'Retry-After': '2' })
      }
      if (isTemporalUnreachable(thrown)) {
        return apiError(503, 'temporal_unavailable', 'the call service is unavailable; try again shortly', { 'Retry-After': '2' })
      }
      console.error(`plugin API: ${args.request.method} ${new URL(args.request.url).pathname} failed`, thrown)
      return apiError(500, 'internal_error', 'something went wrong on our side; it has been logged')
    }
  }
}

/** The loader or action of a resource route that does not take this method. */
export function only(...allowed: string[]) {
  return async () => methodNotAllowed(allowed)
}

import type { LoaderFunctionArgs } from '@remix-run/node'
import { requireOperator, tokenStillValid } from '../plugin-api/auth.server.js'
import { apiError, apiRoute, only } from '../plugin-api/errors.server.js'
import { outboxEventStream, parseLastEventId } from '../plugin-api/events.server.js'
import { servicesFrom } from '../plugin-api/services.server.js'

// GET /api/plugin/v1/events → text/event-stream of this operator's call.* events (Last-Event-ID replays missed ones)
export const loader = apiRoute(async ({ request, context }: LoaderFunctionArgs) => {
  const services = servicesFrom(context)
  const operator = await requireOperator(request, services)
  const afterId = parseLastEventId(request.headers.get('last-event-id'))
  if (afterId === 'invalid') return apiError(400, 'invalid_last_event_id', 'Last-Event-ID must be the id of an event')
  const release = services.eventStreams.take(`token:${operator.tokenHash}`, context.clientAddress ?? null)
  if (!release) return apiError(429, 'too_many_streams', 'this token (or this address) has as many event streams open as it may; close one first', { 'Retry-After': '30' })
  const signals = [request.signal, ...(context.responseClosed ? [context.responseClosed] : [])]
  return outboxEventStream({
    listener: services.outbox,
    audience: { operatorId: operator.id },
    afterId,
    signals,
    // Signed out, revoked, replaced by a renewal, expired, or the operator disabled: the stream ends within seconds.
    stillAuthorised: () => tokenStillValid(services, operator.tokenHash),
    onEnd: release,
  })
})

export const action = only('GET')

import type { LoaderFunctionArgs } from '@remix-run/node'
import { requireRole, sessionStillValid } from '../auth/session.server.js'
import { sessionIdHash } from '../backoffice/admin-access.server.js'
import { outboxEventStream, parseLastEventId } from '../plugin-api/events.server.js'
import { servicesFrom } from '../plugin-api/services.server.js'
import { tooManyStreams } from '../sse.server.js'

// GET /calls/events: the signed-in member's events (call requests answered, low balance, call ending and settled) as
// Server-Sent Events, resumable with Last-Event-ID like the plugin's stream.
export async function loader({ request, context }: LoaderFunctionArgs) {
  const member = await requireRole(request, 'member', context)
  const services = servicesFrom(context)
  const afterId = parseLastEventId(request.headers.get('Last-Event-ID'))
  const release = services.eventStreams.take(`session:${await sessionIdHash(request, context)}`, context.clientAddress ?? null)
  if (!release) return tooManyStreams()
  const signals = [request.signal, ...(context.responseClosed ? [context.responseClosed] : [])]
  return outboxEventStream({
    listener: services.outbox,
    audience: { memberId: member.id },
    afterId: afterId === 'invalid' ? null : afterId,
    signals,
    // Logged out, signed out by a password change, suspended, idle or expired: the stream ends within seconds.
    stillAuthorised: () => sessionStillValid(request, context, member.id),
    onEnd: release,
  })
}

import type { LoaderFunctionArgs } from '@remix-run/node'
import { servicesFrom } from '../plugin-api/services.server.js'
import { tooManyStreams } from '../sse.server.js'
import { presenceHub, presenceStream } from '../storefront/presence.server.js'
import { isUuid } from '../ids.server.js'

// GET /storefront/presence-stream?ids=<operator id>,… → text/event-stream of `presence` events for those operators:
// their current presence first, then every change (docs/decisions/011-presence-stream.md). Public, like the listing.
export async function loader({ request, context }: LoaderFunctionArgs) {
  const services = servicesFrom(context)
  const ids = (new URL(request.url).searchParams.get('ids') ?? '')
    .split(',')
    .map((id) => id.trim().toLowerCase())
    .filter(isUuid)
  // Public: counted per address only.
  const release = services.eventStreams.take(null, context.clientAddress ?? null)
  if (!release) return tooManyStreams()
  const signals = [request.signal, ...(context.responseClosed ? [context.responseClosed] : [])]
  return presenceStream({ hub: presenceHub(services.config.DATABASE_URL, services.db), db: services.db, operatorIds: ids, signals, onEnd: release })
}

import type { ActionFunctionArgs } from '@remix-run/node'
import { receiveMediaWebhook } from '../calls/media-webhooks.server.js'
import { servicesFrom } from '../plugin-api/services.server.js'

/**
 * POST /webhooks/livekit: LiveKit's signed events about the calls' rooms. No session, no CSRF token: the signature
 * (a JWT signed with our API secret over the body's SHA-256) is the authentication; a bad one is 401 and changes
 * nothing. 200 acknowledges; 5xx asks LiveKit to deliver it again.
 */

/** LiveKit's events are a few kilobytes; anything far larger is not one. */
const MAX_BODY_BYTES = 64 * 1024

const noStore = { 'Cache-Control': 'no-store' }

export async function action({ request, context }: ActionFunctionArgs) {
  if (request.method !== 'POST') return Response.json({ error: 'method_not_allowed' }, { status: 405, headers: { Allow: 'POST' } })
  const length = Number(request.headers.get('content-length') ?? 0)
  if (length > MAX_BODY_BYTES) return Response.json({ error: 'payload_too_large' }, { status: 413, headers: noStore })
  const rawBody = await request.text()
  if (Buffer.byteLength(rawBody) > MAX_BODY_BYTES) return Response.json({ error: 'payload_too_large' }, { status: 413, headers: noStore })
  try {
    const answer = await receiveMediaWebhook(servicesFrom(context), rawBody, request.headers.get('authorization'))
    return Response.json(answer.body, { status: answer.status, headers: noStore })
  } catch (error) {
    // The call's workflow (or the database) could not be reached: nothing was applied; LiveKit delivers it again.
    console.error(`webhooks/livekit: ${(error as Error).message}`)
    return Response.json({ error: 'unavailable', message: 'try again' }, { status: 503, headers: { ...noStore, 'Retry-After': '1' } })
  }
}

export async function loader() {
  return Response.json({ error: 'method_not_allowed' }, { status: 405, headers: { Allow: 'POST' } })
}

import type { ActionFunctionArgs } from '@remix-run/node'
import { servicesFrom } from '../plugin-api/services.server.js'
import { receivePaymentWebhook } from '../wallet/topups.server.js'

/**
 * POST /webhooks/payments/<provider>: the provider's signed confirmation of a checkout. No session, no CSRF token:
 * the HMAC signature over the exact raw body, with a timestamp inside a short window, is the authentication.
 * 200 acknowledges (the provider stops retrying), 400 refuses a bad signature or body, 5xx asks for a retry.
 */

/** Provider events are a few hundred bytes; anything far larger is not one. */
const MAX_BODY_BYTES = 64 * 1024

export async function action({ request, params, context }: ActionFunctionArgs) {
  if (request.method !== 'POST') return Response.json({ error: 'method_not_allowed' }, { status: 405, headers: { Allow: 'POST' } })
  const length = Number(request.headers.get('content-length') ?? 0)
  if (length > MAX_BODY_BYTES) return Response.json({ error: 'payload_too_large' }, { status: 413 })
  const rawBody = await request.text()
  if (Buffer.byteLength(rawBody) > MAX_BODY_BYTES) return Response.json({ error: 'payload_too_large' }, { status: 413 })
  const answer = await receivePaymentWebhook(servicesFrom(context), params.provider ?? '', rawBody, request.headers)
  return Response.json(answer.body, { status: answer.status, headers: { 'Cache-Control': 'no-store' } })
}

export async function loader() {
  return Response.json({ error: 'method_not_allowed' }, { status: 405, headers: { Allow: 'POST' } })
}

import type { ActionFunctionArgs } from '@remix-run/node'
import { requireOperator } from '../plugin-api/auth.server.js'
import { declineCallRequest } from '../plugin-api/call-requests.server.js'
import { apiError, apiRoute, methodNotAllowed, only } from '../plugin-api/errors.server.js'
import { servicesFrom } from '../plugin-api/services.server.js'
import { uuid } from '../plugin-api/validation.server.js'

// POST /api/plugin/v1/call-requests/{requestId}/decline → 204 | 404 call_request_not_found | 409 call_request_closed
export const action = apiRoute(async ({ request, params, context }: ActionFunctionArgs) => {
  if (request.method !== 'POST') return methodNotAllowed(['POST'])
  const services = servicesFrom(context)
  const operator = await requireOperator(request, services)
  const requestId = uuid.safeParse(params.requestId)
  if (!requestId.success) throw apiError(404, 'call_request_not_found', 'no such call request')
  await declineCallRequest(services.db, operator.id, requestId.data)
  return new Response(null, { status: 204, headers: { 'Cache-Control': 'no-store' } })
})

export const loader = only('POST')

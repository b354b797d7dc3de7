import type { ActionFunctionArgs } from '@remix-run/node'
import { requireOperator } from '../plugin-api/auth.server.js'
import { startCall, startCallRequest } from '../plugin-api/calls.server.js'
import { apiRoute, jsonResponse, methodNotAllowed, only } from '../plugin-api/errors.server.js'
import { servicesFrom } from '../plugin-api/services.server.js'
import { parseJsonBody } from '../plugin-api/validation.server.js'

// POST /api/plugin/v1/calls {callId, memberId, mode, prepaidMinutes?} → 201 | 200 (same request again) | 402 | 404 | 409 | 422
export const action = apiRoute(async ({ request, context }: ActionFunctionArgs) => {
  if (request.method !== 'POST') return methodNotAllowed(['POST'])
  const services = servicesFrom(context)
  const operator = await requireOperator(request, services)
  const body = await parseJsonBody(request, startCallRequest)
  const answer = await startCall(services, operator, body)
  return jsonResponse(answer.body, answer.status)
})

export const loader = only('POST')

import type { ActionFunctionArgs } from '@remix-run/node'
import { requireOperator } from '../plugin-api/auth.server.js'
import { endCall, endCallRequest } from '../plugin-api/calls.server.js'
import { apiRoute, jsonResponse, methodNotAllowed, only } from '../plugin-api/errors.server.js'
import { servicesFrom } from '../plugin-api/services.server.js'
import { callIdFromParams, parseJsonBody } from '../plugin-api/validation.server.js'

// POST /api/plugin/v1/calls/{callId}/end {reason} → 200 settlement | 202 {status: "ending"} | 404
export const action = apiRoute(async ({ request, params, context }: ActionFunctionArgs) => {
  if (request.method !== 'POST') return methodNotAllowed(['POST'])
  const services = servicesFrom(context)
  const operator = await requireOperator(request, services)
  // A path id that cannot name a call is 404 before the body is read.
  const callId = callIdFromParams(params)
  const { reason } = await parseJsonBody(request, endCallRequest)
  const answer = await endCall(services, operator, callId, reason)
  return jsonResponse(answer.body, answer.status)
})

export const loader = only('POST')

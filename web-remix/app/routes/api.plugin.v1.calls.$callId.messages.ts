import type { ActionFunctionArgs, LoaderFunctionArgs } from '@remix-run/node'
import { requireOperator } from '../plugin-api/auth.server.js'
import { apiRoute, jsonResponse, methodNotAllowed } from '../plugin-api/errors.server.js'
import { operatorCallMessages, sendMessageRequest, sendOperatorMessage } from '../plugin-api/messages.server.js'
import { servicesFrom } from '../plugin-api/services.server.js'
import { callIdFromParams, parseJsonBody } from '../plugin-api/validation.server.js'

// GET /api/plugin/v1/calls/{callId}/messages → 200 {messages} | 404
export const loader = apiRoute(async ({ request, params, context }: LoaderFunctionArgs) => {
  const services = servicesFrom(context)
  const operator = await requireOperator(request, services)
  return jsonResponse({ messages: await operatorCallMessages(services, operator, callIdFromParams(params)) })
})

// POST /api/plugin/v1/calls/{callId}/messages {body} → 201 {message} | 404 | 409 call_ended | 422 | 429
export const action = apiRoute(async ({ request, params, context }: ActionFunctionArgs) => {
  if (request.method !== 'POST') return methodNotAllowed(['GET', 'POST'])
  const services = servicesFrom(context)
  const operator = await requireOperator(request, services)
  const callId = callIdFromParams(params)
  const { body } = await parseJsonBody(request, sendMessageRequest)
  return jsonResponse({ message: await sendOperatorMessage(services, operator, callId, body) }, 201)
})

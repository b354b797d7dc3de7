import type { ActionFunctionArgs } from '@remix-run/node'
import { requireOperator } from '../plugin-api/auth.server.js'
import { callMediaToken } from '../plugin-api/calls.server.js'
import { apiRoute, jsonResponse, methodNotAllowed, only } from '../plugin-api/errors.server.js'
import { servicesFrom } from '../plugin-api/services.server.js'
import { callIdFromParams } from '../plugin-api/validation.server.js'

// POST /api/plugin/v1/calls/{callId}/media-token → 200 {media} | 404 | 409 (not in the platform's room, or over)
export const action = apiRoute(async ({ request, params, context }: ActionFunctionArgs) => {
  if (request.method !== 'POST') return methodNotAllowed(['POST'])
  const services = servicesFrom(context)
  const operator = await requireOperator(request, services)
  const callId = callIdFromParams(params)
  return jsonResponse({ media: await callMediaToken(services, operator, callId) })
})

export const loader = only('POST')

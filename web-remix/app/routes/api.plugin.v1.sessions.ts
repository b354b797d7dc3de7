import type { ActionFunctionArgs } from '@remix-run/node'
import { apiRoute, jsonResponse, methodNotAllowed, only } from '../plugin-api/errors.server.js'
import { servicesFrom } from '../plugin-api/services.server.js'
import { createSession, sessionRequest } from '../plugin-api/sessions.server.js'
import { parseJsonBody } from '../plugin-api/validation.server.js'

// POST /api/plugin/v1/sessions {login, password} → 201 {token, operator}; 401, 403 or 429 (throttled) otherwise
export const action = apiRoute(async ({ request, context }: ActionFunctionArgs) => {
  if (request.method !== 'POST') return methodNotAllowed(['POST'])
  const services = servicesFrom(context)
  const credentials = await parseJsonBody(request, sessionRequest)
  return jsonResponse(await createSession(services, credentials, context.clientAddress ?? 'unknown'), 201)
})

export const loader = only('POST')

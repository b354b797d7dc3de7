import type { ActionFunctionArgs } from '@remix-run/node'
import { requireOperator } from '../plugin-api/auth.server.js'
import { apiRoute, jsonResponse, methodNotAllowed, only } from '../plugin-api/errors.server.js'
import { servicesFrom } from '../plugin-api/services.server.js'
import { renewSession } from '../plugin-api/sessions.server.js'

// POST /api/plugin/v1/sessions/current/renew → 201 {token, expiresAt, expiresInSeconds}; the old token ends once the
// new one is used.
export const action = apiRoute(async ({ request, context }: ActionFunctionArgs) => {
  if (request.method !== 'POST') return methodNotAllowed(['POST'])
  const services = servicesFrom(context)
  const operator = await requireOperator(request, services)
  return jsonResponse(await renewSession(services, operator), 201)
})

export const loader = only('POST')

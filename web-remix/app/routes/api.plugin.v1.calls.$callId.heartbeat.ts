import type { ActionFunctionArgs } from '@remix-run/node'
import { requireOperator } from '../plugin-api/auth.server.js'
import { recordHeartbeat } from '../plugin-api/calls.server.js'
import { apiRoute, methodNotAllowed, noContent, only } from '../plugin-api/errors.server.js'
import { servicesFrom } from '../plugin-api/services.server.js'
import { callIdFromParams } from '../plugin-api/validation.server.js'

// POST /api/plugin/v1/calls/{callId}/heartbeat → 204 | 410 once the call has ended | 404
export const action = apiRoute(async ({ request, params, context }: ActionFunctionArgs) => {
  if (request.method !== 'POST') return methodNotAllowed(['POST'])
  const services = servicesFrom(context)
  const operator = await requireOperator(request, services)
  await recordHeartbeat(services, operator, callIdFromParams(params))
  return noContent()
})

export const loader = only('POST')

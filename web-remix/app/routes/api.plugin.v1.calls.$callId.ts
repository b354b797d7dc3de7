import type { LoaderFunctionArgs } from '@remix-run/node'
import { requireOperator } from '../plugin-api/auth.server.js'
import { viewCall } from '../plugin-api/calls.server.js'
import { apiRoute, jsonResponse, only } from '../plugin-api/errors.server.js'
import { servicesFrom } from '../plugin-api/services.server.js'
import { callIdFromParams } from '../plugin-api/validation.server.js'

// GET /api/plugin/v1/calls/{callId} → 200 {callId, status, startedAt, elapsedSeconds, …} | 404
export const loader = apiRoute(async ({ request, params, context }: LoaderFunctionArgs) => {
  const services = servicesFrom(context)
  const operator = await requireOperator(request, services)
  return jsonResponse(await viewCall(services, operator, callIdFromParams(params)))
})

export const action = only('GET')

import type { ActionFunctionArgs } from '@remix-run/node'
import { requireOperator } from '../plugin-api/auth.server.js'
import { apiRoute, methodNotAllowed, noContent, only } from '../plugin-api/errors.server.js'
import { presenceRequest, reportPresence } from '../plugin-api/presence.server.js'
import { servicesFrom } from '../plugin-api/services.server.js'
import { parseJsonBody } from '../plugin-api/validation.server.js'

// POST /api/plugin/v1/presence {status} → 204
export const action = apiRoute(async ({ request, context }: ActionFunctionArgs) => {
  if (request.method !== 'POST') return methodNotAllowed(['POST'])
  const services = servicesFrom(context)
  const operator = await requireOperator(request, services)
  const report = await parseJsonBody(request, presenceRequest)
  await reportPresence(services, operator.id, report)
  return noContent()
})

export const loader = only('POST')

import type { ActionFunctionArgs } from '@remix-run/node'
import { requireOperator } from '../plugin-api/auth.server.js'
import { apiRoute, jsonResponse, methodNotAllowed, only } from '../plugin-api/errors.server.js'
import { linkCallingAccount, linkRequest } from '../plugin-api/link.server.js'
import { servicesFrom } from '../plugin-api/services.server.js'
import { parseJsonBody } from '../plugin-api/validation.server.js'

// PUT /api/plugin/v1/link {provider, handle} → 200 {provider, handle}
export const action = apiRoute(async ({ request, context }: ActionFunctionArgs) => {
  if (request.method !== 'PUT') return methodNotAllowed(['PUT'])
  const services = servicesFrom(context)
  const operator = await requireOperator(request, services)
  const link = await parseJsonBody(request, linkRequest)
  return jsonResponse(await linkCallingAccount(services, operator.id, link))
})

export const loader = only('PUT')

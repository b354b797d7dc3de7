import type { LoaderFunctionArgs } from '@remix-run/node'
import { requireOperator } from '../plugin-api/auth.server.js'
import { apiRoute, jsonResponse, only } from '../plugin-api/errors.server.js'
import { memberIdFromParams, operatorMemberMessages } from '../plugin-api/messages.server.js'
import { servicesFrom } from '../plugin-api/services.server.js'

// GET /api/plugin/v1/members/{memberId}/messages → 200 {member, messages} (this member's chat with this operator) | 404
export const loader = apiRoute(async ({ request, params, context }: LoaderFunctionArgs) => {
  const services = servicesFrom(context)
  const operator = await requireOperator(request, services)
  return jsonResponse(await operatorMemberMessages(services, operator, memberIdFromParams(params)))
})

export const action = only('GET')

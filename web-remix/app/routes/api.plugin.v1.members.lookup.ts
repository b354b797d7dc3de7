import type { LoaderFunctionArgs } from '@remix-run/node'
import { requireOperator } from '../plugin-api/auth.server.js'
import { apiRoute, jsonResponse, only } from '../plugin-api/errors.server.js'
import { lookupMember, lookupQuery } from '../plugin-api/members.server.js'
import { servicesFrom } from '../plugin-api/services.server.js'
import { parseQuery } from '../plugin-api/validation.server.js'

// GET /api/plugin/v1/members/lookup?handle= → 200 {member} | 404
export const loader = apiRoute(async ({ request, context }: LoaderFunctionArgs) => {
  const services = servicesFrom(context)
  const operator = await requireOperator(request, services)
  const { handle } = parseQuery(new URL(request.url), lookupQuery)
  return jsonResponse({ member: await lookupMember(services, operator, handle) })
})

export const action = only('GET')

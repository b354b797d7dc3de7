import type { ActionFunctionArgs } from '@remix-run/node'
import { requireOperator } from '../plugin-api/auth.server.js'
import { apiRoute, methodNotAllowed, noContent, only } from '../plugin-api/errors.server.js'
import { servicesFrom } from '../plugin-api/services.server.js'
import { revokeSession } from '../plugin-api/sessions.server.js'

// DELETE /api/plugin/v1/sessions/current → 204; the token is refused from then on.
export const action = apiRoute(async ({ request, context }: ActionFunctionArgs) => {
  if (request.method !== 'DELETE') return methodNotAllowed(['DELETE'])
  const services = servicesFrom(context)
  const operator = await requireOperator(request, services)
  await revokeSession(services, operator.tokenHash)
  return noContent()
})

export const loader = only('DELETE')

import type { AppLoadContext } from '@remix-run/node'
import type { SessionUser } from '../auth/session.server.js'
import { servicesFrom } from '../plugin-api/services.server.js'
import { isUuid } from '../ids.server.js'

/** A company account's own company, and the guard that an operator belongs to it. */

export async function companyOf(context: AppLoadContext | undefined, user: SessionUser) {
  const company = await servicesFrom(context).db.company.findUnique({ where: { ownerUserId: user.id }, select: { id: true, name: true, shareBps: true } })
  if (!company) throw new Response('This account has no company.', { status: 403, statusText: 'Forbidden' })
  return company
}

/** 404 for an operator of another company (or none): a company learns nothing about other companies' operators. */
export async function requireOwnOperator(context: AppLoadContext | undefined, companyId: string, operatorId: string | undefined): Promise<string> {
  const operator = operatorId && isUuid(operatorId)
    ? await servicesFrom(context).db.operator.findFirst({ where: { userId: operatorId, companyId }, select: { userId: true } })
    : null
  if (!operator) throw new Response('No such operator in your company.', { status: 404, statusText: 'Not Found' })
  return operator.userId
}

export async function companyOperators(context: AppLoadContext | undefined, companyId: string) {
  const operators = await servicesFrom(context).db.operator.findMany({
    where: { companyId },
    select: { userId: true, ratePerMinuteCents: true, headline: true, user: { select: { displayName: true, status: true, email: true } } },
    orderBy: { user: { displayName: 'asc' } },
  })
  return operators.map((o) => ({ id: o.userId, displayName: o.user.displayName, email: o.user.email, status: o.user.status, ratePerMinuteCents: o.ratePerMinuteCents, headline: o.headline }))
}

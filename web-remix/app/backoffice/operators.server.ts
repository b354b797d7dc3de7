import type { AppLoadContext } from '@remix-run/node'
import { ProfileInputError, parseTags, setUserStatus, updateOperatorProfile } from '../../../activities/companies.js'
import { readPlatformSettings } from '../../../activities/settings.js'
import { forceEndCallWorkflow } from '../../../temporal/calls.js'
import { servicesFrom } from '../plugin-api/services.server.js'
import { parseAmount } from './format.js'

/** Operators as the operator, company and admin portals see and change them. */

export async function operatorCalls(context: AppLoadContext | undefined, where: { operatorId?: string; companyId?: string }, take = 50) {
  const { db } = servicesFrom(context)
  const calls = await db.call.findMany({
    where,
    orderBy: { startedAt: 'desc' },
    take,
    select: {
      id: true,
      startedAt: true,
      endedAt: true,
      status: true,
      billedMinutes: true,
      ratePerMinuteCents: true,
      chargedCents: true,
      operatorEarningsCents: true,
      companyShareCents: true,
      endReason: true,
      member: { select: { displayName: true } },
      operator: { select: { user: { select: { displayName: true } } } },
    },
  })
  return calls.map((c) => ({
    id: c.id,
    startedAt: c.startedAt.toISOString(),
    endedAt: c.endedAt?.toISOString() ?? null,
    status: c.status,
    billedMinutes: c.billedMinutes,
    ratePerMinuteCents: c.ratePerMinuteCents,
    chargedCents: c.chargedCents === null ? null : Number(c.chargedCents),
    operatorEarningsCents: c.operatorEarningsCents === null ? null : Number(c.operatorEarningsCents),
    companyShareCents: c.companyShareCents === null ? null : Number(c.companyShareCents),
    endReason: c.endReason,
    memberName: c.member.displayName,
    operatorName: c.operator.user.displayName,
  }))
}

export async function operatorProfile(context: AppLoadContext | undefined, operatorId: string) {
  const { db, config } = servicesFrom(context)
  const [operator, settings] = await Promise.all([
    db.operator.findUnique({
      where: { userId: operatorId },
      select: { headline: true, tags: true, ratePerMinuteCents: true, companyId: true, user: { select: { displayName: true, status: true, email: true } } },
    }),
    readPlatformSettings(db, config),
  ])
  if (!operator) throw new Response('No such operator.', { status: 404 })
  return {
    id: operatorId,
    displayName: operator.user.displayName,
    email: operator.user.email,
    status: operator.user.status,
    companyId: operator.companyId,
    headline: operator.headline,
    tags: operator.tags,
    ratePerMinuteCents: operator.ratePerMinuteCents,
    priceMinCents: settings.priceMinCents,
    priceMaxCents: settings.priceMaxCents,
  }
}

export type ProfileFormResult = { ok: true; message: string } | { ok: false; error: string; field?: string }

/** The profile form (headline, tags, price) of the operator portal and of a company's operator page. */
export async function saveOperatorProfile(
  context: AppLoadContext | undefined,
  operatorId: string,
  actorId: string,
  formData: FormData,
): Promise<ProfileFormResult> {
  const { db, config } = servicesFrom(context)
  const rate = parseAmount(String(formData.get('price') ?? ''))
  if (rate === null) return { ok: false, error: 'Enter the price per minute, such as 1.50.', field: 'price' }
  try {
    const settings = await readPlatformSettings(db, config)
    await updateOperatorProfile(
      db,
      operatorId,
      { headline: String(formData.get('headline') ?? ''), tags: parseTags(String(formData.get('tags') ?? '')), ratePerMinuteCents: rate },
      settings,
      { channel: 'web', actorId, origin: { clientAddress: context?.clientAddress ?? null } },
    )
    return { ok: true, message: 'Saved. A new price applies to calls that start from now on.' }
  } catch (error) {
    if (error instanceof ProfileInputError) {
      const field = error.field === 'ratePerMinuteCents' ? 'price' : error.field
      return { ok: false, error: error.message.charAt(0).toUpperCase() + error.message.slice(1) + '.', field }
    }
    throw error
  }
}

/**
 * Disables or re-enables an account. A disabled operator's calls in progress are ended now, through their workflows
 * (which settle them); the account is signed out of the web and the plugin.
 */
export async function changeAccountStatus(
  context: AppLoadContext | undefined,
  input: { userId: string; status: 'active' | 'disabled'; actorId: string; action: string; reason?: string | null },
): Promise<{ endedCalls: number }> {
  const services = servicesFrom(context)
  const change = await setUserStatus(
    services.db,
    { userId: input.userId, status: input.status, reason: input.reason ?? null },
    { channel: 'web', actorId: input.actorId, action: input.action, origin: { clientAddress: context?.clientAddress ?? null } },
  )
  if (change.activeCallIds.length > 0) {
    const client = await services.temporal()
    await Promise.all(change.activeCallIds.map((callId) => forceEndCallWorkflow(client, callId, 'operator_disabled')))
  }
  return { endedCalls: change.activeCallIds.length }
}

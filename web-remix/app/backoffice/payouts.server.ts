import { randomUUID } from 'node:crypto'
import type { AppLoadContext } from '@remix-run/node'
import { earningsSummary } from '../../../activities/payouts/earnings.js'
import { readPlatformSettings } from '../../../activities/settings.js'
import { requestPayoutWorkflow } from '../../../temporal/payouts.js'
import type { PayeeKind } from '../../../workflows/payout.js'
import { servicesFrom } from '../plugin-api/services.server.js'
import { formatCents, parseAmount } from './format.js'
import { isUuid } from '../ids.server.js'

/** Payout requests from the operator and company portals, and what their pages show of earnings and payouts. */

export async function earningsPage(context: AppLoadContext | undefined, payee: { kind: PayeeKind; id: string }) {
  const { db, config } = servicesFrom(context)
  const settings = await readPlatformSettings(db, config)
  const [earnings, payouts] = await Promise.all([
    earningsSummary(db, payee.kind, payee.id, settings.earningsClearingHours),
    db.payout.findMany({
      where: payee.kind === 'operator' ? { operatorId: payee.id } : { companyId: payee.id },
      orderBy: { requestedAt: 'desc' },
      take: 50,
      select: { id: true, amountCents: true, status: true, requestedAt: true, paidAt: true, decisionReason: true, providerReference: true },
    }),
  ])
  return {
    earnings,
    payoutMinimumCents: settings.payoutMinimumCents,
    // A fresh id per page view: the form sends it back, so a double submit asks for one payout.
    newPayoutId: randomUUID(),
    payouts: payouts.map((p) => ({ ...p, amountCents: Number(p.amountCents) })),
  }
}

export type PayoutFormResult = { ok: true; message: string } | { ok: false; error: string }

/** The payout form's action: validates the amount and starts (or joins) the payout's workflow. */
export async function submitPayoutRequest(
  context: AppLoadContext | undefined,
  payee: { kind: PayeeKind; id: string },
  requestedBy: string,
  formData: FormData,
): Promise<PayoutFormResult> {
  const { config } = servicesFrom(context)
  const payoutId = String(formData.get('payoutId') ?? '')
  if (!isUuid(payoutId)) return { ok: false, error: 'This form has expired. Reload the page and try again.' }
  const amountCents = parseAmount(String(formData.get('amount') ?? ''))
  if (amountCents === null || amountCents <= 0) return { ok: false, error: 'Enter an amount such as 25.00.' }
  const client = await servicesFrom(context).temporal()
  const outcome = await requestPayoutWorkflow(client, config.TEMPORAL_TASK_QUEUE, { payoutId, payee, requestedBy, amountCents })
  if (outcome.status === 'requested') {
    return { ok: true, message: `Payout of ${formatCents(outcome.amountCents)} requested. An administrator will review it.` }
  }
  switch (outcome.reason) {
    case 'below_minimum':
      return { ok: false, error: `The smallest payout is ${formatCents(outcome.minimumCents ?? 0)}.` }
    case 'insufficient_available':
      return { ok: false, error: `You can request at most ${formatCents(outcome.availableCents ?? 0)} now.` }
    default:
      return { ok: false, error: 'This payout cannot be requested from this account.' }
  }
}

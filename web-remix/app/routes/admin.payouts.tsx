import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { data } from '@remix-run/node'
import { Form, useActionData, useLoaderData } from '@remix-run/react'
import { decidePayoutWorkflow } from '../../../temporal/payouts.js'
import { CsrfInput } from '../auth/csrf-input.js'
import { requireCsrf } from '../auth/csrf.server.js'
import { text } from '../auth/form.server.js'
import { requireAdmin } from '../backoffice/admin-access.server.js'
import { payoutQueue } from '../backoffice/admin.server.js'
import { formatCents, formatWhen } from '../backoffice/format.js'
import { AdminNav, TemporalLink } from '../backoffice/portal-nav.js'
import { FormError } from '../components/field.js'
import { servicesFrom } from '../plugin-api/services.server.js'
import { DataTable } from '../components/data-table.js'
import { isUuid } from '../ids.server.js'

export const meta: MetaFunction = () => [{ title: 'Payouts · Admin · perminute' }]

export async function loader({ request, context }: LoaderFunctionArgs) {
  await requireAdmin(request, context)
  const { config } = servicesFrom(context)
  return { ...(await payoutQueue(context)), temporalUi: config.TEMPORAL_UI_URL, namespace: config.TEMPORAL_NAMESPACE }
}

type Result = { ok: true; message: string } | { ok: false; error: string }

export async function action({ request, context }: ActionFunctionArgs) {
  const admin = await requireAdmin(request, context)
  const formData = await request.formData()
  await requireCsrf(request, formData, context)
  const payoutId = String(formData.get('payoutId') ?? '')
  const intent = formData.get('intent')
  const { db, temporal } = servicesFrom(context)
  const payout = isUuid(payoutId) ? await db.payout.findUnique({ where: { id: payoutId } }) : null
  if (!payout) return data<Result>({ ok: false, error: 'No such payout.' }, { status: 404 })
  const reason = text(formData, 'reason', 500)
  if (intent === 'reject' && !reason) return data<Result>({ ok: false, error: 'Give the reason for the rejection.' }, { status: 400 })
  if (intent !== 'approve' && intent !== 'reject') return data<Result>({ ok: false, error: 'Unknown request.' }, { status: 400 })
  try {
    const state = await decidePayoutWorkflow(
      await temporal(),
      payoutId,
      intent === 'approve' ? { approve: true, adminId: admin.id } : { approve: false, adminId: admin.id, reason },
    )
    return data<Result>({ ok: true, message: `Payout of ${formatCents(payout.amountCents)} ${state.phase}.` })
  } catch (error) {
    return data<Result>({ ok: false, error: `The payout could not be decided: ${(error as Error).message}` }, { status: 409 })
  }
}

export default function AdminPayouts() {
  const { waiting, recent, temporalUi, namespace } = useLoaderData<typeof loader>()
  const result = useActionData<typeof action>()
  return (
    <>
      <AdminNav />
      <h1>Payout queue</h1>
      {result?.ok && (
        <p className="notice" role="status">
          {result.message}
        </p>
      )}
      <FormError message={result && !result.ok ? result.error : null} />
      {waiting.length === 0 ? (
        <p>No payout is waiting for a decision.</p>
      ) : (
        <ul className="operators">
          {waiting.map((p) => (
            <li key={p.id} data-payout-id={p.id}>
              <strong>
                {formatCents(p.amountCents)} for {p.requester.displayName}
              </strong>
              <span className="headline">
                {p.accountId.split(':')[0]?.replace(/_/g, ' ')} · requested {formatWhen(p.requestedAt)} ·{' '}
                <TemporalLink uiUrl={temporalUi} namespace={namespace} workflowId={p.workflowId} />
              </span>
              <Form method="post" className="inline-form">
                <CsrfInput />
                <input type="hidden" name="payoutId" value={p.id} />
                <button type="submit" name="intent" value="approve">
                  Approve and pay
                </button>
              </Form>
              <Form method="post" className="inline-form">
                <CsrfInput />
                <input type="hidden" name="payoutId" value={p.id} />
                <div className="field">
                  <label htmlFor={`reason-${p.id}`}>Reason to reject</label>
                  <input id={`reason-${p.id}`} type="text" name="reason" maxLength={500} />
                </div>
                <button type="submit" name="intent" value="reject" className="danger">
                  Reject
                </button>
              </Form>
            </li>
          ))}
        </ul>
      )}
      <h2>Recently decided</h2>
      <DataTable caption="Recently decided payouts">
        <thead>
          <tr>
            <th scope="col">Requested</th>
            <th scope="col">For</th>
            <th scope="col" className="amount">Amount</th>
            <th scope="col">Status</th>
            <th scope="col">Workflow</th>
          </tr>
        </thead>
        <tbody>
          {recent.map((p) => (
            <tr key={p.id} data-payout-id={p.id}>
              <td>{formatWhen(p.requestedAt)}</td>
              <td>{p.requester.displayName}</td>
              <td className="amount">{formatCents(p.amountCents)}</td>
              <td className={`status-${p.status}`}>
                {p.status}
                {p.providerReference ? ` (${p.providerReference})` : ''}
                {p.decisionReason ? `: ${p.decisionReason}` : ''}
              </td>
              <td>
                <TemporalLink uiUrl={temporalUi} namespace={namespace} workflowId={p.workflowId} />
              </td>
            </tr>
          ))}
        </tbody>
      </DataTable>
    </>
  )
}

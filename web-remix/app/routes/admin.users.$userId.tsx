import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { data } from '@remix-run/node'
import { Form, useActionData, useLoaderData } from '@remix-run/react'
import { runWalletAdjustment } from '../../../temporal/payouts.js'
import { CsrfInput } from '../auth/csrf-input.js'
import { requireCsrf } from '../auth/csrf.server.js'
import { text } from '../auth/form.server.js'
import { requireAdmin } from '../backoffice/admin-access.server.js'
import { userDetail } from '../backoffice/admin.server.js'
import { formatCents, formatWhen, parseAmount } from '../backoffice/format.js'
import { changeAccountStatus } from '../backoffice/operators.server.js'
import { AdminNav } from '../backoffice/portal-nav.js'
import { Field, FormError } from '../components/field.js'
import { servicesFrom } from '../plugin-api/services.server.js'
import { DataTable } from '../components/data-table.js'
import { idFromPath, isUuid } from '../ids.server.js'

export const meta: MetaFunction = () => [{ title: 'User · Admin · perminute' }]

export async function loader({ request, context, params }: LoaderFunctionArgs) {
  await requireAdmin(request, context)
  return { ...(await userDetail(context, idFromPath(params.userId, 'No such user.'))), adjustmentKey: crypto.randomUUID() }
}

type Result = { ok: true; message: string } | { ok: false; error: string }

export async function action({ request, context, params }: ActionFunctionArgs) {
  const admin = await requireAdmin(request, context)
  const formData = await request.formData()
  await requireCsrf(request, formData, context)
  const { user } = await userDetail(context, idFromPath(params.userId, 'No such user.'))
  const intent = formData.get('intent')
  const reason = text(formData, 'reason', 500)
  if (intent === 'suspend' || intent === 'reinstate') {
    if (user.id === admin.id) return data<Result>({ ok: false, error: 'You cannot suspend your own account.' }, { status: 400 })
    const { endedCalls } = await changeAccountStatus(context, {
      userId: user.id,
      status: intent === 'suspend' ? 'disabled' : 'active',
      actorId: admin.id,
      action: intent === 'suspend' ? 'user.suspend' : 'user.reinstate',
      reason: reason || null,
    })
    return data<Result>({ ok: true, message: intent === 'suspend' ? `Suspended${endedCalls ? `; ${endedCalls} call(s) in progress ended` : ''}.` : 'Reinstated.' })
  }
  if (intent === 'adjust') {
    if (user.role !== 'member') return data<Result>({ ok: false, error: 'Only members have a wallet.' }, { status: 400 })
    const amountCents = parseAmount(String(formData.get('amount') ?? ''))
    if (amountCents === null || amountCents <= 0) return data<Result>({ ok: false, error: 'Enter a positive amount such as 10.00.' }, { status: 400 })
    if (!reason) return data<Result>({ ok: false, error: 'Give the reason for the adjustment.' }, { status: 400 })
    const key = String(formData.get('adjustmentKey') ?? '')
    if (!isUuid(key)) return data<Result>({ ok: false, error: 'This form has expired. Reload the page.' }, { status: 400 })
    const services = servicesFrom(context)
    const outcome = await runWalletAdjustment(await services.temporal(), services.config.TEMPORAL_TASK_QUEUE, {
      memberId: user.id,
      amountCents,
      reason,
      idempotencyKey: key,
      adminId: admin.id,
      clientAddress: context.clientAddress ?? null,
    })
    return data<Result>({
      ok: true,
      message: outcome.created ? `Credited ${formatCents(amountCents)}. Available now: ${formatCents(outcome.availableCents)}.` : 'This adjustment was made already.',
    })
  }
  return data<Result>({ ok: false, error: 'Unknown request.' }, { status: 400 })
}

export default function AdminUser() {
  const { user, accounts, audit, adjustmentKey } = useLoaderData<typeof loader>()
  const result = useActionData<typeof action>()
  return (
    <>
      <AdminNav />
      <h1>{user.displayName}</h1>
      {result?.ok && (
        <p className="notice" role="status">
          {result.message}
        </p>
      )}
      <FormError message={result && !result.ok ? result.error : null} />
      <dl className="facts">
        <dt>E-mail</dt>
        <dd className="wrap">{user.email}</dd>
        <dt>Role</dt>
        <dd>{user.role}</dd>
        <dt>Status</dt>
        <dd className={`status-${user.status}`}>{user.status}</dd>
        <dt>Since</dt>
        <dd>{formatWhen(user.createdAt)}</dd>
        {user.operator && (
          <>
            <dt>Price</dt>
            <dd>{formatCents(user.operator.ratePerMinuteCents)} per minute</dd>
          </>
        )}
        {user.ownedCompany && (
          <>
            <dt>Company</dt>
            <dd>
              {user.ownedCompany.name} ({(user.ownedCompany.shareBps / 100).toFixed(2)} %)
            </dd>
          </>
        )}
      </dl>
      <h2>Accounts</h2>
      <DataTable caption="Ledger accounts">
        <thead>
          <tr>
            <th scope="col">Account</th>
            <th scope="col" className="amount">Balance</th>
            <th scope="col" className="amount">Available</th>
          </tr>
        </thead>
        <tbody>
          {accounts.map((a) => (
            <tr key={a.id}>
              <td>{a.kind.replace(/_/g, ' ')}</td>
              <td className="amount">{formatCents(a.postedCents)}</td>
              <td className="amount">{formatCents(a.availableCents)}</td>
            </tr>
          ))}
        </tbody>
      </DataTable>
      <h2>{user.status === 'active' ? 'Suspend' : 'Reinstate'}</h2>
      <Form method="post" className="stack">
        <CsrfInput />
        <Field label="Reason" name="reason" maxLength={500} />
        <div>
          {user.status === 'active' ? (
            <button type="submit" name="intent" value="suspend" className="danger">
              Suspend the account
            </button>
          ) : (
            <button type="submit" name="intent" value="reinstate">
              Reinstate the account
            </button>
          )}
        </div>
      </Form>
      {user.role === 'member' && (
        <>
          <h2>Adjust the wallet</h2>
          <Form method="post" className="stack">
            <CsrfInput />
            <input type="hidden" name="adjustmentKey" value={adjustmentKey} />
            <Field label="Amount to credit" name="amount" inputMode="decimal" required />
            <Field label="Reason (kept in the ledger and the audit log)" name="reason" required maxLength={500} />
            <div>
              <button type="submit" name="intent" value="adjust">
                Credit the wallet
              </button>
            </div>
          </Form>
        </>
      )}
      <h2>History</h2>
      {audit.length === 0 ? (
        <p>No audited changes.</p>
      ) : (
        <ul>
          {audit.map((e) => (
            <li key={e.id}>
              {formatWhen(e.createdAt)} · <strong>{e.action}</strong> · <code className="wrap">{e.details}</code>
            </li>
          ))}
        </ul>
      )}
    </>
  )
}

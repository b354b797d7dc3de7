import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { Form, useActionData } from '@remix-run/react'
import { recordAuditEntry } from '../../../activities/admin/audit.js'
import { checkLedger } from '../../../activities/ledger/check.js'
import { CsrfInput } from '../auth/csrf-input.js'
import { requireCsrf } from '../auth/csrf.server.js'
import { requireAdmin } from '../backoffice/admin-access.server.js'
import { formatWhen } from '../backoffice/format.js'
import { AdminNav } from '../backoffice/portal-nav.js'
import { servicesFrom } from '../plugin-api/services.server.js'

export const meta: MetaFunction = () => [{ title: 'Ledger check · Admin · perminute' }]

export async function loader({ request, context }: LoaderFunctionArgs) {
  await requireAdmin(request, context)
  return null
}

/** Runs the ledger's invariant checks (read-only queries) and records that an admin ran them, with the verdict. */
export async function action({ request, context }: ActionFunctionArgs) {
  const admin = await requireAdmin(request, context)
  const formData = await request.formData()
  await requireCsrf(request, formData, context)
  const { db } = servicesFrom(context)
  const result = await checkLedger(db)
  await recordAuditEntry(db, {
    channel: 'web',
    actorId: admin.id,
    action: 'ledger.check',
    subject: 'ledger',
    details: { ok: result.ok, violations: result.violations.length },
  })
  return result
}

export default function AdminLedger() {
  const result = useActionData<typeof action>()
  return (
    <>
      <AdminNav />
      <h1>Ledger check</h1>
      <p>Proves the ledger's invariants: balances sum to zero, every account matches its transfers, no wallet is negative, every settled call adds up.</p>
      <Form method="post">
        <CsrfInput />
        <button type="submit">Run the check</button>
      </Form>
      {result && (
        <div className={result.ok ? 'notice' : 'alert'} role="status" data-testid="ledger-result">
          <p>
            <strong>{result.ok ? 'The ledger is consistent.' : `${result.violations.length} violation(s) found.`}</strong> Checked{' '}
            {result.accounts} accounts, {result.transfers} transfers and {result.settledCalls} settled calls at {formatWhen(result.checkedAt)}.
          </p>
          {result.violations.length > 0 && (
            <ul>
              {result.violations.map((v, i) => (
                <li key={i}>
                  {v.invariant}: <code className="wrap">{v.detail}</code>
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
    </>
  )
}

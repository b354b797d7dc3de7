import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { data } from '@remix-run/node'
import { Form, Link, useActionData, useLoaderData } from '@remix-run/react'
import { CsrfInput } from '../auth/csrf-input.js'
import { requireRole } from '../auth/session.server.js'
import { companyOf, requireOwnOperator } from '../backoffice/company.server.js'
import { CallTable, EarningsCards } from '../backoffice/earnings-ui.js'
import { changeAccountStatus, handleProfileForm, imageTooLarge, operatorCalls, operatorProfile, readProfileForm } from '../backoffice/operators.server.js'
import { earningsPage } from '../backoffice/payouts.server.js'
import { ProfileEditor } from '../backoffice/profile-form.js'
import { idFromPath } from '../ids.server.js'

export const meta: MetaFunction = () => [{ title: 'Operator · Company · perminute' }]

export async function loader({ request, context, params }: LoaderFunctionArgs) {
  const user = await requireRole(request, 'company', context)
  const company = await companyOf(context, user)
  const operatorId = await requireOwnOperator(context, company.id, idFromPath(params.operatorId, 'No such operator in your company.'))
  const [profile, calls, page] = await Promise.all([
    operatorProfile(context, operatorId),
    operatorCalls(context, { operatorId }, 50),
    earningsPage(context, { kind: 'operator', id: operatorId }),
  ])
  return { profile, calls, earnings: page.earnings }
}

export async function action({ request, context, params }: ActionFunctionArgs) {
  const user = await requireRole(request, 'company', context)
  // The session and role first, then the CSRF check, and only then the body (a photo upload is megabytes).
  const formData = await readProfileForm(request, context)
  if (!formData) return data(imageTooLarge(), { status: 413 })
  const company = await companyOf(context, user)
  const operatorId = await requireOwnOperator(context, company.id, idFromPath(params.operatorId, 'No such operator in your company.'))
  const intent = formData.get('intent')
  if (intent === 'disable' || intent === 'enable') {
    const { endedCalls } = await changeAccountStatus(context, {
      userId: operatorId,
      status: intent === 'disable' ? 'disabled' : 'active',
      actorId: user.id,
      action: intent === 'disable' ? 'operator.disable' : 'operator.enable',
    })
    const message =
      intent === 'disable'
        ? `The operator is disabled${endedCalls ? ` and their call in progress was ended` : ''}.`
        : 'The operator is enabled again.'
    return data({ ok: true, intent, message }, { status: 200 })
  }
  const result = await handleProfileForm(context, operatorId, user.id, formData)
  return data(result, { status: result.ok ? 200 : 400 })
}

export default function CompanyOperatorPage() {
  const { profile, calls, earnings } = useLoaderData<typeof loader>()
  const result = useActionData<typeof action>()
  const disabled = profile.status !== 'active'
  return (
    <>
      <p>
        <Link to="/company">← Your company</Link>
      </p>
      <h1>{profile.displayName}</h1>
      <p>
        Status: <strong className={`status-${profile.status}`}>{profile.status}</strong>
      </p>
      {result && (result.intent === 'disable' || result.intent === 'enable') && (
        <p className="notice" role="status">
          {result.message}
        </p>
      )}
      <Form method="post">
        <CsrfInput />
        {disabled ? (
          <button type="submit" name="intent" value="enable">
            Enable the operator
          </button>
        ) : (
          <button type="submit" name="intent" value="disable" className="danger">
            Disable the operator
          </button>
        )}
      </Form>
      <p>
        <Link to={`/operators/${profile.id}`}>Their public profile</Link>
      </p>
      <ProfileEditor profile={profile} result={result} />
      <h2>Earnings</h2>
      <EarningsCards earnings={earnings} />
      <h2>Calls</h2>
      <CallTable calls={calls} caption="Calls" showCompanyShare />
    </>
  )
}

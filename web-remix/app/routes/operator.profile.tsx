import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { data } from '@remix-run/node'
import { Form, useActionData, useLoaderData } from '@remix-run/react'
import { CsrfInput } from '../auth/csrf-input.js'
import { requireCsrf } from '../auth/csrf.server.js'
import { requireRole } from '../auth/session.server.js'
import { ProfileForm } from '../backoffice/profile-form.js'
import { operatorProfile, saveOperatorProfile } from '../backoffice/operators.server.js'
import { OperatorNav } from '../backoffice/portal-nav.js'

export const meta: MetaFunction = () => [{ title: 'Profile and price · Operator · perminute' }]

export async function loader({ request, context }: LoaderFunctionArgs) {
  const user = await requireRole(request, 'operator', context)
  return { profile: await operatorProfile(context, user.id) }
}

export async function action({ request, context }: ActionFunctionArgs) {
  const user = await requireRole(request, 'operator', context)
  const formData = await request.formData()
  await requireCsrf(request, formData, context)
  const result = await saveOperatorProfile(context, user.id, user.id, formData)
  return data(result, { status: result.ok ? 200 : 400 })
}

export default function OperatorProfilePage() {
  const { profile } = useLoaderData<typeof loader>()
  const result = useActionData<typeof action>()
  return (
    <>
      <OperatorNav />
      <h1>Your profile and price</h1>
      <Form method="post" className="stack">
        <CsrfInput />
        <ProfileForm profile={profile} result={result} />
      </Form>
    </>
  )
}

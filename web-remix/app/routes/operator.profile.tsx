import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { data } from '@remix-run/node'
import { Link, useActionData, useLoaderData } from '@remix-run/react'
import { requireRole } from '../auth/session.server.js'
import { handleProfileForm, imageTooLarge, operatorProfile, readProfileForm } from '../backoffice/operators.server.js'
import { OperatorNav } from '../backoffice/portal-nav.js'
import { ProfileEditor } from '../backoffice/profile-form.js'

export const meta: MetaFunction = () => [{ title: 'Profile and price · Operator · perminute' }]

export async function loader({ request, context }: LoaderFunctionArgs) {
  const user = await requireRole(request, 'operator', context)
  return { profile: await operatorProfile(context, user.id) }
}

export async function action({ request, context }: ActionFunctionArgs) {
  const user = await requireRole(request, 'operator', context)
  // The session and role first, then the CSRF check, and only then the body (a photo upload is megabytes).
  const formData = await readProfileForm(request, context)
  if (!formData) return data(imageTooLarge(), { status: 413 })
  const result = await handleProfileForm(context, user.id, user.id, formData)
  return data(result, { status: result.ok ? 200 : 400 })
}

export default function OperatorProfilePage() {
  const { profile } = useLoaderData<typeof loader>()
  const result = useActionData<typeof action>()
  return (
    <>
      <OperatorNav />
      <h1>Your profile and price</h1>
      <p>
        <Link to={`/operators/${profile.id}`}>See your public profile</Link>
      </p>
      <ProfileEditor profile={profile} result={result} />
    </>
  )
}

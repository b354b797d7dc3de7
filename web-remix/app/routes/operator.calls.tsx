import type { LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { useLoaderData } from '@remix-run/react'
import { requireRole } from '../auth/session.server.js'
import { CallTable } from '../backoffice/earnings-ui.js'
import { operatorCalls } from '../backoffice/operators.server.js'
import { OperatorNav } from '../backoffice/portal-nav.js'

export const meta: MetaFunction = () => [{ title: 'Calls · Operator · perminute' }]

export async function loader({ request, context }: LoaderFunctionArgs) {
  const user = await requireRole(request, 'operator', context)
  return { calls: await operatorCalls(context, { operatorId: user.id }, 200) }
}

export default function OperatorCalls() {
  const { calls } = useLoaderData<typeof loader>()
  return (
    <>
      <OperatorNav />
      <h1>Your calls</h1>
      <p>What each call earned you, after the platform's commission and your company's share.</p>
      <CallTable calls={calls} caption="Your calls" />
    </>
  )
}

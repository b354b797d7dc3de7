import { data, type ActionFunctionArgs, type HeadersFunction, type LinksFunction, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node'
import { useActionData, useLoaderData, type ShouldRevalidateFunction } from '@remix-run/react'
import { requireCsrf } from '../auth/csrf.server.js'
import { text } from '../auth/form.server.js'
import { requireRole } from '../auth/session.server.js'
import { listCallMessages } from '../calls/call-messages.server.js'
import liveCallStyles from '../calls/live-call.css?url'
import { LiveCallPage } from '../calls/live-call-page.js'
import { confirmConnected, endReasonText, memberCallMedia, memberCallPanel } from '../calls/member-calls.server.js'
import { idFromPath } from '../ids.server.js'
import { endCallAs } from '../plugin-api/calls.server.js'
import { servicesFrom } from '../plugin-api/services.server.js'

export const meta: MetaFunction = () => [{ title: 'Your call · perminute' }]
export const links: LinksFunction = () => [{ rel: 'stylesheet', href: liveCallStyles }]

async function loadPanel(request: Request, context: LoaderFunctionArgs['context'], callId: string | undefined) {
  const member = await requireRole(request, 'member', context)
  const panel = await memberCallPanel(servicesFrom(context), member, idFromPath(callId, 'No such call'))
  // Another member's call does not exist, as far as this member can tell.
  if (!panel) throw new Response('No such call', { status: 404, statusText: 'Not Found' })
  return { member, panel }
}

// The room's token is the member's alone: never kept by a cache (the page, and its data requests).
const NO_STORE = { 'Cache-Control': 'private, no-store' }
export const headers: HeadersFunction = () => NO_STORE

export async function loader({ request, params, context }: LoaderFunctionArgs) {
  const { member, panel } = await loadPanel(request, context, params.callId)
  const services = servicesFrom(context)
  const [media, messages] = await Promise.all([memberCallMedia(services, member, panel), listCallMessages(services, { memberId: member.id }, panel.callId)])
  return data({ panel, endReasonText: panel.endReason ? endReasonText[panel.endReason] : null, media, messages: messages ?? [] }, { headers: NO_STORE })
}

// A chat message changes none of the call's figures: sending one does not reload the page's data.
export const shouldRevalidate: ShouldRevalidateFunction = ({ formAction, defaultShouldRevalidate }) =>
  formAction?.endsWith('/messages') ? false : defaultShouldRevalidate

// intent=hangup (the default): the member hangs up, connecting (unbilled) or during the call, with the same end request
// the plugin sends. intent=connected: the member says the call on the operator's outside app is connected.
export async function action({ request, params, context }: ActionFunctionArgs) {
  const { member, panel } = await loadPanel(request, context, params.callId)
  const formData = await request.formData()
  await requireCsrf(request, formData, context)
  const services = servicesFrom(context)
  const intent = text(formData, 'intent', 20) || 'hangup'
  if (intent === 'connected') {
    const confirmed = await confirmConnected(services, member, panel.callId)
    if (confirmed) return data({ message: null })
    return data({ message: 'This call is not waiting for you to say it is connected.' }, { status: 409 })
  }
  if (intent !== 'hangup') return data({ message: 'Choose hang up or connected.' }, { status: 400 })
  if (panel.status === 'active' || panel.status === 'connecting') await endCallAs(services, { memberId: member.id }, panel.callId, 'member_hangup')
  return data({ message: null })
}

export default function CallRoute() {
  const loaded = useLoaderData<typeof loader>()
  const result = useActionData<typeof action>()
  return <LiveCallPage key={loaded.panel.callId} {...loaded} actionMessage={result?.message ?? null} />
}

import type { ActionFunctionArgs, LoaderFunctionArgs } from '@remix-run/node'
import { requireCsrf } from '../auth/csrf.server.js'
import { requireRole } from '../auth/session.server.js'
import { listCallMessages, messageBody, MESSAGES_PER_MINUTE, sendCallMessage, type CallMessage } from '../calls/call-messages.server.js'
import { idFromPath } from '../ids.server.js'
import { servicesFrom } from '../plugin-api/services.server.js'

// The chat of a member's own call (docs/decisions/065-call-chat.md): GET its messages (the call page reads them again
// after its event stream reconnects), POST body= to write one. Another member's call does not exist.

export type SendMessageResult = { ok: true; message: CallMessage } | { ok: false; error: string }

const NO_STORE = { 'Cache-Control': 'private, no-store' }
const NO_SUCH_CALL = 'No such call'

/** A resource route answers with a Response of its own (Remix's data() is for routes with a page). */
const answer = (result: SendMessageResult, status = 200, headers: Record<string, string> = {}) =>
  Response.json(result, { status, headers: { ...NO_STORE, ...headers } })

export async function loader({ request, params, context }: LoaderFunctionArgs) {
  const member = await requireRole(request, 'member', context)
  const messages = await listCallMessages(servicesFrom(context), { memberId: member.id }, idFromPath(params.callId, NO_SUCH_CALL))
  if (!messages) throw new Response(NO_SUCH_CALL, { status: 404, statusText: 'Not Found' })
  return Response.json({ messages }, { headers: NO_STORE })
}

export async function action({ request, params, context }: ActionFunctionArgs) {
  const member = await requireRole(request, 'member', context)
  const callId = idFromPath(params.callId, NO_SUCH_CALL)
  const formData = await request.formData()
  await requireCsrf(request, formData, context)
  const parsed = messageBody.safeParse(typeof formData.get('body') === 'string' ? formData.get('body') : '')
  if (!parsed.success) return answer({ ok: false, error: `Your message ${parsed.error.issues[0]?.message ?? 'is not valid'}.` }, 422)
  const sent = await sendCallMessage(servicesFrom(context), member.id, callId, parsed.data)
  switch (sent.outcome) {
    case 'sent':
      return answer({ ok: true, message: sent.message })
    case 'call_not_found':
      throw new Response(NO_SUCH_CALL, { status: 404, statusText: 'Not Found' })
    case 'call_ended':
      return answer({ ok: false, error: 'The call is over: no more messages can be sent.' }, 409)
    case 'rate_limited':
      return answer(
        { ok: false, error: `That is more than ${MESSAGES_PER_MINUTE} messages a minute. Wait ${sent.retryAfterSeconds} s and send it again.` },
        429,
        { 'Retry-After': String(sent.retryAfterSeconds) },
      )
    case 'blank':
      return answer({ ok: false, error: 'Your message must not be blank.' }, 422)
  }
}

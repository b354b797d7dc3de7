import { z } from 'zod'
import { listCallMessages, memberMessagesForOperator, messageBody, MESSAGES_PER_MINUTE, sendCallMessage, type CallMessage, type MemberHistory } from '../calls/call-messages.server.js'
import type { AuthenticatedOperator } from './auth.server.js'
import { apiError } from './errors.server.js'
import type { PlatformServices } from './services.server.js'
import { uuid } from './validation.server.js'

/** The call's chat for the operator's plugin (docs/decisions/065-call-chat.md), over calls/call-messages.server.ts. */

export const sendMessageRequest = z.object({ body: messageBody })

const callNotFound = () => apiError(404, 'call_not_found', 'no such call')

export async function sendOperatorMessage(services: PlatformServices, operator: AuthenticatedOperator, callId: string, body: string): Promise<CallMessage> {
  const answer = await sendCallMessage(services, operator.id, callId, body)
  switch (answer.outcome) {
    case 'sent':
      return answer.message
    case 'call_not_found':
      throw callNotFound()
    case 'call_ended':
      throw apiError(409, 'call_ended', 'this call is over; its messages can still be read')
    case 'rate_limited':
      throw apiError(429, 'too_many_messages', `at most ${MESSAGES_PER_MINUTE} messages a minute in a call; try again in ${answer.retryAfterSeconds} s`, {
        'Retry-After': String(answer.retryAfterSeconds),
      })
    case 'blank':
      throw apiError(422, 'invalid_body', 'body: must not be blank')
  }
}

export async function operatorCallMessages(services: PlatformServices, operator: AuthenticatedOperator, callId: string): Promise<CallMessage[]> {
  const messages = await listCallMessages(services, { operatorId: operator.id }, callId)
  if (!messages) throw callNotFound()
  return messages
}

/** A member id from the path: one that cannot be an id is unknown, like any other. */
export function memberIdFromParams(params: Record<string, string | undefined>): string {
  const parsed = uuid.safeParse(params.memberId)
  if (!parsed.success) throw apiError(404, 'member_not_found', 'no such member')
  return parsed.data
}

export async function operatorMemberMessages(services: PlatformServices, operator: AuthenticatedOperator, memberId: string): Promise<MemberHistory> {
  const history = await memberMessagesForOperator(services, operator.id, memberId)
  if (!history) throw apiError(404, 'member_not_found', 'no such member')
  return history
}

import { useFetcher } from '@remix-run/react'
import { useCallback, useEffect, useId, useRef, useState } from 'react'
import { CsrfInput } from '../auth/csrf-input.js'

/**
 * The chat of the member's call page (docs/decisions/065-call-chat.md): the call's messages, then a field to write one.
 * Sending posts to /calls/:callId/messages in place; the other side's messages arrive as call.message events on the
 * page's event stream (the page hands them over with `receive`), and a message is shown once whichever way it came.
 */

export interface ChatMessage {
  id: string
  callId: string
  from: 'member' | 'operator'
  body: string
  sentAt: string
}

type SendResult = { ok: true; message: ChatMessage } | { ok: false; error: string }

const MAX_CHARS = 1000

function merge(messages: ChatMessage[], more: ChatMessage[]): ChatMessage[] {
  const known = new Set(messages.map((message) => message.id))
  const fresh = more.filter((message) => !known.has(message.id))
  if (fresh.length === 0) return messages
  return [...messages, ...fresh].sort((a, b) => a.sentAt.localeCompare(b.sentAt) || a.id.localeCompare(b.id))
}

/** The page's chat state: the messages it loaded, plus those it is told of or sent since. */
export function useCallChat(initial: ChatMessage[]) {
  const [messages, setMessages] = useState(initial)
  const receive = useCallback((message: ChatMessage) => setMessages((current) => merge(current, [message])), [])
  useEffect(() => setMessages((current) => merge(current, initial)), [initial])
  return { messages, receive }
}

/** A call.message event's payload as a message, or null when it is not one. */
export function chatMessageOf(payload: Record<string, unknown>): ChatMessage | null {
  const { id, callId, from, body, sentAt } = payload
  if (typeof id !== 'string' || typeof callId !== 'string' || typeof body !== 'string' || typeof sentAt !== 'string') return null
  if (from !== 'member' && from !== 'operator') return null
  return { id, callId, from, body, sentAt }
}

const timeOf = (iso: string) => new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })

export function CallChat(props: {
  callId: string
  operatorName: string
  messages: ChatMessage[]
  receive: (message: ChatMessage) => void
  /** False once the call is settled: the conversation stays, the field goes. */
  open: boolean
}) {
  const { callId, operatorName, messages, receive, open } = props
  const fetcher = useFetcher<SendResult>()
  const id = useId()
  const input = useRef<HTMLInputElement>(null)
  const list = useRef<HTMLOListElement>(null)
  const result = fetcher.data

  useEffect(() => {
    if (fetcher.state !== 'idle' || !result?.ok) return
    receive(result.message)
    if (input.current) input.current.value = ''
  }, [fetcher.state, result, receive])

  // The newest message in view, as in any chat.
  useEffect(() => {
    const element = list.current
    if (element) element.scrollTop = element.scrollHeight
  }, [messages.length])

  return (
    <section className="call-chat" aria-labelledby={`${id}-title`} data-testid="call-chat">
      <h2 id={`${id}-title`}>Messages</h2>
      {messages.length === 0 ? (
        <p className="chat-empty">{open ? `No messages yet. Write to ${operatorName} here.` : 'No messages in this call.'}</p>
      ) : null}
      <ol className="chat-messages" ref={list} aria-live="polite" aria-relevant="additions" tabIndex={messages.length > 0 ? 0 : -1} aria-label="Messages in this call">
        {messages.map((message) => (
          <li key={message.id} className={`chat-message from-${message.from}`} data-testid="chat-message" data-from={message.from}>
            <span className="chat-author">{message.from === 'member' ? 'You' : operatorName}</span>{' '}
            <time dateTime={message.sentAt}>{timeOf(message.sentAt)}</time>
            <p className="chat-body">{message.body}</p>
          </li>
        ))}
      </ol>
      {open ? (
        <fetcher.Form method="post" action={`/calls/${callId}/messages`} className="chat-form">
          <CsrfInput />
          <label htmlFor={`${id}-body`}>Message to {operatorName}</label>
          <div className="chat-compose">
            <input ref={input} id={`${id}-body`} name="body" type="text" required maxLength={MAX_CHARS} autoComplete="off" enterKeyHint="send" />
            <button type="submit" disabled={fetcher.state !== 'idle'}>
              Send
            </button>
          </div>
          {result && !result.ok ? (
            <p className="alert" role="alert">
              {result.error}
            </p>
          ) : null}
        </fetcher.Form>
      ) : null}
    </section>
  )
}

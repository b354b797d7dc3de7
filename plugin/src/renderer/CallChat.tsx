import { useEffect, useRef, useState, type FormEvent } from 'react'
import type { CallChatView, ChatLine } from '../core/plugin-state.js'
import { ErrorMessage } from './ErrorMessage.js'
import { useAction, useApi } from './perminute.js'

/**
 * The call's text chat (docs/decisions/065-call-chat.md): what the operator and this member wrote in earlier calls,
 * marked as earlier, then this call's messages, then a field to write one. Enter sends.
 */
export function CallChat({ chat, memberName }: { chat: CallChatView; memberName: string }) {
  const api = useApi()
  const [send, sending, sendError] = useAction(api.sendChatMessage)
  const [draft, setDraft] = useState('')
  const list = useRef<HTMLDivElement>(null)
  const count = chat.earlier.length + chat.messages.length

  // The newest message in view, as in any chat.
  useEffect(() => {
    const element = list.current
    if (element) element.scrollTop = element.scrollHeight
  }, [count])

  const submit = async (event: FormEvent) => {
    event.preventDefault()
    if (!draft.trim() || sending) return
    if (await send(draft)) setDraft('')
  }

  return (
    <section className="call-chat" aria-labelledby="call-chat-title" data-testid="call-chat">
      <h3 id="call-chat-title">Messages</h3>
      <div className="chat-log" ref={list} tabIndex={count > 0 ? 0 : -1} aria-label={`Messages with ${memberName}`}>
        {chat.earlier.length > 0 && (
          <>
            <p className="chat-divider">Earlier calls</p>
            <ol className="chat-messages earlier" data-testid="chat-earlier">
              {chat.earlier.map((line) => (
                <Line key={line.id} line={line} memberName={memberName} earlierCall={line.callStartedAtMs} />
              ))}
            </ol>
            <p className="chat-divider">This call</p>
          </>
        )}
        {chat.messages.length === 0 ? (
          <p className="quiet">{chat.loaded ? 'No messages in this call yet.' : 'Loading messages…'}</p>
        ) : null}
        <ol className="chat-messages" aria-live="polite" aria-relevant="additions" data-testid="chat-messages">
          {chat.messages.map((line) => (
            <Line key={line.id} line={line} memberName={memberName} />
          ))}
        </ol>
      </div>
      {chat.open && (
        <form className="chat-form" onSubmit={(event) => void submit(event)}>
          <label htmlFor="chat-body">Message to {memberName}</label>
          <div className="chat-compose">
            <input id="chat-body" type="text" value={draft} onChange={(event) => setDraft(event.target.value)} maxLength={1000} autoComplete="off" />
            <button type="submit" disabled={sending || !draft.trim()}>
              Send
            </button>
          </div>
        </form>
      )}
      <ErrorMessage text={sendError ?? chat.problem} />
    </section>
  )
}

function Line({ line, memberName, earlierCall }: { line: ChatLine; memberName: string; earlierCall?: number }) {
  const when = new Date(line.sentAtMs)
  const time = earlierCall === undefined ? when.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }) : when.toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' })
  return (
    <li className={`chat-message from-${line.from}`} data-testid="chat-message" data-from={line.from}>
      <span className="chat-author">{line.from === 'operator' ? 'You' : memberName}</span> <time dateTime={when.toISOString()}>{time}</time>
      <p className="chat-body">{line.body}</p>
    </li>
  )
}

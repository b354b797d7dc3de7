import Mailgun from 'mailgun.js'

/** How a message leaves the platform. Mailgun in production; none in development (the outbox keeps the mail). */

export interface OutgoingMail {
  from: string
  to: string
  subject: string
  text: string
  html?: string | null
  /** Our outbox id, sent as a header so a delivered message can be traced back to its row. */
  outboxId: string
}

export interface MailTransport {
  readonly name: string
  send(mail: OutgoingMail): Promise<{ providerMessageId: string | null }>
}

/** A refusal that retrying cannot fix (a malformed address): the message is marked failed instead of retried. */
export class PermanentMailError extends Error {
  override name = 'PermanentMailError'
}

export function mailgunTransport(options: { apiKey: string; domain: string; url: string }): MailTransport {
  const client = new Mailgun(FormData).client({ username: 'api', key: options.apiKey, url: options.url })
  return {
    name: 'mailgun',
    async send(mail) {
      try {
        const result = await client.messages.create(options.domain, {
          from: mail.from,
          to: [mail.to],
          subject: mail.subject,
          text: mail.text,
          ...(mail.html ? { html: mail.html } : {}),
          'h:X-Perminute-Outbox-Id': mail.outboxId,
        })
        return { providerMessageId: result.id ?? null }
      } catch (error) {
        const status = (error as { status?: unknown }).status
        // 400: Mailgun understood the request and refuses its content; the same message will be refused again.
        // Everything else (401/403 while a key is being fixed, 429, 5xx, the network) is worth another try.
        if (status === 400) throw new PermanentMailError(describeMailgunError(error))
        throw new Error(describeMailgunError(error))
      }
    },
  }
}

function describeMailgunError(error: unknown): string {
  const failure = error as { status?: unknown; details?: unknown; message?: unknown }
  const status = typeof failure.status === 'number' ? `HTTP ${failure.status}` : 'no response'
  const detail = typeof failure.details === 'string' ? failure.details : typeof failure.message === 'string' ? failure.message : String(error)
  return `Mailgun: ${status}: ${detail}`.slice(0, 500)
}

/** Mailgun when both of its settings are present; otherwise no transport (mail stays in the local outbox). */
export function mailTransportFrom(config: { MAILGUN_API_KEY?: string; MAILGUN_DOMAIN?: string; MAILGUN_URL: string }): MailTransport | null {
  if (!config.MAILGUN_API_KEY || !config.MAILGUN_DOMAIN) return null
  return mailgunTransport({ apiKey: config.MAILGUN_API_KEY, domain: config.MAILGUN_DOMAIN, url: config.MAILGUN_URL })
}

import pg from 'pg'
import type { Db } from '../../prisma/client.js'
import { MAIL_CHANNEL } from './outbox.js'
import { PermanentMailError, type MailTransport } from './transport.js'

/**
 * Delivers the mail outbox. Each pass leases a batch of due messages (their next attempt moves a lease ahead, so a
 * dispatcher that dies mid-send leaves them to be retried, never lost), sends each, and records the outcome.
 * Failures are retried with exponential back-off capped at an hour, for as long as it takes; only a refusal that
 * no retry can fix is marked failed, and stays in the outbox for an admin to see. Delivery is therefore at least
 * once: a crash between the provider's acceptance and our update sends that message again.
 */

/**
 * One-time links (e-mail verification, password reset: `?token=…`) are taken out of a message's stored bodies once it
 * has left for good (sent, or refused for good), so the outbox is never a list of working links. Mail that stays in
 * the outbox because no provider is configured keeps them outside production: there the development mailbox is how
 * it is read.
 */
export const ONE_TIME_LINK_PATTERN = '([?&](amp;)?token=)[A-Za-z0-9_-]+'
const REDACTED = '\\1removed'

const BATCH = 20
const LEASE_SECONDS = 120
const FIRST_RETRY_MS = 15_000
const MAX_RETRY_MS = 60 * 60_000

export function retryDelayMs(attempts: number): number {
  return Math.min(FIRST_RETRY_MS * 2 ** Math.max(0, attempts - 1), MAX_RETRY_MS)
}

interface LeasedMail {
  id: bigint
  to_address: string
  subject: string
  text_body: string
  html_body: string | null
  attempts: number
}

export interface MailDispatcher {
  /** One pass: sends what is due; resolves to how many messages it handled. */
  deliverDue(): Promise<number>
  start(): void
  stop(): Promise<void>
}

export function createMailDispatcher(options: {
  db: Db
  /** null: no provider is configured; messages are marked stored and stay readable in the outbox. */
  transport: MailTransport | null
  from: string
  databaseUrl?: string
  pollMs: number
  /** Mail kept as stored (no provider) loses its one-time links too; true in production, where nobody reads it. */
  redactStored?: boolean
  log?: (line: string) => void
}): MailDispatcher {
  const { db, transport, from } = options
  const log = options.log ?? (() => {})

  async function deliverDue(): Promise<number> {
    if (!transport) {
      const stored = options.redactStored
        ? await db.$executeRaw`
            UPDATE mail_outbox SET status = 'stored',
              text_body = regexp_replace(text_body, ${ONE_TIME_LINK_PATTERN}, ${REDACTED}, 'g'),
              html_body = regexp_replace(html_body, ${ONE_TIME_LINK_PATTERN}, ${REDACTED}, 'g')
            WHERE status = 'pending'`
        : await db.$executeRaw`UPDATE mail_outbox SET status = 'stored' WHERE status = 'pending'`
      return stored
    }
    const leased = await db.$queryRaw<LeasedMail[]>`
      UPDATE mail_outbox SET attempts = attempts + 1, next_attempt_at = now() + make_interval(secs => ${LEASE_SECONDS})
      WHERE id IN (
        SELECT id FROM mail_outbox WHERE status = 'pending' AND next_attempt_at <= now()
        ORDER BY next_attempt_at, id LIMIT ${BATCH} FOR UPDATE SKIP LOCKED)
      RETURNING id, to_address, subject, text_body, html_body, attempts`
    for (const mail of leased) {
      try {
        const { providerMessageId } = await transport.send({
          from,
          to: mail.to_address,
          subject: mail.subject,
          text: mail.text_body,
          html: mail.html_body,
          outboxId: mail.id.toString(),
        })
        await db.$executeRaw`
          UPDATE mail_outbox SET status = 'sent', sent_at = now(), provider_message_id = ${providerMessageId}, last_error = NULL,
            text_body = regexp_replace(text_body, ${ONE_TIME_LINK_PATTERN}, ${REDACTED}, 'g'),
            html_body = regexp_replace(html_body, ${ONE_TIME_LINK_PATTERN}, ${REDACTED}, 'g')
          WHERE id = ${mail.id}`
      } catch (error) {
        const message = (error as Error).message
        if (error instanceof PermanentMailError) {
          await db.$executeRaw`
            UPDATE mail_outbox SET status = 'failed', last_error = ${message},
              text_body = regexp_replace(text_body, ${ONE_TIME_LINK_PATTERN}, ${REDACTED}, 'g'),
              html_body = regexp_replace(html_body, ${ONE_TIME_LINK_PATTERN}, ${REDACTED}, 'g')
            WHERE id = ${mail.id}`
          log(`mail ${mail.id} to ${mail.to_address} refused for good: ${message}`)
        } else {
          const delay = retryDelayMs(mail.attempts)
          await db.$executeRaw`
            UPDATE mail_outbox SET last_error = ${message}, next_attempt_at = now() + make_interval(secs => ${delay / 1000})
            WHERE id = ${mail.id}`
          log(`mail ${mail.id} to ${mail.to_address} not sent (attempt ${mail.attempts}), retrying in ${Math.round(delay / 1000)} s: ${message}`)
        }
      }
    }
    return leased.length
  }

  let running = false
  let timer: NodeJS.Timeout | undefined
  let listener: pg.Client | undefined
  let pass: Promise<void> = Promise.resolve()
  let again = false

  // Passes never overlap: a wake-up during a pass asks for one more pass after it.
  function wake(): void {
    if (!running) return
    if (again) return
    again = true
    pass = pass.then(async () => {
      again = false
      try {
        while (running && (await deliverDue()) === BATCH) {
          // A full batch: there may be more due at once.
        }
      } catch (error) {
        log(`mail dispatcher pass failed: ${(error as Error).message}`)
      }
    })
  }

  return {
    deliverDue,
    start() {
      if (running) return
      running = true
      timer = setInterval(wake, options.pollMs)
      if (options.databaseUrl) {
        listener = new pg.Client({ connectionString: options.databaseUrl })
        listener.on('notification', wake)
        // Without the listener the poll still delivers; a lost connection only slows new mail to the poll's pace.
        listener.on('error', (error) => log(`mail dispatcher LISTEN connection lost: ${error.message}`))
        listener
          .connect()
          .then(() => listener?.query(`LISTEN ${MAIL_CHANNEL}`))
          .catch((error: unknown) => log(`mail dispatcher could not LISTEN: ${(error as Error).message}`))
      }
      wake()
    },
    async stop() {
      running = false
      if (timer) clearInterval(timer)
      await listener?.end().catch(() => undefined)
      await pass
    },
  }
}

import type { Tx } from '../ledger/tx.js'

/**
 * Every message the platform sends is first a row of mail_outbox, written in the transaction of the change it
 * reports (a sign-up, a reset request, a booking), so a crash can never lose it or send it for a change that rolled
 * back. The dispatcher (dispatcher.ts) delivers it afterwards and retries until the provider takes it.
 */

export const MAIL_CHANNEL = 'mail_outbox'

export interface MailInput {
  to: string
  subject: string
  text: string
  html?: string
  /** What kind of message this is (verify_email, password_reset, …): shown in the outbox, useful in tests. */
  template: string
  /** The same key twice enqueues one message: a retried activity or a double-clicked form sends one mail. */
  dedupeKey?: string
}

export async function enqueueMail(tx: Tx, mail: MailInput): Promise<void> {
  const rows = await tx.$queryRaw<{ id: bigint }[]>`
    INSERT INTO mail_outbox (template, to_address, subject, text_body, html_body, dedupe_key)
    VALUES (${mail.template}, ${mail.to}, ${mail.subject}, ${mail.text}, ${mail.html ?? null}, ${mail.dedupeKey ?? null})
    ON CONFLICT (dedupe_key) DO NOTHING
    RETURNING id`
  // NOTIFY is transactional: the dispatcher wakes once the message is committed, and never for a rolled-back one.
  if (rows[0]) await tx.$executeRaw`SELECT pg_notify(${MAIL_CHANNEL}, ${rows[0].id.toString()})`
}

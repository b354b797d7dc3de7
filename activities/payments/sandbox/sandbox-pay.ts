import { randomBytes } from 'node:crypto'
import type { Db } from '../../../prisma/client.js'
import { toCents } from '../../ledger/tx.js'
import { signatureHeader } from '../webhook-signature.js'
import { checkCard, type CardEntry } from './test-cards.js'

/**
 * The provider's side of the built-in sandbox: what a hosted-payment provider runs on its own servers. It keeps its
 * checkout sessions in a table of its own (sandbox_pay_sessions), serves the payment page under /sandbox-pay/
 * (web-remix/app/routes/sandbox-pay.*), decides each payment by the test card entered there, and tells the
 * merchant (us) by a signed webhook over real HTTP and by sending the member back to the return address.
 * The card entry is checked and forgotten: it is never stored, logged or sent to the merchant.
 */

export type SandboxStatus = 'open' | 'requires_action' | 'succeeded' | 'declined' | 'expired'
export const SANDBOX_FINAL_STATUSES: readonly SandboxStatus[] = ['succeeded', 'declined', 'expired']

export const SANDBOX_SIGNATURE_HEADER = 'sandbox-pay-signature'
/** Where the sandbox's pages are served, on the web's own origin. */
export const SANDBOX_PAGES_PATH = '/sandbox-pay'

export interface SandboxSession {
  id: string
  merchantReference: string
  customerReference: string
  amountCents: number
  description: string
  returnUrl: string
  webhookUrl: string
  status: SandboxStatus
  declineReason: string | null
  paymentId: string | null
  createdAt: Date
  expiresAt: Date
  completedAt: Date | null
}

export interface NewSandboxSession {
  idempotencyKey: string
  merchantReference: string
  customerReference: string
  amountCents: number
  description: string
  returnUrl: string
  webhookUrl: string
  expiresAt: Date
}

/** The webhook body, in the provider's own format. */
export interface SandboxEvent {
  id: string
  type: 'checkout.session.completed' | 'checkout.session.payment_failed' | 'checkout.session.expired'
  created: number
  data: {
    object: {
      id: string
      merchant_reference: string
      amount_cents: number
      status: 'succeeded' | 'declined' | 'expired'
      payment_id: string | null
      decline_reason: string | null
    }
  }
}

export class SandboxIdempotencyError extends Error {
  override name = 'SandboxIdempotencyError'
}

interface SessionRow {
  id: string
  merchant_reference: string
  customer_reference: string
  amount_cents: bigint
  description: string
  return_url: string
  webhook_url: string
  status: SandboxStatus
  decline_reason: string | null
  payment_id: string | null
  created_at: Date
  expires_at: Date
  completed_at: Date | null
}

const toSession = (row: SessionRow): SandboxSession => ({
  id: row.id,
  merchantReference: row.merchant_reference,
  customerReference: row.customer_reference,
  amountCents: toCents(row.amount_cents),
  description: row.description,
  returnUrl: row.return_url,
  webhookUrl: row.webhook_url,
  status: row.status,
  declineReason: row.decline_reason,
  paymentId: row.payment_id,
  createdAt: row.created_at,
  expiresAt: row.expires_at,
  completedAt: row.completed_at,
})

const randomId = (prefix: string) => `${prefix}_${randomBytes(12).toString('hex')}`

/** The page where the member pays for a session, on the same origin as the merchant's return address. */
export function sandboxCheckoutUrl(session: Pick<SandboxSession, 'id' | 'returnUrl'>): string {
  return new URL(`${SANDBOX_PAGES_PATH}/checkout/${encodeURIComponent(session.id)}`, session.returnUrl).href
}

/** Where the member goes back to: the merchant's return address with the session id added. */
export function sandboxReturnUrl(session: Pick<SandboxSession, 'id' | 'returnUrl'>): string {
  const url = new URL(session.returnUrl)
  url.searchParams.set('session_id', session.id)
  return url.href
}

export function sandboxEventFor(session: SandboxSession, createdS: number): SandboxEvent | null {
  if (session.status !== 'succeeded' && session.status !== 'declined' && session.status !== 'expired') return null
  const type =
    session.status === 'succeeded'
      ? 'checkout.session.completed'
      : session.status === 'declined'
        ? 'checkout.session.payment_failed'
        : 'checkout.session.expired'
  return {
    // One id per session and outcome: a redelivery carries the same id, as a real provider's retries do.
    id: `evt_${session.id}_${session.status}`,
    type,
    created: createdS,
    data: {
      object: {
        id: session.id,
        merchant_reference: session.merchantReference,
        amount_cents: session.amountCents,
        status: session.status,
        payment_id: session.paymentId,
        decline_reason: session.declineReason,
      },
    },
  }
}

export interface SandboxPayOptions {
  db: Db
  webhookSecret: string
  /** Pauses between webhook delivery attempts; the number of attempts is one more than its length. */
  retryDelaysMs?: readonly number[]
  log?: (message: string) => void
}

export type CardPaymentAnswer =
  | { ok: true; session: SandboxSession }
  | { ok: false; session: SandboxSession; field: keyof CardEntry; message: string }

export type SandboxPay = ReturnType<typeof createSandboxPay>

export function createSandboxPay(options: SandboxPayOptions) {
  const { db } = options
  const retryDelaysMs = options.retryDelaysMs ?? [250, 1_000, 4_000, 15_000]
  const log = options.log ?? ((message: string) => console.warn(`sandbox-pay: ${message}`))

  async function getSession(id: string): Promise<SandboxSession | null> {
    const rows = await db.$queryRaw<SessionRow[]>`SELECT * FROM sandbox_pay_sessions WHERE id = ${id}`
    return rows[0] ? toSession(rows[0]) : null
  }

  async function requireSession(id: string): Promise<SandboxSession> {
    const session = await getSession(id)
    if (!session) throw new Error(`no sandbox session ${id}`)
    return session
  }

  /** Moves a session that can still be paid to a new status; answers the session as it is afterwards. */
  async function transition(
    id: string,
    from: readonly SandboxStatus[],
    to: { status: SandboxStatus; declineReason?: string; paymentId?: string },
    onlyBeforeExpiry: boolean,
  ): Promise<SandboxSession> {
    const final = SANDBOX_FINAL_STATUSES.includes(to.status)
    await db.$executeRaw`
      UPDATE sandbox_pay_sessions
      SET status = ${to.status}, decline_reason = ${to.declineReason ?? null}, payment_id = ${to.paymentId ?? null},
          completed_at = ${final ? new Date() : null}
      WHERE id = ${id} AND status = ANY(${[...from]}::text[]) AND (${!onlyBeforeExpiry} OR expires_at > now())`
    return requireSession(id)
  }

  async function deliverWebhook(id: string): Promise<{ delivered: boolean; status: number | null }> {
    const session = await requireSession(id)
    const event = sandboxEventFor(session, Math.floor(Date.now() / 1000))
    if (!event) throw new Error(`sandbox session ${id} has no outcome to report yet`)
    const body = JSON.stringify(event)
    let lastStatus: number | null = null
    for (let attempt = 0; attempt <= retryDelaysMs.length; attempt++) {
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, retryDelaysMs[attempt - 1]))
      try {
        // Signed per attempt, as a provider does, so a retry is fresh within the receiver's tolerance.
        const response = await fetch(session.webhookUrl, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            [SANDBOX_SIGNATURE_HEADER]: signatureHeader(options.webhookSecret, body, Math.floor(Date.now() / 1000)),
          },
          body,
          signal: AbortSignal.timeout(10_000),
        })
        lastStatus = response.status
        await response.body?.cancel()
        if (response.ok) return { delivered: true, status: response.status }
        // A 4xx other than a timeout or rate limit will not get better by retrying.
        if (response.status >= 400 && response.status < 500 && response.status !== 408 && response.status !== 429) break
      } catch (error) {
        lastStatus = null
        log(`webhook ${event.id} to ${session.webhookUrl}: ${(error as Error).message}`)
      }
    }
    log(`webhook ${event.id} was not accepted (last status ${lastStatus ?? 'none'})`)
    return { delivered: false, status: lastStatus }
  }

  return {
    getSession,

    /** Creates a checkout session; the same idempotency key returns the first session. */
    async createSession(request: NewSandboxSession): Promise<SandboxSession> {
      const id = randomId('cs_test')
      await db.$executeRaw`
        INSERT INTO sandbox_pay_sessions
          (id, idempotency_key, merchant_reference, customer_reference, amount_cents, description, return_url, webhook_url, expires_at)
        VALUES (${id}, ${request.idempotencyKey}, ${request.merchantReference}, ${request.customerReference}, ${request.amountCents},
                ${request.description}, ${request.returnUrl}, ${request.webhookUrl}, ${request.expiresAt})
        ON CONFLICT (idempotency_key) DO NOTHING`
      const rows = await db.$queryRaw<SessionRow[]>`SELECT * FROM sandbox_pay_sessions WHERE idempotency_key = ${request.idempotencyKey}`
      const session = toSession(rows[0]!)
      if (session.merchantReference !== request.merchantReference || session.amountCents !== request.amountCents) {
        throw new SandboxIdempotencyError(`idempotency key ${request.idempotencyKey} was used for another checkout`)
      }
      return session
    },

    /** The member submitted the payment form. Invalid entries change nothing and say which field is wrong. */
    async payWithCard(id: string, entry: CardEntry, now = new Date()): Promise<CardPaymentAnswer> {
      const session = await requireSession(id)
      const check = checkCard(entry, now)
      if (!check.ok) return { ok: false, session, field: check.field, message: check.message }
      const to =
        check.outcome === 'approve'
          ? { status: 'succeeded' as const, paymentId: randomId('py_test') }
          : check.outcome === 'decline'
            ? { status: 'declined' as const, declineReason: 'card_declined' }
            : { status: 'requires_action' as const }
      return { ok: true, session: await transition(id, ['open'], to, true) }
    },

    /** The second step of a 3-D-Secure-like card: the member confirms (or fails) on the bank's page. */
    async authenticate(id: string, approve: boolean): Promise<SandboxSession> {
      const to = approve
        ? { status: 'succeeded' as const, paymentId: randomId('py_test') }
        : { status: 'declined' as const, declineReason: 'authentication_failed' }
      return transition(id, ['requires_action'], to, true)
    },

    /** Ends a session that was not paid; a paid one stays paid. Answers the final state either way. */
    async expireSession(id: string): Promise<SandboxSession> {
      return transition(id, ['open', 'requires_action'], { status: 'expired' }, false)
    },

    /** Posts the session's outcome to the merchant's webhook address, retrying with backoff. */
    deliverWebhook,

    /** Delivery after the page has answered, as a provider's queue does; failures are logged, not thrown. */
    deliverWebhookInBackground(id: string): void {
      deliverWebhook(id).catch((error: unknown) => log(`webhook for ${id} failed: ${(error as Error).message}`))
    },
  }
}

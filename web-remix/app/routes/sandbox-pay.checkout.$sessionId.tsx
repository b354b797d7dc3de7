import type { ActionFunctionArgs, LoaderFunctionArgs } from '@remix-run/node'
import { sandboxReturnUrl, type SandboxSession } from '../../../activities/payments/sandbox/sandbox-pay.js'
import type { CardEntry } from '../../../activities/payments/sandbox/test-cards.js'
import { amountText, sandboxDocument, sandboxSessionFrom, seeOther, TestCardTable } from '../wallet/sandbox-pay-page.server.js'

/**
 * The sandbox provider's hosted payment page (GET) and its card form (POST). It plays the provider: the card entry
 * is checked here and forgotten; the merchant learns only the outcome, by webhook and by the member's return.
 */

const authenticatePath = (session: SandboxSession) => `/sandbox-pay/checkout/${encodeURIComponent(session.id)}/authenticate`

function closedPage(session: SandboxSession, expired: boolean): Response {
  const message =
    session.status === 'succeeded'
      ? 'This payment is complete.'
      : session.status === 'declined'
        ? 'This payment was declined. Nothing was charged.'
        : expired || session.status === 'expired'
          ? 'This payment page has expired. Nothing was charged.'
          : 'This payment cannot be changed any more.'
  return sandboxDocument(
    'Payment closed',
    <>
      <h1>Payment closed</h1>
      <p role="status">{message}</p>
      <p>
        <a href={sandboxReturnUrl(session)}>Return to perminute</a>
      </p>
    </>,
  )
}

interface FormState {
  values?: Partial<CardEntry>
  error?: { field: keyof CardEntry; message: string }
}

function paymentPage(session: SandboxSession, state: FormState = {}): Response {
  const invalid = (field: keyof CardEntry) => state.error?.field === field
  const described = (field: keyof CardEntry) => (invalid(field) ? `${field}-error` : undefined)
  const errorText = (field: keyof CardEntry) =>
    invalid(field) ? (
      <p className="error" id={`${field}-error`}>
        {state.error!.message}
      </p>
    ) : null
  return sandboxDocument(
    'Pay perminute',
    <>
      <h1>Pay perminute</h1>
      <p>{session.description}</p>
      <p className="amount">{amountText(session.amountCents)}</p>
      <p className="testmode">Test mode: no real card is charged. Pay with one of the test cards listed below.</p>
      {state.error ? (
        <p className="error" role="alert">
          The payment was not made: {state.error.message}
        </p>
      ) : null}
      <form method="post" noValidate>
        <label htmlFor="number">Card number</label>
        <input
          id="number"
          name="number"
          inputMode="numeric"
          autoComplete="cc-number"
          placeholder="4242 4242 4242 4242"
          // A card number typed wrongly is shown again for correction; it is never kept.
          defaultValue={invalid('number') ? '' : (state.values?.number ?? '')}
          aria-invalid={invalid('number') || undefined}
          aria-describedby={described('number')}
          required
        />
        {errorText('number')}
        <div className="row">
          <div>
            <label htmlFor="expiry">Expiry (MM/YY)</label>
            <input
              id="expiry"
              name="expiry"
              autoComplete="cc-exp"
              placeholder="12/34"
              defaultValue={state.values?.expiry ?? ''}
              aria-invalid={invalid('expiry') || undefined}
              aria-describedby={described('expiry')}
              required
            />
            {errorText('expiry')}
          </div>
          <div>
            <label htmlFor="cvc">Security code</label>
            <input
              id="cvc"
              name="cvc"
              inputMode="numeric"
              autoComplete="cc-csc"
              placeholder="123"
              aria-invalid={invalid('cvc') || undefined}
              aria-describedby={described('cvc')}
              required
            />
            {errorText('cvc')}
          </div>
        </div>
        <button type="submit">Pay {amountText(session.amountCents)}</button>
      </form>
      <p>
        <a href={sandboxReturnUrl(session)}>Cancel and return to perminute</a>
      </p>
      <TestCardTable />
    </>,
    state.error ? 422 : 200,
  )
}


export async function loader({ params, context }: LoaderFunctionArgs) {
  const { session } = await sandboxSessionFrom(context, params.sessionId)
  if (session.status === 'requires_action') return seeOther(authenticatePath(session))
  const expired = session.expiresAt.getTime() <= Date.now()
  if (session.status !== 'open' || expired) return closedPage(session, expired)
  return paymentPage(session)
}

export async function action({ request, params, context }: ActionFunctionArgs) {
  const { sandbox, session } = await sandboxSessionFrom(context, params.sessionId)
  const form = await request.formData()
  const entry: CardEntry = {
    number: String(form.get('number') ?? ''),
    expiry: String(form.get('expiry') ?? ''),
    cvc: String(form.get('cvc') ?? ''),
  }
  if (session.status !== 'open' || session.expiresAt.getTime() <= Date.now()) return closedPage(session, true)
  const answer = await sandbox.payWithCard(session.id, entry)
  if (!answer.ok) return paymentPage(answer.session, { values: { number: entry.number, expiry: entry.expiry }, error: answer })
  const after = answer.session
  if (after.status === 'requires_action') return seeOther(authenticatePath(after))
  if (after.status === 'succeeded' || after.status === 'declined') {
    sandbox.deliverWebhookInBackground(after.id)
    return seeOther(sandboxReturnUrl(after))
  }
  return closedPage(after, after.status === 'expired')
}

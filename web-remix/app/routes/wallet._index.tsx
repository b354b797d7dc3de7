import { data, redirect, redirectDocument, type ActionFunctionArgs, type LinksFunction, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node'
import { Form, Link, useActionData, useLoaderData, useNavigation } from '@remix-run/react'
import { useRef } from 'react'
import { capUsage, setSpendingCaps, SpendingCapInputError } from '../../../activities/spending-caps.js'
import { CsrfInput } from '../auth/csrf-input.js'
import { requireCsrf } from '../auth/csrf.server.js'
import { text } from '../auth/form.server.js'
import { requireRole } from '../auth/session.server.js'
import { FormError } from '../components/field.js'
import { servicesFrom } from '../plugin-api/services.server.js'
import { formatCents } from '../storefront/money.js'
import { centsToInput, parseDollars } from '../wallet/amounts.js'
import { capRefusalMessage, capsSummary } from '../wallet/caps.js'
import { MovementsTable } from '../wallet/movements-table.js'
import { openTopUp, TopUpStartTimeoutError } from '../wallet/topups.server.js'
import { recentTopUps, selectableTimeZones, TOPUP_PRESETS_CENTS, walletFigures, walletMovements } from '../wallet/wallet.server.js'
import walletStyles from '../wallet/wallet.css?url'
import { isUuid } from '../ids.server.js'

export const meta: MetaFunction = () => [{ title: 'Wallet · perminute' }]
export const links: LinksFunction = () => [{ rel: 'stylesheet', href: walletStyles }]

export async function loader({ request, context }: LoaderFunctionArgs) {
  const user = await requireRole(request, 'member', context)
  const { db, config } = servicesFrom(context)
  const [figures, usage, movements, topUps, timeZones] = await Promise.all([
    walletFigures(db, user.id),
    capUsage(db, user.id, new Date()),
    walletMovements(db, user.id, { limit: 5 }),
    recentTopUps(db, user.id),
    selectableTimeZones(db),
  ])
  return {
    figures,
    usage,
    movements,
    topUps,
    emailVerified: user.emailVerified,
    presets: TOPUP_PRESETS_CENTS,
    minCents: config.TOPUP_MIN_CENTS,
    maxCents: config.TOPUP_MAX_CENTS,
    // One key per rendering of the form: submitting it twice opens one top-up.
    idempotencyKey: crypto.randomUUID(),
    timeZones,
  }
}

type TopUpErrors = { form?: string; amount?: string; customAmount?: string }
type CapsErrors = { form?: string; daily?: string; monthly?: string; timeZone?: string }
type ActionResult =
  | { intent: 'topup'; errors: TopUpErrors; values: { amount: string; customAmount: string } }
  | { intent: 'caps'; errors: CapsErrors; saved?: boolean; values: { daily: string; monthly: string; timeZone: string } }

export async function action({ request, context }: ActionFunctionArgs) {
  const user = await requireRole(request, 'member', context)
  const formData = await request.formData()
  await requireCsrf(request, formData, context)
  const services = servicesFrom(context)
  const intent = text(formData, 'intent')

  if (intent === 'caps') {
    const values = { daily: text(formData, 'daily', 20), monthly: text(formData, 'monthly', 20), timeZone: text(formData, 'timeZone', 64) }
    const errors: CapsErrors = {}
    const daily = parseDollars(values.daily)
    const monthly = parseDollars(values.monthly)
    if (daily && !daily.ok) errors.daily = daily.message
    else if (daily && daily.cents <= 0) errors.daily = 'A cap must be more than $0.00; leave it empty for no cap.'
    if (monthly && !monthly.ok) errors.monthly = monthly.message
    else if (monthly && monthly.cents <= 0) errors.monthly = 'A cap must be more than $0.00; leave it empty for no cap.'
    if (Object.keys(errors).length === 0) {
      try {
        await setSpendingCaps(services.db, user.id, {
          dailyCents: daily?.ok ? daily.cents : null,
          monthlyCents: monthly?.ok ? monthly.cents : null,
          timeZone: values.timeZone || 'UTC',
        })
        return data<ActionResult>({ intent: 'caps', errors, saved: true, values })
      } catch (error) {
        if (!(error instanceof SpendingCapInputError)) throw error
        if (/time zone/.test(error.message)) errors.timeZone = 'Choose a time zone from the list.'
        else if (/monthly/.test(error.message)) errors.monthly = 'The monthly cap cannot be lower than the daily cap.'
        else errors.form = error.message
      }
    }
    return data<ActionResult>({ intent: 'caps', errors, values }, { status: 400 })
  }

  if (intent !== 'topup') return data({ intent: 'unknown' as const }, { status: 400 })
  // Paying needs a confirmed address (the receipt goes there).
  await requireRole(request, 'member', context, { verified: true })
  const values = { amount: text(formData, 'amount', 20), customAmount: text(formData, 'customAmount', 20) }
  const errors: TopUpErrors = {}
  const { TOPUP_MIN_CENTS: min, TOPUP_MAX_CENTS: max } = services.config
  let amountCents: number | null = null
  if (values.amount === 'other') {
    const custom = parseDollars(values.customAmount)
    if (!custom) errors.customAmount = 'Enter the amount you want to add.'
    else if (!custom.ok) errors.customAmount = custom.message
    else amountCents = custom.cents
  } else if (/^\d+$/.test(values.amount) && TOPUP_PRESETS_CENTS.includes(Number(values.amount) as (typeof TOPUP_PRESETS_CENTS)[number])) {
    if (values.customAmount) errors.customAmount = `You chose ${formatCents(Number(values.amount))} and typed another amount: choose "Other amount" to use yours.`
    else amountCents = Number(values.amount)
  } else if (values.customAmount) {
    errors.amount = 'Choose "Other amount" to pay the amount you typed, or pick one of the amounts.'
  } else {
    errors.amount = 'Choose how much to add.'
  }
  if (amountCents !== null && (amountCents < min || amountCents > max)) {
    errors[values.amount === 'other' ? 'customAmount' : 'amount'] = `Top-ups are between ${formatCents(min)} and ${formatCents(max)}.`
  }
  const idempotencyKey = text(formData, 'idempotencyKey', 64)
  if (!isUuid(idempotencyKey)) errors.form = 'This form has expired. Reload the page and try again.'
  if (Object.keys(errors).length > 0 || amountCents === null) return data<ActionResult>({ intent: 'topup', errors, values }, { status: 400 })

  try {
    const opening = await openTopUp(services, request, { memberId: user.id, amountCents, idempotencyKey })
    // The payment page is the provider's document, never a route of this app: a full navigation, even on our origin.
    if (opening.status === 'open') return redirectDocument(opening.checkoutUrl)
    if (opening.status === 'finished') return redirect(`/wallet/topups/${opening.paymentId}`)
    const message =
      opening.reason === 'spending_cap' && opening.detail
        ? capRefusalMessage({ ...opening.detail, measure: 'deposit' })
        : opening.reason === 'amount_out_of_range'
          ? `Top-ups are between ${formatCents(min)} and ${formatCents(max)}.`
          : 'This top-up could not be opened.'
    return data<ActionResult>({ intent: 'topup', errors: { form: message }, values }, { status: 422 })
  } catch (error) {
    if (!(error instanceof TopUpStartTimeoutError)) throw error
    return data<ActionResult>(
      { intent: 'topup', errors: { form: 'Payments are slow to answer right now. Try again in a moment: you will not be charged twice.' }, values },
      { status: 503 },
    )
  }
}

const statusNames = { open: 'Waiting for payment', succeeded: 'Added', declined: 'Declined', expired: 'Expired' } as const

export default function WalletPage() {
  const { figures, usage, movements, topUps, emailVerified, presets, minCents, maxCents, idempotencyKey, timeZones } = useLoaderData<typeof loader>()
  const result = useActionData<typeof action>() as ActionResult | { intent: 'unknown' } | undefined
  const navigation = useNavigation()
  const otherRadio = useRef<HTMLInputElement>(null)
  const topUp = result?.intent === 'topup' ? result : undefined
  const caps = result?.intent === 'caps' ? result : undefined
  const submitting = navigation.state !== 'idle' && navigation.formData?.get('intent') === 'topup'
  const summary = capsSummary(usage)

  return (
    <>
      <h1>Wallet</h1>
      <dl className="facts wallet-figures">
        <dt>Available</dt>
        <dd data-testid="available">{formatCents(figures.availableCents)}</dd>
        <dt>Reserved for calls in progress</dt>
        <dd data-testid="reserved">{formatCents(figures.reservedCents)}</dd>
        <dt>Balance</dt>
        <dd data-testid="balance">{formatCents(figures.balanceCents)}</dd>
      </dl>

      <h2 id="topup-heading">Top up</h2>
      {!emailVerified && (
        <p className="warning">
          Confirm your e-mail address before your first top-up: we send the receipt there. <Link to="/account">See your account</Link>
        </p>
      )}
      <Form method="post" className="stack" aria-labelledby="topup-heading" noValidate>
        <CsrfInput />
        <input type="hidden" name="intent" value="topup" />
        <input type="hidden" name="idempotencyKey" value={idempotencyKey} />
        <FormError message={topUp?.errors.form} />
        <fieldset aria-describedby={topUp?.errors.amount ? 'amount-error' : undefined}>
          <legend>Amount</legend>
          <div className="presets">
            {presets.map((cents) => (
              <label key={cents}>
                <input type="radio" name="amount" value={cents} defaultChecked={topUp ? topUp.values.amount === String(cents) : cents === 2_500} />
                {formatCents(cents)}
              </label>
            ))}
            <label>
              <input type="radio" name="amount" value="other" ref={otherRadio} defaultChecked={topUp?.values.amount === 'other'} />
              Other amount
            </label>
          </div>
          {topUp?.errors.amount && (
            <p className="field-error" id="amount-error">
              {topUp.errors.amount}
            </p>
          )}
          <div className="field">
            <label htmlFor="customAmount">Other amount, in dollars</label>
            <span className="hint" id="customAmount-hint">
              Between {formatCents(minCents)} and {formatCents(maxCents)}, such as 12.50. Choose “Other amount” above to use it.
            </span>
            <input
              id="customAmount"
              name="customAmount"
              type="text"
              inputMode="decimal"
              autoComplete="off"
              defaultValue={topUp?.values.customAmount ?? ''}
              onFocus={() => {
                if (otherRadio.current) otherRadio.current.checked = true
              }}
              aria-invalid={topUp?.errors.customAmount ? true : undefined}
              aria-describedby={['customAmount-hint', topUp?.errors.customAmount ? 'customAmount-error' : null].filter(Boolean).join(' ')}
            />
            {topUp?.errors.customAmount && (
              <p className="field-error" id="customAmount-error">
                {topUp.errors.customAmount}
              </p>
            )}
          </div>
        </fieldset>
        <p className="hint">You pay on our payment provider’s secure page; your card details never reach perminute.</p>
        <div>
          <button type="submit" disabled={submitting}>
            {submitting ? 'Opening the payment page…' : 'Continue to payment'}
          </button>
        </div>
      </Form>

      {topUps.length > 0 && (
        <>
          <h2>Recent top-ups</h2>
          <ul className="topups">
            {topUps.map((t) => (
              <li key={t.id}>
                <Link to={`/wallet/topups/${t.id}`}>
                  {formatCents(t.amountCents)} on {t.createdAt.slice(0, 10)}
                </Link>{' '}
                — {statusNames[t.status]}
              </li>
            ))}
          </ul>
        </>
      )}

      <h2>Recent movements</h2>
      {movements.length === 0 ? <p>No movements yet.</p> : <MovementsTable movements={movements} caption="Your five latest movements" />}
      <p>
        <Link to="/wallet/history">All movements</Link> · <a href="/wallet/history.csv">Download as CSV</a>
      </p>

      <h2 id="caps-heading">Spending caps</h2>
      <p>{summary}</p>
      <Form method="post" className="stack" aria-labelledby="caps-heading" noValidate>
        <CsrfInput />
        <input type="hidden" name="intent" value="caps" />
        {caps?.saved && (
          <p className="notice" role="status">
            Your caps are saved. They apply to the next top-up and the next minute of a call.
          </p>
        )}
        <FormError message={caps?.errors.form} />
        <p className="hint" id="caps-hint">
          A cap limits both what your calls may spend and what you may top up in its period. Leave a field empty for no cap.
          A call that reaches a cap ends at that minute.
        </p>
        {(['daily', 'monthly'] as const).map((period) => (
          <div className="field" key={period}>
            <label htmlFor={`cap-${period}`}>{period === 'daily' ? 'Daily cap, in dollars' : 'Monthly cap, in dollars'}</label>
            <input
              id={`cap-${period}`}
              name={period}
              type="text"
              inputMode="decimal"
              autoComplete="off"
              defaultValue={caps ? caps.values[period] : centsToInput(period === 'daily' ? usage.caps.dailyCents : usage.caps.monthlyCents)}
              aria-invalid={caps?.errors[period] ? true : undefined}
              aria-describedby={['caps-hint', caps?.errors[period] ? `cap-${period}-error` : null].filter(Boolean).join(' ')}
            />
            {caps?.errors[period] && (
              <p className="field-error" id={`cap-${period}-error`}>
                {caps.errors[period]}
              </p>
            )}
          </div>
        ))}
        <div className="field">
          <label htmlFor="cap-timeZone">Days and months start at midnight in</label>
          <select
            id="cap-timeZone"
            name="timeZone"
            defaultValue={caps?.values.timeZone || usage.caps.timeZone}
            aria-invalid={caps?.errors.timeZone ? true : undefined}
            aria-describedby={caps?.errors.timeZone ? 'cap-timeZone-error' : undefined}
          >
            {timeZones.map((zone) => (
              <option key={zone} value={zone}>
                {zone.replace(/_/g, ' ')}
              </option>
            ))}
          </select>
          {caps?.errors.timeZone && (
            <p className="field-error" id="cap-timeZone-error">
              {caps.errors.timeZone}
            </p>
          )}
        </div>
        <div>
          <button type="submit" className="secondary">
            Save caps
          </button>
        </div>
      </Form>
    </>
  )
}

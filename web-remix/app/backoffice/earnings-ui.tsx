import { Form, useNavigation } from '@remix-run/react'
import { CsrfInput } from '../auth/csrf-input.js'
import { Field, FormError } from '../components/field.js'
import { formatCents, formatWhen } from './format.js'
import { MemberRatingText, RateMemberForm, type RateMemberResult } from './rate-member-form.js'
import { DataTable } from '../components/data-table.js'

/** The pieces the operator and company portals share: earnings, call and payout tables, the payout form. */

export interface EarningsView {
  balanceCents: number
  inCallsCents: number
  clearingCents: number
  inPayoutCents: number
  availableCents: number
  clearingHours: number
}

export function EarningsCards({ earnings }: { earnings: EarningsView }) {
  return (
    <div className="cards" data-testid="earnings">
      <div className="card">
        <div>Available for payout</div>
        <div className="figure" data-testid="available">{formatCents(earnings.availableCents)}</div>
      </div>
      <div className="card">
        <div>Pending (clearing for {earnings.clearingHours} h)</div>
        <div className="figure">{formatCents(earnings.clearingCents)}</div>
      </div>
      <div className="card">
        <div>In calls now</div>
        <div className="figure">{formatCents(earnings.inCallsCents)}</div>
      </div>
      <div className="card">
        <div>In payout</div>
        <div className="figure">{formatCents(earnings.inPayoutCents)}</div>
      </div>
    </div>
  )
}

export interface CallRow {
  id: string
  startedAt: string
  status: string
  billedMinutes: number | null
  ratePerMinuteCents: number
  chargedCents: number | null
  operatorEarningsCents: number | null
  companyShareCents: number | null
  endReason: string | null
  memberName: string
  operatorName: string
  memberRating?: { stars: number; comment: string | null } | null
  canRateMember?: boolean
}

export function CallTable({
  calls,
  caption,
  showOperator = false,
  showCompanyShare = false,
  rateMembers = false,
  rateResult,
}: {
  calls: CallRow[]
  caption: string
  showOperator?: boolean
  showCompanyShare?: boolean
  /** The operator's own history: a column with the rating they gave each member, or the form to give it. */
  rateMembers?: boolean
  rateResult?: RateMemberResult | null
}) {
  if (calls.length === 0) return <p>No calls yet.</p>
  return (
    <DataTable caption={caption}>
      <thead>
        <tr>
          <th scope="col">Started</th>
          {showOperator && <th scope="col">Operator</th>}
          <th scope="col">Member</th>
          <th scope="col">Status</th>
          <th scope="col" className="amount">Minutes</th>
          <th scope="col" className="amount">Charged</th>
          <th scope="col" className="amount">{showCompanyShare ? 'Company share' : 'Earnings'}</th>
          {rateMembers && <th scope="col">Your rating of the member</th>}
        </tr>
      </thead>
      <tbody>
        {calls.map((c) => (
          <tr key={c.id} data-call-id={c.id}>
            <td>{formatWhen(c.startedAt)}</td>
            {showOperator && <td>{c.operatorName}</td>}
            <td>{c.memberName}</td>
            <td>
              {c.status}
              {c.endReason ? ` (${c.endReason.replace(/_/g, ' ')})` : ''}
            </td>
            <td className="amount">{c.billedMinutes ?? '—'}</td>
            <td className="amount">{formatCents(c.chargedCents)}</td>
            <td className="amount">{formatCents(showCompanyShare ? c.companyShareCents : c.operatorEarningsCents)}</td>
            {rateMembers && (
              <td>
                {c.memberRating ? (
                  <MemberRatingText rating={c.memberRating} />
                ) : c.canRateMember ? (
                  <RateMemberForm callId={c.id} memberName={c.memberName} result={rateResult} />
                ) : (
                  '—'
                )}
              </td>
            )}
          </tr>
        ))}
      </tbody>
    </DataTable>
  )
}

export interface PayoutRow {
  id: string
  amountCents: number
  status: string
  requestedAt: string | Date
  paidAt: string | Date | null
  decisionReason: string | null
}

export function PayoutTable({ payouts }: { payouts: PayoutRow[] }) {
  if (payouts.length === 0) return <p>No payouts yet.</p>
  return (
    <DataTable caption="Payouts">
      <thead>
        <tr>
          <th scope="col">Requested</th>
          <th scope="col" className="amount">Amount</th>
          <th scope="col">Status</th>
          <th scope="col">Paid</th>
        </tr>
      </thead>
      <tbody>
        {payouts.map((p) => (
          <tr key={p.id} data-payout-id={p.id}>
            <td>{formatWhen(p.requestedAt)}</td>
            <td className="amount">{formatCents(p.amountCents)}</td>
            <td className={`status-${p.status}`}>
              {p.status}
              {p.decisionReason ? `: ${p.decisionReason}` : ''}
            </td>
            <td>{formatWhen(p.paidAt)}</td>
          </tr>
        ))}
      </tbody>
    </DataTable>
  )
}

export function PayoutRequestForm({
  payoutId,
  minimumCents,
  availableCents,
  result,
}: {
  payoutId: string
  minimumCents: number
  availableCents: number
  result?: { ok: boolean; message?: string; error?: string } | null
}) {
  const navigation = useNavigation()
  return (
    <>
      {result?.ok && (
        <p className="notice" role="status">
          {result.message}
        </p>
      )}
      <FormError message={result && !result.ok ? result.error : null} />
      <Form method="post" className="inline-form">
        <CsrfInput />
        <input type="hidden" name="intent" value="request-payout" />
        <input type="hidden" name="payoutId" value={payoutId} />
        <Field
          label="Amount to pay out"
          name="amount"
          inputMode="decimal"
          required
          hint={`At least ${formatCents(minimumCents)}; up to ${formatCents(availableCents)} now.`}
        />
        <button type="submit" disabled={navigation.state === 'submitting'}>
          Request payout
        </button>
      </Form>
    </>
  )
}

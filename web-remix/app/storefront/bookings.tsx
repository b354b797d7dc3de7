import type { ScheduledCallStatus } from '../../../workflows/scheduled-call-definitions.js'

/** Words shared by the member's and the operator's scheduling pages. */

export const STATUS_TEXT: Record<ScheduledCallStatus, string> = {
  proposed: 'Waiting for the operator’s answer',
  accepted: 'Accepted',
  declined: 'Declined',
  cancelled: 'Cancelled',
  expired: 'Not answered in time',
  reserved: 'Funds reserved: the call is due now',
  started: 'Call started',
  member_no_show: 'Member did not answer',
  operator_no_show: 'Operator did not call',
}

/** The no-show rule as the pages state it; the minutes are the platform's settings. */
export function NoShowRule({ noShowAfterMinutes, closeAfterMinutes }: { noShowAfterMinutes: number; closeAfterMinutes: number }) {
  return (
    <div className="rule" id="no-show-rule">
      <h2>How a scheduled call works</h2>
      <ul>
        <li>The operator answers your proposal. Nothing is reserved until the agreed time.</li>
        <li>
          At the agreed time the whole booking (its minutes at the price agreed now) is reserved in the member’s wallet. If the wallet cannot
          cover it then, the booking is cancelled and both sides are told.
        </li>
        <li>The operator then calls; the call uses the reservation as a prepaid block, and what is not used is released.</li>
        <li>
          If the member does not answer, the operator can report it from {noShowAfterMinutes} minutes after the agreed time: the member then
          pays the first minute and the rest is released.
        </li>
        <li>
          If no call has started {closeAfterMinutes} minutes after the agreed time and nothing was reported, everything is released and the
          member pays nothing.
        </li>
      </ul>
    </div>
  )
}

export function formatInZone(ms: number, zone: string): string {
  return new Intl.DateTimeFormat('en-GB', { timeZone: zone, weekday: 'short', day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit' }).format(
    new Date(ms),
  )
}

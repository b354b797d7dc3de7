import { formatCents } from '../storefront/money.js'

/** The words of spending caps, for the wallet page and for the call panel when a cap ends a call. */

export interface CapRefusal {
  cap: 'daily' | 'monthly'
  measure: 'spend' | 'deposit'
  limitCents: number
  usedCents: number
}

export function capRefusalMessage(refusal: CapRefusal): string {
  const period = refusal.cap === 'daily' ? 'today' : 'this month'
  const name = refusal.cap === 'daily' ? 'daily' : 'monthly'
  const left = Math.max(0, refusal.limitCents - refusal.usedCents)
  if (refusal.measure === 'deposit') {
    return left > 0
      ? `This top-up would pass your ${name} cap of ${formatCents(refusal.limitCents)}: you have topped up ${formatCents(refusal.usedCents)} ${period}, so you can add up to ${formatCents(left)} more.`
      : `You have reached your ${name} cap of ${formatCents(refusal.limitCents)} for top-ups ${period}.`
  }
  return `You have reached your ${name} spending cap of ${formatCents(refusal.limitCents)}: calls have used ${formatCents(refusal.usedCents)} ${period}.`
}

interface Usage {
  caps: { dailyCents: number | null; monthlyCents: number | null; timeZone: string }
  spent: { todayCents: number; thisMonthCents: number }
  deposited: { todayCents: number; thisMonthCents: number }
}

export function capsSummary({ caps, spent, deposited }: Usage): string {
  if (caps.dailyCents === null && caps.monthlyCents === null) return 'You have no spending caps.'
  const parts: string[] = []
  if (caps.dailyCents !== null) {
    parts.push(
      `Today: calls ${formatCents(spent.todayCents)} and top-ups ${formatCents(deposited.todayCents)} of your daily cap of ${formatCents(caps.dailyCents)}.`,
    )
  }
  if (caps.monthlyCents !== null) {
    parts.push(
      `This month: calls ${formatCents(spent.thisMonthCents)} and top-ups ${formatCents(deposited.thisMonthCents)} of your monthly cap of ${formatCents(caps.monthlyCents)}.`,
    )
  }
  return `${parts.join(' ')} (Days start at midnight, ${caps.timeZone.replace(/_/g, ' ')} time.)`
}

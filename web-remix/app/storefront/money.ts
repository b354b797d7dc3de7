/**
 * Amounts are integer cents everywhere; they become text only here, at the edge, with integer arithmetic.
 * The platform has no currency setting yet, so prices are shown in dollars.
 */
const CURRENCY_SYMBOL = '$'

export function formatCents(cents: number): string {
  if (!Number.isSafeInteger(cents)) throw new RangeError(`not a whole number of cents: ${cents}`)
  const sign = cents < 0 ? '-' : ''
  const magnitude = Math.abs(cents)
  const units = Math.floor(magnitude / 100).toLocaleString('en-US')
  return `${sign}${CURRENCY_SYMBOL}${units}.${String(magnitude % 100).padStart(2, '0')}`
}

export function formatPricePerMinute(ratePerMinuteCents: number): string {
  return `${formatCents(ratePerMinuteCents)}/min`
}

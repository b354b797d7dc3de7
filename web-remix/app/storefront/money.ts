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

/**
 * A price typed by a person ("2", "2.5", "$2.50") as whole cents, by string arithmetic so no float ever holds it.
 * Null for anything that is not a non-negative amount with at most two decimals.
 */
export function parseDollarsToCents(text: string): number | null {
  const match = /^\s*\$?\s*(\d{1,7})(?:[.,](\d{0,2}))?\s*$/.exec(text)
  if (!match) return null
  const cents = Number(match[1]) * 100 + Number((match[2] ?? '').padEnd(2, '0'))
  return Number.isSafeInteger(cents) ? cents : null
}

/** Cents as a plain amount for a form field ("2.50"), the inverse of parseDollarsToCents. */
export function centsToDollarsInput(cents: number): string {
  return `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`
}

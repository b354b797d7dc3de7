/** Display formatting for the back office: amounts from integer cents, dates in UTC. Formatting only, at the edge. */

export function formatCents(cents: number | bigint | null | undefined): string {
  if (cents === null || cents === undefined) return '—'
  const value = typeof cents === 'bigint' ? Number(cents) : cents
  const sign = value < 0 ? '−' : ''
  const abs = Math.abs(value)
  return `${sign}$${Math.floor(abs / 100).toLocaleString('en-US')}.${String(abs % 100).padStart(2, '0')}`
}

export function formatWhen(value: string | Date | null | undefined): string {
  if (!value) return '—'
  const date = typeof value === 'string' ? new Date(value) : value
  return `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`
}

/** "$12.34" or "12.34" → 1234 cents; null when it is not an amount. */
export function parseAmount(input: string): number | null {
  const match = /^\s*\$?\s*(\d{1,9})(?:[.,](\d{1,2}))?\s*$/.exec(input)
  if (!match) return null
  return Number(match[1]) * 100 + Number((match[2] ?? '0').padEnd(2, '0'))
}

/** Amounts the member types, in dollars and cents, read into integer cents without floating point. */

export type ParsedAmount = { ok: true; cents: number } | { ok: false; message: string }

/** "25", "25.5", "25.50", "$1,025.00" → cents. Empty → null (no amount). */
export function parseDollars(input: string): ParsedAmount | null {
  const text = input.trim().replace(/^\$/, '').replace(/,(?=\d{3}(\D|$))/g, '')
  if (text === '') return null
  const match = /^(\d{1,7})(?:\.(\d{1,2}))?$/.exec(text)
  if (!match) return { ok: false, message: 'Enter an amount in dollars, such as 25 or 12.50.' }
  const cents = Number(match[1]) * 100 + Number((match[2] ?? '').padEnd(2, '0'))
  return { ok: true, cents }
}

/** Cents as the member would type them back: 2500 → "25.00". */
export function centsToInput(cents: number | null): string {
  if (cents === null) return ''
  return `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`
}

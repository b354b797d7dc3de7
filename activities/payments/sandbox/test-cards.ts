/**
 * The sandbox's test cards. Any future expiry date and any 3-digit CVC work with them; every other number is
 * refused with a message naming these (the sandbox takes no real cards). Documented on the payment page and in
 * the README.
 */

export type TestCardOutcome = 'approve' | 'decline' | 'authenticate'

export interface TestCard {
  number: string
  outcome: TestCardOutcome
  description: string
}

export const TEST_CARDS: readonly TestCard[] = [
  { number: '4242424242424242', outcome: 'approve', description: 'approved at once' },
  { number: '4000000000000002', outcome: 'decline', description: 'declined by the bank' },
  { number: '4000000000003220', outcome: 'authenticate', description: 'needs a second step (a 3-D-Secure-like confirmation page)' },
]

/** 4242 4242 4242 4242 */
export function formatCardNumber(number: string): string {
  return number.replace(/(\d{4})(?=\d)/g, '$1 ')
}

function luhnValid(digits: string): boolean {
  let sum = 0
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i])
    if (i % 2 === 1) {
      d *= 2
      if (d > 9) d -= 9
    }
    sum += d
  }
  return sum % 10 === 0
}

export interface CardEntry {
  number: string
  expiry: string
  cvc: string
}

export type CardCheck = { ok: true; outcome: TestCardOutcome } | { ok: false; field: keyof CardEntry; message: string }

/** Validates what the member typed on the payment page; the entry is then forgotten, never stored or logged. */
export function checkCard(entry: CardEntry, now: Date): CardCheck {
  const digits = entry.number.replace(/[\s-]/g, '')
  if (!/^\d{12,19}$/.test(digits) || !luhnValid(digits)) {
    return { ok: false, field: 'number', message: 'Enter a valid card number.' }
  }
  const card = TEST_CARDS.find((c) => c.number === digits)
  if (!card) {
    return { ok: false, field: 'number', message: 'This sandbox takes no real cards: use one of the test cards listed below.' }
  }
  const expiry = /^\s*(\d{1,2})\s*\/\s*(\d{2}|\d{4})\s*$/.exec(entry.expiry)
  const month = expiry ? Number(expiry[1]) : 0
  if (!expiry || month < 1 || month > 12) return { ok: false, field: 'expiry', message: 'Enter the expiry date as MM/YY.' }
  const year = expiry[2]!.length === 2 ? 2000 + Number(expiry[2]) : Number(expiry[2])
  // A card is valid until the end of its expiry month.
  if (Date.UTC(year, month, 1) <= now.getTime()) return { ok: false, field: 'expiry', message: 'This card has expired.' }
  if (!/^\d{3,4}$/.test(entry.cvc.trim())) return { ok: false, field: 'cvc', message: 'Enter the 3-digit security code.' }
  return { ok: true, outcome: card.outcome }
}

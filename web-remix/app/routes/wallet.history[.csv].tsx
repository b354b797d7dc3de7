import type { LoaderFunctionArgs } from '@remix-run/node'
import { stringify } from 'csv-stringify/sync'
import { requireRole } from '../auth/session.server.js'
import { servicesFrom } from '../plugin-api/services.server.js'
import { walletMovements } from '../wallet/wallet.server.js'

/**
 * GET /wallet/history.csv: the member's whole payment history, their own rows only. Fields are quoted by
 * csv-stringify; text that a spreadsheet would run as a formula (a reason beginning with =, +, - or @, from an
 * operator's chosen name, say) is prefixed with an apostrophe. Amounts are plain decimals, negative when money left.
 */

const FORMULA_START = /^[=+\-@\t\r]/

const safeText = (value: string) => (FORMULA_START.test(value) ? `'${value}` : value)

function decimal(cents: number): string {
  const sign = cents < 0 ? '-' : ''
  const abs = Math.abs(cents)
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`
}

export async function loader({ request, context }: LoaderFunctionArgs) {
  const user = await requireRole(request, 'member', context)
  const movements = await walletMovements(servicesFrom(context).db, user.id, { limit: null })
  const csv = stringify(
    movements.map((m) => [m.at, safeText(m.reason), safeText(m.state), decimal(m.amountCents), m.id]),
    { header: true, columns: ['date_utc', 'reason', 'status', 'amount_usd', 'reference'] },
  )
  return new Response(csv, {
    headers: {
      'Content-Type': 'text/csv; charset=utf-8',
      'Content-Disposition': 'attachment; filename="perminute-payment-history.csv"',
      'Cache-Control': 'private, no-store',
    },
  })
}

import type { LoaderFunctionArgs } from '@remix-run/node'
import { requireRole } from '../auth/session.server.js'
import { memberCallsCsv } from '../calls/member-calls.server.js'
import { servicesFrom } from '../plugin-api/services.server.js'

// GET /calls.csv: the member's own calls, every one, for a spreadsheet.
export async function loader({ request, context }: LoaderFunctionArgs) {
  const member = await requireRole(request, 'member', context)
  const csv = await memberCallsCsv(servicesFrom(context), member)
  return new Response(csv, {
    headers: {
      'Content-Type': 'text/csv; charset=utf-8',
      'Content-Disposition': 'attachment; filename="perminute-calls.csv"',
      'Cache-Control': 'private, no-store',
    },
  })
}

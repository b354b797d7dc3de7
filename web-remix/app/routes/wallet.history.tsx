import type { LinksFunction, LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { Link, useLoaderData } from '@remix-run/react'
import { requireRole } from '../auth/session.server.js'
import { servicesFrom } from '../plugin-api/services.server.js'
import { MovementsTable } from '../wallet/movements-table.js'
import { countMovements, HISTORY_PAGE_SIZE, walletMovements } from '../wallet/wallet.server.js'
import walletStyles from '../wallet/wallet.css?url'

/** Payment history: every ledger movement of the member's wallet, with its reason, newest first, a page at a time. */

export const meta: MetaFunction = () => [{ title: 'Payment history · perminute' }]
export const links: LinksFunction = () => [{ rel: 'stylesheet', href: walletStyles }]

export async function loader({ request, context }: LoaderFunctionArgs) {
  const user = await requireRole(request, 'member', context)
  const { db } = servicesFrom(context)
  const requested = Number(new URL(request.url).searchParams.get('page') ?? '1')
  const total = await countMovements(db, user.id)
  const pages = Math.max(1, Math.ceil(total / HISTORY_PAGE_SIZE))
  const page = Number.isSafeInteger(requested) && requested >= 1 ? Math.min(requested, pages) : 1
  const movements = await walletMovements(db, user.id, { limit: HISTORY_PAGE_SIZE, offset: (page - 1) * HISTORY_PAGE_SIZE })
  return { movements, page, pages, total }
}

export default function HistoryPage() {
  const { movements, page, pages, total } = useLoaderData<typeof loader>()
  return (
    <>
      <h1>Payment history</h1>
      <p>
        Every movement of your wallet: top-ups, each minute of your calls (reserved, then charged or released) and credits.{' '}
        <a href="/wallet/history.csv" download>
          Download all {total} as CSV
        </a>
      </p>
      {movements.length === 0 ? (
        <p>No movements yet.</p>
      ) : (
        <MovementsTable movements={movements} caption={`Movements, page ${page} of ${pages}`} />
      )}
      <nav aria-label="Pages" className="pager">
        {page > 1 && <Link to={`?page=${page - 1}`}>Newer movements</Link>}
        <span>
          {`Page ${page} of ${pages}`}
        </span>
        {page < pages && <Link to={`?page=${page + 1}`}>Older movements</Link>}
      </nav>
      <p>
        <Link to="/wallet">Back to your wallet</Link>
      </p>
    </>
  )
}

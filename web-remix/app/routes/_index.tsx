import type { LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { useLoaderData } from '@remix-run/react'
import { servicesFrom } from '../plugin-api/services.server.js'
import { formatPricePerMinute } from '../storefront/money.js'
import { listOperators, type ShownPresence } from '../storefront/operators.server.js'

export const meta: MetaFunction = () => [
  { title: 'Operators · perminute' },
  { name: 'description', content: 'Call an operator and pay by the minute.' },
]

export async function loader({ context }: LoaderFunctionArgs) {
  const { db } = servicesFrom(context)
  return { operators: await listOperators(db) }
}

const presenceLabel: Record<ShownPresence, string> = { online: 'Online', busy: 'Busy', offline: 'Offline' }

export default function OperatorsPage() {
  const { operators } = useLoaderData<typeof loader>()
  return (
    <main>
      <h1>Operators</h1>
      {operators.length === 0 ? (
        <p>No operators yet.</p>
      ) : (
        <ul className="operators">
          {operators.map((operator) => (
            <li key={operator.id} data-operator-id={operator.id}>
              <strong>{operator.displayName}</strong>
              <span className="price">{formatPricePerMinute(operator.ratePerMinuteCents)}</span>
              <span className="headline">{operator.headline}</span>
              <span className={`presence presence-${operator.presence}`} data-presence={operator.presence}>
                {presenceLabel[operator.presence]}
              </span>
            </li>
          ))}
        </ul>
      )}
    </main>
  )
}

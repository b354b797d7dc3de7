import type { LinksFunction, LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { Form, Link, useLoaderData } from '@remix-run/react'
import { servicesFrom } from '../plugin-api/services.server.js'
import { listingSearch, parseListingQuery } from '../storefront/listing-query.js'
import { centsToDollarsInput, formatPricePerMinute } from '../storefront/money.js'
import { searchOperators } from '../storefront/operators.server.js'
import { PresenceBadge, RatingSummaryText } from '../storefront/presence-badge.js'
import storefrontStyles from '../storefront/storefront.css?url'
import { useLivePresence } from '../storefront/use-live-presence.js'

export const links: LinksFunction = () => [{ rel: 'stylesheet', href: storefrontStyles }]

export const meta: MetaFunction = () => [
  { title: 'Operators · perminute' },
  { name: 'description', content: 'Find an operator, call now and pay by the minute.' },
]

export async function loader({ request, context }: LoaderFunctionArgs) {
  const { db } = servicesFrom(context)
  const query = parseListingQuery(new URL(request.url).searchParams)
  return { query, ...(await searchOperators(db, query)) }
}

export default function OperatorsPage() {
  const { query, operators, total, page, pageCount, allTags } = useLoaderData<typeof loader>()
  const live = useLivePresence(operators.map((o) => o.id))
  const filtered = Boolean(query.q || query.tags.length || query.minCents !== null || query.maxCents !== null || query.availableNow)
  return (
    <div className="storefront">
      <h1>Operators</h1>
      {/* GET: every search has a URL, and it works without JavaScript. */}
      <Form method="get" className="filters" role="search" aria-label="Find an operator">
        <label className="search">
          Search by name or words
          <input type="search" name="q" defaultValue={query.q} maxLength={100} />
        </label>
        <label className="price">
          Min. $/min
          <input name="min" inputMode="decimal" defaultValue={query.minCents === null ? '' : centsToDollarsInput(query.minCents)} />
        </label>
        <label className="price">
          Max. $/min
          <input name="max" inputMode="decimal" defaultValue={query.maxCents === null ? '' : centsToDollarsInput(query.maxCents)} />
        </label>
        <label className="inline">
          <input type="checkbox" name="available" value="1" defaultChecked={query.availableNow} />
          Available now
        </label>
        {allTags.length > 0 ? (
          <fieldset className="tags">
            <legend>Tags</legend>
            {allTags.map((tag) => (
              <label className="inline" key={tag}>
                <input type="checkbox" name="tag" value={tag} defaultChecked={query.tags.includes(tag)} />
                {tag}
              </label>
            ))}
          </fieldset>
        ) : null}
        <button type="submit">Search</button>
        {filtered ? <Link to="/">Clear filters</Link> : null}
      </Form>

      <p aria-live="polite" className="result-count">
        {total === 0 ? 'No operator matches.' : `${total} operator${total === 1 ? '' : 's'}, online first.`}
      </p>

      {operators.length > 0 ? (
        <ul className="operator-cards">
          {operators.map((operator) => (
            <li key={operator.id} className="operator-card" data-operator-id={operator.id}>
              <header>
                {operator.image ? <img src={operator.image.url} alt="" width={56} height={56} loading="lazy" /> : null}
                <h2>
                  <Link to={`/operators/${operator.id}`}>{operator.displayName}</Link>
                </h2>
              </header>
              {operator.headline ? <p className="headline">{operator.headline}</p> : null}
              <p className="facts">
                <PresenceBadge presence={live[operator.id] ?? operator.presence} />
                <span className="price">{formatPricePerMinute(operator.ratePerMinuteCents)}</span>
                <RatingSummaryText rating={operator.rating} />
              </p>
              {operator.tags.length > 0 ? (
                <ul className="tag-list" aria-label="Tags">
                  {operator.tags.map((tag) => (
                    <li key={tag}>{tag}</li>
                  ))}
                </ul>
              ) : null}
            </li>
          ))}
        </ul>
      ) : null}

      {pageCount > 1 ? (
        <nav className="pagination" aria-label="Pages">
          {page > 1 ? (
            <Link to={`/${listingSearch(query, page - 1)}`} rel="prev">
              Previous page
            </Link>
          ) : null}
          <span aria-current="page">{`Page ${page} of ${pageCount}`}</span>
          {page < pageCount ? (
            <Link to={`/${listingSearch(query, page + 1)}`} rel="next">
              Next page
            </Link>
          ) : null}
        </nav>
      ) : null}
    </div>
  )
}

import { centsToDollarsInput, parseDollarsToCents } from './money.js'

/**
 * The listing's search, filters and page as GET query parameters: one plain form drives it (it works without
 * JavaScript), every result page has a URL, and the pagination links keep the filters. Shared by the loader and
 * the page component.
 */

export const PAGE_SIZE = 12
export const MAX_QUERY_LENGTH = 100
export const MAX_TAGS = 10

export interface ListingQuery {
  /** Words to find in the name, headline, bio or tags (all of them). */
  q: string
  /** Operators having every one of these tags. */
  tags: string[]
  minCents: number | null
  maxCents: number | null
  /** Online and not in a call. */
  availableNow: boolean
  page: number
}

export function parseListingQuery(params: URLSearchParams): ListingQuery {
  const q = (params.get('q') ?? '').trim().slice(0, MAX_QUERY_LENGTH)
  const tags = [...new Set(params.getAll('tag').map((t) => t.trim().toLowerCase()).filter((t) => t && t.length <= 40))].slice(0, MAX_TAGS)
  const price = (name: string) => {
    const raw = params.get(name)
    return raw && raw.trim() ? parseDollarsToCents(raw) : null
  }
  let minCents = price('min')
  let maxCents = price('max')
  if (minCents !== null && maxCents !== null && minCents > maxCents) [minCents, maxCents] = [maxCents, minCents]
  const page = Number(params.get('page'))
  return {
    q,
    tags,
    minCents,
    maxCents,
    availableNow: params.get('available') === '1',
    page: Number.isInteger(page) && page >= 1 && page <= 10_000 ? page : 1,
  }
}

/** The query string of a listing page: the same filters, another page. */
export function listingSearch(query: ListingQuery, page: number): string {
  const params = new URLSearchParams()
  if (query.q) params.set('q', query.q)
  for (const tag of query.tags) params.append('tag', tag)
  if (query.minCents !== null) params.set('min', centsToDollarsInput(query.minCents))
  if (query.maxCents !== null) params.set('max', centsToDollarsInput(query.maxCents))
  if (query.availableNow) params.set('available', '1')
  if (page > 1) params.set('page', String(page))
  const text = params.toString()
  return text ? `?${text}` : ''
}

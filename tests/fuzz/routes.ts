import { readdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

/**
 * Every route of the web app, found from the route files themselves (Remix v2's flat-route names), so that an
 * endpoint someone adds tomorrow is fuzzed without anyone remembering to list it. What a route needs beyond that (a
 * valid body to mutate, a session, fields of a form) is a table entry below, keyed by the route file's name.
 */

const ROUTES_DIR = fileURLToPath(new URL('../../web-remix/app/routes/', import.meta.url))

export interface DiscoveredRoute {
  /** The route module's file name, e.g. api.plugin.v1.calls.$callId.end.ts */
  file: string
  /** The URL path with `:name` for dynamic segments and `*` for a splat, e.g. /api/plugin/v1/calls/:callId/end */
  path: string
  params: string[]
  hasLoader: boolean
  hasAction: boolean
}

/** Remix v2 flat routes: dots separate segments; `$name` is a param, `$` a splat, `_index` an index, `_x` pathless. */
export function pathOfRouteFile(file: string): { path: string; params: string[] } {
  const name = file.replace(/\.(tsx?|jsx?|mdx?)$/, '').replace(/\/route$/, '')
  const params: string[] = []
  const segments: string[] = []
  // Dots inside [brackets] are literal.
  for (const raw of name.match(/(\[[^\]]*\]|[^.])+/g) ?? []) {
    const segment = raw.replace(/_$/, '')
    if (segment === '_index' || segment === '') continue
    if (segment.startsWith('_')) continue
    if (segment === '$') {
      segments.push('*')
      params.push('*')
    } else if (segment.startsWith('$')) {
      segments.push(`:${segment.slice(1)}`)
      params.push(segment.slice(1))
    } else {
      segments.push(segment.replace(/\[([^\]]*)\]/g, '$1'))
    }
  }
  return { path: `/${segments.join('/')}`, params }
}

export function discoverRoutes(): DiscoveredRoute[] {
  return readdirSync(ROUTES_DIR, { withFileTypes: true })
    .flatMap((entry) => {
      if (!entry.isDirectory()) return [entry.name]
      // A folder route: its module is route.tsx (or .ts) inside.
      const inside = readdirSync(`${ROUTES_DIR}${entry.name}`).find((name) => /^route\.(tsx?|jsx?)$/.test(name))
      return inside ? [`${entry.name}/${inside}`] : []
    })
    .filter((file) => /\.(tsx?|jsx?)$/.test(file))
    .sort()
    .map((file) => {
      const source = readFileSync(`${ROUTES_DIR}${file}`, 'utf8')
      const exported = (name: string) =>
        new RegExp(`export\\s+(async\\s+)?(const|function|let)\\s+${name}\\b|export\\s*\\{[^}]*\\b${name}\\b`).test(source)
      return { file: file.replace(/\/route\.(tsx?|jsx?)$/, ''), ...pathOfRouteFile(file.replace(/\/route\.(tsx?|jsx?)$/, '')), hasLoader: exported('loader'), hasAction: exported('action') }
    })
}

export const PLUGIN_API_PREFIX = '/api/plugin/v1'

/** What the fuzz needs to know about a plugin API route beyond its file. Unlisted routes get the defaults. */
export interface PluginRouteHints {
  /**
   * A valid body: the fuzz sends only mutations of it that break it (a field of another JSON type, a required field
   * missing, NUL characters, oversized text), never the body itself. Without one, only random JSON is sent.
   */
  validBody?: Record<string, unknown>
  /** Fields of validBody that may be left out (removing them does not make the body invalid). */
  optional?: string[]
  /** The route takes no bearer token (sign-in). */
  noAuth?: boolean
  /**
   * Methods that succeed with a valid token whatever the body (sign-out revokes, the event stream opens): the fuzz
   * sends them with wrong tokens and hostile headers only.
   */
  succeedsWithoutBody?: string[]
  /** A query string the fuzz makes hostile values for. */
  query?: string[]
  /** A header the fuzz makes hostile values for, with a valid token (the event stream's Last-Event-ID). */
  hostileHeader?: string
}

export const PLUGIN_API_HINTS: Record<string, PluginRouteHints> = {
  'api.plugin.v1.sessions.ts': { validBody: { login: 'nobody@example.test', password: 'not-the-password', deviceName: 'Fuzz laptop' }, optional: ['deviceName'], noAuth: true },
  'api.plugin.v1.sessions.current.ts': { succeedsWithoutBody: ['DELETE'] },
  'api.plugin.v1.sessions.current.renew.ts': { succeedsWithoutBody: ['POST'] },
  'api.plugin.v1.link.ts': { validBody: { provider: 'discord', handle: 'fuzz#0001' } },
  'api.plugin.v1.presence.ts': { validBody: { status: 'online' } },
  'api.plugin.v1.members.lookup.ts': { query: ['handle'] },
  'api.plugin.v1.calls.ts': {
    validBody: {
      callId: '00000000-0000-4000-8000-000000000001',
      requestId: '00000000-0000-4000-8000-000000000003',
      memberId: '00000000-0000-4000-8000-000000000002',
      mode: 'prepaid',
      prepaidMinutes: 3,
    },
  },
  'api.plugin.v1.calls.$callId.end.ts': { validBody: { reason: 'operator_hangup' } },
  'api.plugin.v1.calls.$callId.messages.ts': { validBody: { body: 'Can you hear me?' } },
  'api.plugin.v1.events.ts': { succeedsWithoutBody: ['GET'], hostileHeader: 'Last-Event-ID' },
}

/**
 * Form actions of the portals, one entry each (none yet: the portals' forms are being built). An entry names the
 * route file, the fields its form posts, and how to get a session when the action needs one; the fuzz then posts
 * hostile values in those fields, with and without the session. Every route file with an action is fuzzed anyway
 * without fields or a session (no 5xx, nothing written); an entry makes the fuzz reach past the first check.
 */
export interface FormActionEntry {
  file: string
  fields: string[]
  /** The role whose session the fuzz posts with (signed in through the portal's forms); absent = the form is public. */
  session?: 'member' | 'operator' | 'company' | 'admin'
}

export const FORM_ACTIONS: FormActionEntry[] = [
  { file: 'calls_.$callId.rate.tsx', fields: ['stars', 'comment', 'csrf'], session: 'member' },
  { file: 'calls.$callId.tsx', fields: ['intent', 'csrf'], session: 'member' },
  { file: 'calls_.$callId.messages.ts', fields: ['body', 'csrf'], session: 'member' },
  { file: 'calls.request.tsx', fields: ['operatorId', 'channel', 'mode', 'prepaidMinutes', 'csrf'], session: 'member' },
  { file: 'admin.users.$userId.tsx', fields: ['intent', 'reason', 'amount', 'adjustmentKey', 'csrf'], session: 'admin' },
  { file: 'admin.payouts.tsx', fields: ['payoutId', 'intent', 'reason', 'csrf'], session: 'admin' },
  { file: 'company.operators.$operatorId.tsx', fields: ['intent', 'headline', 'csrf'], session: 'company' },
]

/**
 * Path values that look like ids to a lax pattern but are none: each must answer 404 from every route that takes an id
 * in its path, with a session of the route's own role (so that the id, not the access check, is what is refused).
 */
export const MALFORMED_IDS = [
  '-'.repeat(36),
  'zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz',
  '00000000-0000-4000-8000-00000000000',
  '00000000-0000-4000-8000-0000000000000',
  '{00000000-0000-4000-8000-000000000000}',
  '00000000-0000-4000-8000-000000000000%0A',
  '00000000000040008000000000000000',
]

/** Columns written by reading (bookkeeping, not data): the fuzz ignores them when it checks that nothing was written. */
export const BOOKKEEPING_COLUMNS: Record<string, string[]> = {
  plugin_tokens: ['last_used_at'],
}

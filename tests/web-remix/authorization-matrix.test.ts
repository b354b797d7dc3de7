import { readdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { CreatedUser } from '../../activities/identity/users.js'
import { PortalClient } from '../support/portal-client.js'
import { startWebStack, stopAfterLedgerCheck, type WebStack } from '../support/web-server.js'
import { newUser, signedIn, signedInAdmin } from './backoffice-users.js'
import { ROUTE_ACCESS, type Role, type RouteAccess } from './route-access.js'

// Authorization as a matrix: every route file is classified in route-access.ts, and every role-bound page, action and
// data request is refused to every other role (403) and to anonymous visitors (to the log-in page), and served to its
// own role.

const routesDirectory = fileURLToPath(new URL('../../web-remix/app/routes/', import.meta.url))
const fileNames = new Map(
  readdirSync(routesDirectory)
    .filter((name) => /\.(tsx?|jsx?)$/.test(name))
    .map((name) => [name.replace(/\.(tsx?|jsx?)$/, ''), name] as const),
)
const routeFiles = [...fileNames.keys()]
const ROLES: Role[] = ['member', 'operator', 'company', 'admin']

function hasAction(file: string): boolean {
  const source = readFileSync(`${routesDirectory}${fileNames.get(file)}`, 'utf8')
  return /export\s+(async\s+)?function\s+action\b|export\s+const\s+action\b/.test(source)
}

describe('the route table', () => {
  it('classifies every route file, and names no file that does not exist', () => {
    const classified = new Set(ROUTE_ACCESS.map((r) => r.file))
    const unclassified = routeFiles.filter((file) => !classified.has(file))
    expect(unclassified, 'route files without a row in tests/web-remix/route-access.ts').toEqual([])
    const stale = ROUTE_ACCESS.map((r) => r.file).filter((file) => !routeFiles.includes(file))
    expect(stale, 'rows of route-access.ts without a route file').toEqual([])
  })
})

describe('every role against every role-bound route', () => {
  let stack: WebStack
  const users = {} as Record<Role, CreatedUser>
  const clients = {} as Record<Role, PortalClient>
  let ownOperator: CreatedUser

  beforeAll(async () => {
    stack = await startWebStack({ worker: false })
    for (const role of ROLES) users[role] = await newUser(stack.db, role)
    ownOperator = await newUser(stack.db, 'operator', { companyId: users.company.companyId! })
    for (const role of ['member', 'operator', 'company'] as const) clients[role] = await signedIn(stack.url, users[role].email)
    clients.admin = (await signedInAdmin(stack.url, stack.db, users.admin)).client
  })
  afterAll(() => stopAfterLedgerCheck(stack))

  const pathOf = (route: RouteAccess) =>
    route.path
      .replace(':operatorId', ownOperator.id)
      .replace(':userId', users.member.id)
      .replace(/:(id|callId|requestId)\b/, '00000000-0000-4000-8000-000000000000')
  const guarded = ROUTE_ACCESS.filter((r): r is RouteAccess & { access: Role | 'admin-first-factor' } => ROLES.includes(r.access as Role) || r.access === 'admin-first-factor')

  it('refuses other roles with 403: pages, data requests and actions', async () => {
    const failures: string[] = []
    for (const route of guarded) {
      const owner: Role = route.access === 'admin-first-factor' ? 'admin' : route.access
      for (const role of ROLES.filter((r) => r !== owner)) {
        const path = pathOf(route)
        const pageGuarded = route.pageAccess === undefined
        const page = pageGuarded ? await clients[role].get(path) : null
        if (page && page.status !== 403) failures.push(`${role} GET ${path}: ${page.status}`)
        // Pages also answer Remix's data requests (single fetch): the same loader, so the same refusal.
        if (pageGuarded && fileNames.get(route.file)!.endsWith('.tsx')) {
          const dataRequest = await clients[role].get(`${path}.data`)
          if (dataRequest.status !== 403) failures.push(`${role} GET ${path}.data: ${dataRequest.status}`)
        }
        if (hasAction(route.file)) {
          const post = await clients[role].post(path, { intent: 'approve', amount: '50.00', payoutId: '00000000-0000-4000-8000-000000000000' })
          if (post.status !== 403) failures.push(`${role} POST ${path}: ${post.status}`)
        }
      }
    }
    expect(failures).toEqual([])
  })

  it('sends anonymous visitors to the log-in page', async () => {
    const anonymous = new PortalClient(stack.url)
    const failures: string[] = []
    for (const route of guarded) {
      const path = pathOf(route)
      const page = route.pageAccess === undefined ? await anonymous.get(path) : null
      if (page && (page.status !== 302 || !page.headers.get('location')?.startsWith('/login?redirectTo='))) {
        failures.push(`GET ${path}: ${page.status} ${page.headers.get('location')}`)
      }
      if (hasAction(route.file)) {
        const post = await anonymous.post(path, { intent: 'approve' })
        if (![302, 403].includes(post.status)) failures.push(`POST ${path}: ${post.status}`)
        else if (post.status === 302 && !post.headers.get('location')?.startsWith('/login')) failures.push(`POST ${path}: to ${post.headers.get('location')}`)
      }
    }
    expect(failures).toEqual([])
  })

  it('lets each role through the access check of its own pages', async () => {
    // Past the check, a page may still answer 404 for the unknown ids the paths carry: what matters is no 403 and no
    // log-in redirect. The back office's own pages, whose paths name real rows here, must answer 200.
    const failures: string[] = []
    for (const route of guarded.filter((r) => r.access !== 'admin-first-factor')) {
      const response = await clients[route.access as Role].get(pathOf(route))
      const refused = response.status === 403 || (response.status === 302 && response.headers.get('location')?.startsWith('/login'))
      const ours = /^(operator\.(?!schedule)|company\.|admin\.)/.test(route.file)
      if (refused || (ours && response.status !== 200)) failures.push(`${route.access} GET ${pathOf(route)}: ${response.status}`)
    }
    expect(failures).toEqual([])
  })

  it("refuses a company another company's operator, and an admin page before the second factor", async () => {
    const stranger = await newUser(stack.db, 'operator')
    expect((await clients.company.get(`/company/operators/${stranger.id}`)).status).toBe(404)
    expect((await clients.company.post(`/company/operators/${stranger.id}`, { intent: 'disable' })).status).toBe(404)
    expect((await stack.db.user.findUniqueOrThrow({ where: { id: stranger.id } })).status).toBe('active')
    const admin = await signedIn(stack.url, users.admin.email)
    for (const route of guarded.filter((r) => r.access === 'admin')) {
      const response = await admin.get(pathOf(route))
      expect(response.status, route.path).toBe(302)
      expect(response.headers.get('location')).toMatch(/^\/admin\/second-factor\?redirectTo=/)
    }
  })
})

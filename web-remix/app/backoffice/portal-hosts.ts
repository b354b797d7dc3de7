/**
 * Portals by host (PUBLIC_HOSTS, e.g. "perminute.example=public,my.perminute.example=accounts,admin.perminute.example=admin").
 * Unset, one host serves every portal under its paths. Set, the admin host alone serves the admin portal (and only it,
 * with the log-in it needs), and the other hosts refuse /admin. Static assets are served everywhere.
 */

export type Portal = 'public' | 'accounts' | 'admin'

export function parsePublicHosts(value: string | undefined): Map<string, Portal> | null {
  if (!value?.trim()) return null
  const hosts = new Map<string, Portal>()
  for (const pair of value.split(',').map((p) => p.trim()).filter(Boolean)) {
    const [host, portal] = pair.split('=').map((part) => part?.trim().toLowerCase())
    if (!host || (portal !== 'public' && portal !== 'accounts' && portal !== 'admin')) {
      throw new Error(`PUBLIC_HOSTS: "${pair}" is not host=public|accounts|admin`)
    }
    hosts.set(host, portal)
  }
  return hosts
}

const isAdminPath = (path: string) => path === '/admin' || path.startsWith('/admin/') || path.startsWith('/admin.')
const SHARED = [/^\/assets\//, /^\/favicon/, /^\/login(\.data)?$/, /^\/logout(\.data)?$/, /^\/__manifest/]

/** A path as a URL parser sees it: dot segments resolved, backslashes as slashes, runs of slashes as one. */
function normalised(path: string): string {
  // Slashes collapsed first: a path starting with // would otherwise be read as a host.
  const collapse = (text: string) => text.replace(/\\/g, '/').replace(/\/{2,}/g, '/')
  return collapse(new URL(collapse(path), 'http://portal.invalid').pathname)
}

/**
 * The path the router will match, in every spelling it may take: the router matches without regard to case and
 * decodes percent-escapes (/ADMIN and /%61dmin are /admin to it), so the path is classified both as sent and decoded,
 * each normalised and lower-cased. Null when it cannot be decoded (no route could match it either).
 */
export function routedPaths(path: string): string[] | null {
  try {
    const asSent = normalised(path).toLowerCase()
    return [asSent, normalised(decodeURIComponent(asSent)).toLowerCase()]
  } catch {
    return null
  }
}

/** The portal a Host header names under PUBLIC_HOSTS (port ignored); undefined for a host it does not list. */
export function portalOfHost(hosts: Map<string, Portal>, hostHeader: string | null | undefined): Portal | undefined {
  return hosts.get((hostHeader ?? '').toLowerCase().replace(/:\d+$/, '').replace(/\.$/, ''))
}

/**
 * Whether this host serves this path; the host is the Host header's name (port ignored). The admin host serves a path
 * only when every spelling of it is the admin portal's (or shared); another host only when none is.
 */
export function hostServes(hosts: Map<string, Portal> | null, hostHeader: string | undefined, path: string): boolean {
  if (!hosts) return true
  const portal = portalOfHost(hosts, hostHeader)
  if (portal === undefined) return false
  const paths = routedPaths(path)
  if (!paths) return false
  if (paths.every((p) => SHARED.some((pattern) => pattern.test(p)))) return true
  return portal === 'admin' ? paths.every(isAdminPath) : !paths.some(isAdminPath)
}

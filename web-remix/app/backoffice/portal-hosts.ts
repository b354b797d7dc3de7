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

/** Whether this host serves this path; the host is the Host header's name (port ignored). */
export function hostServes(hosts: Map<string, Portal> | null, hostHeader: string | undefined, path: string): boolean {
  if (!hosts) return true
  const host = (hostHeader ?? '').toLowerCase().replace(/:\d+$/, '')
  const portal = hosts.get(host)
  if (portal === undefined) return false
  if (SHARED.some((pattern) => pattern.test(path))) return true
  return portal === 'admin' ? isAdminPath(path) : !isAdminPath(path)
}

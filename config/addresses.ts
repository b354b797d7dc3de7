import { isIP } from 'node:net'

/**
 * The address settings of the configuration, parsed one way for config/env.ts (which refuses bad values at start-up)
 * and for the web (which applies them): TRUST_PROXY and ADMIN_ALLOWED_CIDRS.
 */

export interface Cidr {
  address: string
  family: 4 | 6
  /** The prefix length; a bare address is its whole width. */
  bits: number
}

/** Words that close a list: nothing matches it. */
const NONE = new Set(['', 'none'])

/** Comma-separated addresses or CIDRs, IPv4 and IPv6, or "none"; throws an Error saying which entry is wrong. */
export function parseCidrs(value: string, variable: string): Cidr[] {
  if (NONE.has(value.trim().toLowerCase())) return []
  return value
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)
    .map((raw) => {
      const [address, prefix, extra] = raw.split('/') as [string, string | undefined, string | undefined]
      const family = isIP(address)
      if (family === 0 || extra !== undefined) throw new Error(`${variable}: "${raw}" is not an address or CIDR`)
      const width = family === 4 ? 32 : 128
      const bits = prefix === undefined ? width : Number(prefix)
      if (prefix !== undefined && (!/^\d{1,3}$/.test(prefix) || bits > width)) throw new Error(`${variable}: bad prefix in "${raw}"`)
      return { address, family: family as 4 | 6, bits }
    })
}

/** Whether every entry lies within loopback (127.0.0.0/8, ::1, and IPv4 loopback mapped into IPv6). */
export function isLoopbackOnly(cidrs: Cidr[]): boolean {
  return (
    cidrs.length > 0 &&
    cidrs.every(({ address, family, bits }) => {
      if (family === 4) return address.startsWith('127.') && bits >= 8
      const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)
      if (mapped) return mapped[1]!.startsWith('127.') && bits >= 104
      return /^(0{0,4}:){2,7}0{0,3}1$|^::1$/i.test(address) && bits === 128
    })
  )
}

/** The ranges Express's `trust proxy` knows by name (proxy-addr). */
const NAMED_RANGES = new Set(['loopback', 'linklocal', 'uniquelocal'])

/**
 * TRUST_PROXY as Express's `trust proxy` takes it: false (believe no X-Forwarded-For), a hop count (the number of
 * proxies in front of us), or the proxies' own addresses, CIDRs or range names. Never `true`, which believes whatever
 * address a client writes into X-Forwarded-For: the admin allow-list and every per-address throttle would be the
 * client's to choose.
 */
export function parseTrustProxy(value: string): false | number | string[] {
  const trimmed = value.trim().toLowerCase()
  if (trimmed === 'false' || trimmed === '' || trimmed === '0') return false
  if (trimmed === 'true') {
    throw new Error(
      'TRUST_PROXY: "true" believes the X-Forwarded-For any client sends (it could pick its own address for the admin ' +
        'allow-list and the throttles); give the number of proxies in front of the web, or their addresses/CIDRs',
    )
  }
  if (/^\d+$/.test(trimmed)) {
    const hops = Number(trimmed)
    if (hops > 10) throw new Error(`TRUST_PROXY: ${hops} proxies in front of the web is not a real set-up; give their addresses instead`)
    return hops
  }
  const entries = trimmed.split(',').map((part) => part.trim()).filter(Boolean)
  for (const entry of entries) if (!NAMED_RANGES.has(entry)) parseCidrs(entry, 'TRUST_PROXY')
  return entries
}

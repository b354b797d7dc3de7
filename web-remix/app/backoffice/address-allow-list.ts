import { BlockList, isIP } from 'node:net'

/**
 * ADMIN_ALLOWED_CIDRS as a matcher: comma-separated addresses or CIDRs, IPv4 and IPv6. An IPv4 address seen through
 * an IPv6 socket (::ffff:127.0.0.1) is matched as the IPv4 address it is.
 */
export function parseAllowList(value: string): (address: string | null | undefined) => boolean {
  const list = new BlockList()
  for (const raw of value.split(',').map((part) => part.trim()).filter(Boolean)) {
    const [address, prefix] = raw.split('/') as [string, string | undefined]
    const family = isIP(address)
    if (family === 0) throw new Error(`ADMIN_ALLOWED_CIDRS: "${raw}" is not an address or CIDR`)
    const type = family === 4 ? 'ipv4' : 'ipv6'
    if (prefix === undefined) list.addAddress(address, type)
    else {
      const bits = Number(prefix)
      if (!Number.isInteger(bits) || bits < 0 || bits > (family === 4 ? 32 : 128)) throw new Error(`ADMIN_ALLOWED_CIDRS: bad prefix in "${raw}"`)
      list.addSubnet(address, bits, type)
    }
  }
  return (address) => {
    if (!address) return false
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)
    const plain = mapped ? mapped[1]! : address
    const family = isIP(plain)
    if (family === 0) return false
    return list.check(plain, family === 4 ? 'ipv4' : 'ipv6')
  }
}

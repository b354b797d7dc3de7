import { BlockList, isIP } from 'node:net'
import { parseCidrs } from '../../../config/addresses.js'

/**
 * ADMIN_ALLOWED_CIDRS as a matcher: comma-separated addresses or CIDRs, IPv4 and IPv6, or "none" (nobody). An IPv4
 * address seen through an IPv6 socket (::ffff:127.0.0.1) is matched as the IPv4 address it is.
 */
export function parseAllowList(value: string): (address: string | null | undefined) => boolean {
  const list = new BlockList()
  for (const { address, family, bits } of parseCidrs(value, 'ADMIN_ALLOWED_CIDRS')) {
    list.addSubnet(address, bits, family === 4 ? 'ipv4' : 'ipv6')
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

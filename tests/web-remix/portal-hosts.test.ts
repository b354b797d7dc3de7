import { describe, expect, it } from 'vitest'
import { hostServes, parsePublicHosts } from '../../web-remix/app/backoffice/portal-hosts.js'

describe('portals by host', () => {
  it('serves every portal on one host when PUBLIC_HOSTS is unset', () => {
    expect(hostServes(parsePublicHosts(undefined), 'anything:3000', '/admin/users')).toBe(true)
  })

  it('serves the admin portal on the admin host alone, and nothing else there but log-in and assets', () => {
    const hosts = parsePublicHosts('shop.example=public, my.shop.example=accounts, admin.shop.example=admin')
    expect(hostServes(hosts, 'admin.shop.example', '/admin/payouts')).toBe(true)
    expect(hostServes(hosts, 'admin.shop.example:443', '/login')).toBe(true)
    expect(hostServes(hosts, 'admin.shop.example', '/assets/app.js')).toBe(true)
    expect(hostServes(hosts, 'admin.shop.example', '/')).toBe(false)
    expect(hostServes(hosts, 'admin.shop.example', '/operator')).toBe(false)
    expect(hostServes(hosts, 'shop.example', '/admin')).toBe(false)
    expect(hostServes(hosts, 'my.shop.example', '/admin/users')).toBe(false)
    expect(hostServes(hosts, 'my.shop.example', '/operator/payouts')).toBe(true)
    expect(hostServes(hosts, 'shop.example', '/operators/1')).toBe(true)
    expect(hostServes(hosts, 'elsewhere.example', '/')).toBe(false)
    expect(() => parsePublicHosts('shop.example=shop')).toThrow(/PUBLIC_HOSTS/)
  })
})

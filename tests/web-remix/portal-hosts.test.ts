import { request as httpRequest } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { requireAdminFirstFactor } from '../../web-remix/app/backoffice/admin-access.server.js'
import { hostServes, parsePublicHosts } from '../../web-remix/app/backoffice/portal-hosts.js'
import { createPlatformServices } from '../../web-remix/app/plugin-api/services.server.js'
import { startWebStack, type WebStack } from '../support/web-server.js'

const HOSTS = 'shop.test=public, my.shop.test=accounts, admin.shop.test=admin'

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

  it('classifies a path as the router will match it: decoded, resolved and in any case', () => {
    const hosts = parsePublicHosts(HOSTS)
    for (const path of ['/ADMIN/users', '/%61dmin', '/x/..//admin', '/%2E%2E/Admin.data', '\\admin']) {
      expect(hostServes(hosts, 'shop.test', path), path).toBe(false)
    }
    expect(hostServes(hosts, 'shop.test', '/%zz')).toBe(false)
    expect(hostServes(hosts, 'shop.test', '/operators/%41')).toBe(true)
    expect(hostServes(hosts, 'admin.shop.test', '/ADMIN/users')).toBe(true)
    expect(hostServes(hosts, 'admin.shop.test', '/LOGIN')).toBe(true)
  })
})

describe('the admin portal on the public hosts, through the web server', () => {
  let stack: WebStack
  beforeAll(async () => {
    stack = await startWebStack({ env: { PUBLIC_HOSTS: HOSTS }, worker: false })
  })
  afterAll(async () => {
    await stack?.stop()
  })

  /** One request with this Host header and this path exactly as written (fetch would normalise it). */
  function get(host: string, path: string): Promise<{ status: number; location: string | undefined; text: string }> {
    const origin = new URL(stack.url)
    return new Promise((resolve, reject) => {
      const outgoing = httpRequest({ host: origin.hostname, port: origin.port, path, headers: { host }, agent: false }, (response) => {
        const chunks: Buffer[] = []
        response.on('data', (chunk: Buffer) => chunks.push(chunk))
        response.on('end', () => resolve({ status: response.statusCode ?? 0, location: response.headers.location, text: Buffer.concat(chunks).toString('utf8') }))
      })
      outgoing.on('error', reject)
      outgoing.end()
    })
  }

  const SPELLINGS = ['/ADMIN/users', '/Admin', '/%61dmin/users', '/%41DMIN', '//admin/users', '/x/../admin/users', '/%2e%2e/admin', '/admin%2Fusers', '/ADMIN.data', '/admin/users.data']

  it.each(SPELLINGS)('refuses %s on the public and accounts hosts', async (path) => {
    for (const host of ['shop.test', 'my.shop.test', 'shop.test:443', 'SHOP.TEST.']) {
      const answer = await get(host, path)
      expect(answer.status, `${host} ${path} → ${answer.status} ${answer.location ?? ''}`).toBe(404)
      expect(answer.text).toBe('Not found on this host.')
    }
  })

  it('serves the admin portal on the admin host (its log-in first), and the storefront elsewhere', async () => {
    expect(await get('admin.shop.test', '/admin/users')).toMatchObject({ status: 302, location: '/login?redirectTo=%2Fadmin%2Fusers' })
    expect((await get('shop.test', '/')).status).toBe(200)
    expect((await get('admin.shop.test', '/')).status).toBe(404)
    // A spelling the router would take for another portal's page is not the admin host's either.
    expect((await get('admin.shop.test', '/admin/../operator')).status).toBe(404)
  })

  it('has the admin guard check the host too, whatever reached it', async () => {
    const context = { services: createPlatformServices(stack.config), clientAddress: '127.0.0.1' }
    try {
      const refusal = await requireAdminFirstFactor(new Request('http://shop.test/admin', { headers: { host: 'shop.test' } }), context).catch((thrown: unknown) => thrown)
      expect(refusal).toBeInstanceOf(Response)
      expect((refusal as Response).status).toBe(404)
      // On the admin host the same request goes on to the log-in.
      const onAdminHost = await requireAdminFirstFactor(new Request('http://admin.shop.test/admin', { headers: { host: 'admin.shop.test' } }), context).catch((thrown: unknown) => thrown)
      expect((onAdminHost as Response).status).toBe(302)
    } finally {
      await context.services.close()
    }
  })
})

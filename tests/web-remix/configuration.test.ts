import { randomBytes, randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { SANDBOX_SIGNATURE_HEADER } from '../../activities/payments/sandbox/sandbox-pay.js'
import { signatureHeader } from '../../activities/payments/webhook-signature.js'
import { DEV_DATA_ENCRYPTION_KEY, DEV_PAYMENT_WEBHOOK_SECRET, DEV_SESSION_SECRET } from '../../config/env.js'
import { startWebProcess } from '../../bench/support/platform-process.js'
import { freePort } from '../../temporal/setup/dev-server.js'
import { ensureWebBuild, startWebStack, type WebStack } from '../support/web-server.js'

// The configuration fails closed (docs/decisions/056-fail-closed-configuration.md), tried on the real web process as
// it is deployed (`node web-remix/server.ts`, configured by its environment): without NODE_ENV it served the dev
// mailbox, and with it a password-reset link to anyone; a secret printed in this repository signed webhooks.

/** The environment of a web process, this test run's database and Temporal, without NODE_ENV unless given. */
async function webEnv(overrides: Record<string, string | undefined>): Promise<Record<string, string | undefined>> {
  return { NODE_ENV: undefined, WEB_HOST: '127.0.0.1', WEB_PORT: String(await freePort()), ...overrides }
}

const ownSecret = () => randomBytes(32).toString('base64url')
/** A production environment that starts: its own secrets, the sandbox allowed, an admin allow-list off loopback. */
const production = () => ({
  NODE_ENV: 'production',
  SESSION_SECRET: ownSecret(),
  PAYMENT_WEBHOOK_SECRET: ownSecret(),
  DATA_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
  PAYMENT_SANDBOX_IN_PRODUCTION: 'true',
  COOKIE_SECURE: 'false',
  ADMIN_ALLOWED_CIDRS: '203.0.113.0/24',
})

/** Starts the web process; answers how it ended when it refused to start, or stops it and says what it served. */
async function startRefused(overrides: Record<string, string | undefined>): Promise<string> {
  try {
    const web = await startWebProcess(await webEnv(overrides))
    const mailbox = await fetch(`${web.url}/dev/mailbox`)
    await web.stop()
    return `it started, and /dev/mailbox answered ${mailbox.status}`
  } catch (error) {
    return (error as Error).message
  }
}

beforeAll(async () => {
  // The refusals happen before the build is looked for; the runs that start need it.
  await ensureWebBuild()
})

describe('starting the web without the development switch', () => {
  it('stops at once without NODE_ENV, naming it, instead of serving the dev mailbox to anyone', async () => {
    const outcome = await startRefused({})
    expect(outcome).toMatch(/web exited \(1\) before it was ready/)
    expect(outcome).toMatch(/NODE_ENV: is not set/)
  })

  it('stops in production with a secret printed in this repository, naming the variable', async () => {
    const composeExample = await startRefused({ ...production(), PAYMENT_WEBHOOK_SECRET: 'compose-sandbox-webhook-secret-change-me' })
    expect(composeExample).toMatch(/exited \(1\)[\s\S]*PAYMENT_WEBHOOK_SECRET: production needs a PAYMENT_WEBHOOK_SECRET of its own/)
    const developmentWebhook = await startRefused({ ...production(), PAYMENT_WEBHOOK_SECRET: DEV_PAYMENT_WEBHOOK_SECRET })
    expect(developmentWebhook).toMatch(/exited \(1\)[\s\S]*PAYMENT_WEBHOOK_SECRET/)
    const developmentSession = await startRefused({ ...production(), SESSION_SECRET: DEV_SESSION_SECRET })
    expect(developmentSession).toMatch(/exited \(1\)[\s\S]*SESSION_SECRET: production needs a SESSION_SECRET of its own/)
    const none = await startRefused({ ...production(), PAYMENT_WEBHOOK_SECRET: undefined })
    expect(none).toMatch(/exited \(1\)[\s\S]*PAYMENT_WEBHOOK_SECRET/)
    const developmentDataKey = await startRefused({ ...production(), DATA_ENCRYPTION_KEY: DEV_DATA_ENCRYPTION_KEY })
    expect(developmentDataKey).toMatch(/exited \(1\)[\s\S]*DATA_ENCRYPTION_KEY: production needs a DATA_ENCRYPTION_KEY of its own/)
    const noDataKey = await startRefused({ ...production(), DATA_ENCRYPTION_KEY: undefined })
    expect(noDataKey).toMatch(/exited \(1\)[\s\S]*DATA_ENCRYPTION_KEY: production needs a DATA_ENCRYPTION_KEY of its own/)
  })

  it('in production, has no dev mailbox and refuses webhooks signed with the development secret', async () => {
    const web = await startWebProcess(await webEnv(production()))
    try {
      expect((await fetch(`${web.url}/dev/mailbox`)).status).toBe(404)
      const body = JSON.stringify({ id: `evt_${randomUUID()}`, type: 'checkout.session.completed', created: Math.floor(Date.now() / 1000), data: { object: {} } })
      const forged = await fetch(`${web.url}/webhooks/payments/sandbox`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [SANDBOX_SIGNATURE_HEADER]: signatureHeader(DEV_PAYMENT_WEBHOOK_SECRET, body, Math.floor(Date.now() / 1000)) },
        body,
      })
      expect(forged.status).toBe(400)
      expect(await forged.json()).toMatchObject({ error: 'invalid_webhook', message: 'signature does not match' })
    } finally {
      await web.stop()
    }
  })
})

describe('error pages', () => {
  let stack: WebStack
  beforeAll(async () => {
    // A database that does not exist: every page that reads one fails, as when PostgreSQL is down.
    const missing = new URL(process.env.DATABASE_URL!)
    missing.pathname = `/perminute_missing_${randomBytes(4).toString('hex')}`
    stack = await startWebStack({ env: { DATABASE_URL: missing.toString() }, worker: false })
  })
  afterAll(async () => {
    await stack?.stop()
  })

  it('carry no stack trace outside development, on pages and on their data requests', async () => {
    // The server logs the failure, which is what this test provokes.
    vi.spyOn(console, 'error').mockImplementation(() => undefined)
    for (const path of ['/', '/_root.data', '/operators/00000000-0000-4000-8000-000000000000']) {
      const response = await fetch(`${stack.url}${path}`)
      const text = await response.text()
      expect(response.status, path).toBe(500)
      expect(text, path).not.toMatch(/\bat .+:\d+:\d+|node_modules|\.tsx?:\d+|perminute_missing_|database .* does not exist/)
    }
  })
})

describe('whose address the web believes', () => {
  it('refuses TRUST_PROXY=true at start-up, which let any client write its own address into X-Forwarded-For', async () => {
    const outcome = await startRefused({ NODE_ENV: 'test', TRUST_PROXY: 'true', ADMIN_ALLOWED_CIDRS: '203.0.113.7/32' })
    expect(outcome).toMatch(/exited \(1\)[\s\S]*TRUST_PROXY: "true" believes the X-Forwarded-For any client sends/)
    expect(await startRefused({ NODE_ENV: 'test', TRUST_PROXY: '10.0.0.0/33' })).toMatch(/exited \(1\)[\s\S]*TRUST_PROXY: bad prefix/)
    expect(await startRefused({ NODE_ENV: 'test', ADMIN_ALLOWED_CIDRS: 'office' })).toMatch(/exited \(1\)[\s\S]*ADMIN_ALLOWED_CIDRS: "office" is not an address/)
  })

  it('refuses, in production, an admin allow-list of loopback only when no proxy is trusted', async () => {
    const loopbackOnly = await startRefused({ ...production(), ADMIN_ALLOWED_CIDRS: undefined })
    expect(loopbackOnly).toMatch(/exited \(1\)[\s\S]*ADMIN_ALLOWED_CIDRS: allows loopback only while no proxy is trusted/)
    expect(await startRefused({ ...production(), ADMIN_ALLOWED_CIDRS: '127.0.0.1, ::1' })).toMatch(/ADMIN_ALLOWED_CIDRS: allows loopback only/)
    // Behind a named proxy, or with the admin portal closed, production starts.
    const closed = await startWebProcess(await webEnv({ ...production(), ADMIN_ALLOWED_CIDRS: 'none' }))
    expect((await fetch(`${closed.url}/admin`)).status).toBe(403)
    await closed.stop()
  })

  it.each(['127.0.0.1', '1'])('believes, with TRUST_PROXY=%s, only the address the proxy appended', async (trustProxy) => {
    const stack = await startWebStack({ env: { TRUST_PROXY: trustProxy, ADMIN_ALLOWED_CIDRS: '203.0.113.7/32' }, worker: false })
    try {
      const admin = (forwardedFor?: string) =>
        fetch(`${stack.url}/admin`, { redirect: 'manual', headers: forwardedFor ? { 'x-forwarded-for': forwardedFor } : {} }).then((r) => r.status)
      // The allowed admin behind the proxy reaches the log-in; a client that writes the allowed address in front of
      // its own is still its own address; the proxy itself is not an admin.
      expect(await admin('203.0.113.7')).toBe(302)
      expect(await admin('203.0.113.7, 198.51.100.9')).toBe(403)
      expect(await admin()).toBe(403)
    } finally {
      await stack.stop()
    }
  })
})

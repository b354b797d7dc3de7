import { createHash, randomUUID } from 'node:crypto'
import * as OTPAuth from 'otpauth'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createMailDispatcher } from '../../activities/mail/dispatcher.js'
import { enqueueMail } from '../../activities/mail/outbox.js'
import { mailgunTransport } from '../../activities/mail/transport.js'
import { MAX_FAILURES_PER_ACCOUNT } from '../../web-remix/app/auth/throttle.server.js'
import { totpFor } from '../../web-remix/app/backoffice/second-factor.server.js'
import { startMailgunWire, type MailgunWire } from '../support/mailgun-wire.js'
import { latestMailLink, PortalClient } from '../support/portal-client.js'
import { createScratchDatabase, type ScratchDatabase } from '../support/scratch-database.js'
import { startWebStack, stopAfterLedgerCheck, type WebStack } from '../support/web-server.js'
import { newUser, PASSWORD, signedIn, signedInAdmin, totpCode } from './backoffice-users.js'
import { call, sleep } from './plugin-client.js'
import { emitTestEvent, endsWithin, probeStream, type StreamProbe } from './stream-probe.js'

// Portal sessions and passwords as an attacker would try them: a session cookie found on a shared computer hours
// later, an event stream left open after log-out, a stolen password changed behind the owner's back (or guessed at
// through the change form), a common password, and a copy of the database (TOTP secrets, recovery codes, mail links).

let stack: WebStack
const probes: StreamProbe[] = []

beforeAll(async () => {
  stack = await startWebStack({ worker: false })
}, 180_000)

afterAll(async () => {
  for (const probe of probes) probe.close()
  await stopAfterLedgerCheck(stack)
}, 60_000)

const newEmail = () => `credentials-${randomUUID().slice(0, 8)}@example.test`

/** A member with a confirmed address, logged in through the form (a sign-up signs no one in). */
async function member(): Promise<{ client: PortalClient; email: string; id: string }> {
  const { email, id } = await newUser(stack.db, 'member')
  return { client: await signedIn(stack.url, email), email, id }
}

const sessionRow = (client: PortalClient) =>
  stack.db.webSession.findUniqueOrThrow({ where: { idHash: createHash('sha256').update(decodeSessionId(client)).digest('hex') } })

/** The session id inside the signed cookie (Remix signs `base64(JSON)` with a trailing `.signature`). */
function decodeSessionId(client: PortalClient): string {
  const raw = decodeURIComponent(client.cookie('pm_session')!)
  return JSON.parse(Buffer.from(raw.slice(0, raw.lastIndexOf('.')), 'base64').toString('utf8')) as string
}

const sentToLogIn = (response: Response) => response.status === 302 && (response.headers.get('location') ?? '').startsWith('/login')

async function expectStreamClosed(probe: StreamProbe, memberId: string) {
  expect(await endsWithin(probe, 8_000), 'the stream ends within seconds').toBe(true)
  const seen = probe.events.length
  await emitTestEvent(stack.db, { memberId })
  await sleep(500)
  expect(probe.events.length).toBe(seen)
}

async function openMemberStream(client: PortalClient) {
  const probe = await probeStream(`${stack.url}/calls/events`, { cookie: client.cookieHeader() })
  probes.push(probe)
  expect(probe.status).toBe(200)
  return probe
}

describe('session lifetimes', () => {
  it("ends a member's session left unused longer than SESSION_IDLE_MINUTES", async () => {
    const { client } = await member()
    expect((await client.get('/account')).status).toBe(200)
    const row = await sessionRow(client)
    await stack.db.webSession.update({ where: { idHash: row.idHash }, data: { lastSeenAt: new Date(Date.now() - (stack.config.SESSION_IDLE_MINUTES + 1) * 60_000) } })
    expect(sentToLogIn(await client.get('/account'))).toBe(true)
    expect(await stack.db.webSession.count({ where: { idHash: row.idHash } })).toBe(0)
  })

  it("ends an admin's session after 30 idle minutes, and 12 hours after log-in however busy; the second factor lapses with it", async () => {
    const admin = await newUser(stack.db, 'admin')
    const { client, recoveryCodes } = await signedInAdmin(stack.url, stack.db, admin)
    expect((await client.get('/admin')).status).toBe(200)
    const row = await sessionRow(client)
    // The cookie itself does not outlive the admin session's limit.
    expect(row.expiresAt.getTime() - row.createdAt.getTime()).toBeLessThanOrEqual(stack.config.ADMIN_SESSION_MAX_HOURS * 3_600_000 + 1_000)
    await stack.db.webSession.update({ where: { idHash: row.idHash }, data: { lastSeenAt: new Date(Date.now() - 31 * 60_000) } })
    expect(sentToLogIn(await client.get('/admin'))).toBe(true)
    expect(await stack.db.sessionSecondFactor.count({ where: { sessionIdHash: row.idHash } })).toBe(0)

    const busy = await signedIn(stack.url, admin.email)
    const login = await new PortalClient(stack.url).post('/login', { email: admin.email, password: PASSWORD })
    expect(login.headers.getSetCookie().find((line) => line.startsWith('pm_session='))).toMatch(/Max-Age=43200/i)
    expect((await busy.post('/admin/second-factor', { code: await totpCode(stack.db, admin.id, 1) })).status).toBe(302)
    expect((await busy.get('/admin')).status).toBe(200)
    const busyRow = await sessionRow(busy)
    // Used a minute ago, but opened thirteen hours ago (a row from before the limit, say: the check is on every request).
    await stack.db.webSession.update({
      where: { idHash: busyRow.idHash },
      data: { createdAt: new Date(Date.now() - 13 * 3_600_000), expiresAt: new Date(Date.now() + 86_400_000), lastSeenAt: new Date(Date.now() - 60_000) },
    })
    expect(sentToLogIn(await busy.get('/admin'))).toBe(true)

    // A session that is still young, whose second factor was passed more than 12 hours ago: asked again.
    const third = await signedIn(stack.url, admin.email)
    expect((await third.post('/admin/second-factor', { recoveryCode: recoveryCodes[0]! })).status).toBe(302)
    const thirdRow = await sessionRow(third)
    await stack.db.sessionSecondFactor.update({ where: { sessionIdHash: thirdRow.idHash }, data: { verifiedAt: new Date(Date.now() - 13 * 3_600_000) } })
    const asked = await third.get('/admin')
    expect(asked.status).toBe(302)
    expect(asked.headers.get('location')).toMatch(/^\/admin\/second-factor/)
  })

  it("closes a member's event stream within seconds of log-out, and delivers nothing after", async () => {
    const { client, id } = await member()
    const probe = await openMemberStream(client)
    await emitTestEvent(stack.db, { memberId: id })
    // Delivered while signed in (on a loaded machine it may take more than half a second).
    for (let waited = 0; probe.events.length === 0 && waited < 10_000; waited += 100) await sleep(100)
    expect(probe.events).toEqual(['call.low_balance'])
    expect((await client.post('/logout', {})).status).toBe(302)
    await expectStreamClosed(probe, id)
  })
})

describe('changing the password', () => {
  it('needs the current password, refuses a common one, and signs out every other session and plugin but this one', async () => {
    // An operator with a confirmed address, as the plugin's sign-in requires.
    const { email } = await newUser(stack.db, 'operator')
    const client = await signedIn(stack.url, email)
    const elsewhere = await signedIn(stack.url, email)
    const plugin = await call(stack.url, '/api/plugin/v1/sessions', { json: { login: email, password: PASSWORD } })
    // Signed in, so that its refusal after the change is the change's doing.
    expect(plugin.status).toBe(201)
    const token = plugin.body.token as string

    const account = await client.page('/account')
    expect(account).toContain('href="/account/password"')
    const page = await client.page('/account/password')
    expect(page).toMatch(/<label for="[^"]+">Current password<\/label>/)
    expect(page).toMatch(/autoComplete="current-password"|autocomplete="current-password"/)

    expect((await client.post('/account/password', { currentPassword: PASSWORD, newPassword: 'a new long passphrase' }, { csrf: false })).status).toBe(403)
    const wrong = await client.post('/account/password', { currentPassword: 'not the password', newPassword: 'a new long passphrase' })
    expect(wrong.status).toBe(400)
    expect(await wrong.text()).toContain('current password is not right')
    const common = await client.post('/account/password', { currentPassword: PASSWORD, newPassword: 'password123' })
    expect(common.status).toBe(400)
    expect(await common.text()).toContain('too easy to guess')
    expect((await elsewhere.get('/account')).status).toBe(200)

    const changed = await client.post('/account/password', { currentPassword: PASSWORD, newPassword: 'a new long passphrase' })
    expect(changed.status).toBe(302)
    expect(changed.headers.get('location')).toBe('/account?notice=password-changed')
    expect((await client.get('/account')).status).toBe(200)
    expect(sentToLogIn(await elsewhere.get('/account'))).toBe(true)
    expect((await call(stack.url, '/api/plugin/v1/presence', { json: { status: 'offline' }, token })).status).toBe(401)
    expect(await stack.db.mailMessage.count({ where: { toAddress: email, template: 'password_changed' } })).toBe(1)
    expect((await new PortalClient(stack.url).post('/login', { email, password: PASSWORD })).status).toBe(401)
    await new PortalClient(stack.url).logIn(email, 'a new long passphrase')
  })

  it('closes the event streams of the sessions it signs out', async () => {
    const { client, email, id } = await member()
    const other = await signedIn(stack.url, email)
    const probe = await openMemberStream(other)
    expect((await client.post('/account/password', { currentPassword: PASSWORD, newPassword: 'another long passphrase' })).status).toBe(302)
    await expectStreamClosed(probe, id)
  })

  it('throttles wrong current passwords like failed log-ins: past the limit even the right one waits', async () => {
    const { client } = await member()
    for (let i = 0; i < MAX_FAILURES_PER_ACCOUNT; i++) {
      expect((await client.post('/account/password', { currentPassword: `guess number ${i}`, newPassword: 'a new long passphrase' })).status).toBe(400)
    }
    const refused = await client.post('/account/password', { currentPassword: PASSWORD, newPassword: 'a new long passphrase' })
    expect(refused.status).toBe(429)
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0)
  })

  it('is behind the admin portal for admins (/admin/password), and keeps their verified session', async () => {
    const admin = await newUser(stack.db, 'admin')
    const { client } = await signedInAdmin(stack.url, stack.db, admin)
    const away = await client.get('/account/password')
    expect(away.status).toBe(302)
    expect(away.headers.get('location')).toBe('/admin/password')
    expect(await client.page('/admin')).toContain('href="/admin/password"')
    const changed = await client.post('/admin/password', { currentPassword: PASSWORD, newPassword: 'an admin passphrase here' })
    expect(changed.status).toBe(302)
    expect((await client.get('/admin/users')).status).toBe(200)
    // Before the second factor, the admin form is not reachable.
    const halfway = await new PortalClient(stack.url)
    await halfway.logIn(admin.email, 'an admin passphrase here')
    const refused = await halfway.post('/admin/password', { currentPassword: 'an admin passphrase here', newPassword: 'one more admin passphrase' })
    expect(refused.status).toBe(302)
    expect(refused.headers.get('location')).toMatch(/^\/admin\/second-factor/)
  })
})

describe('the password rule', () => {
  it('refuses common passwords at sign-up and at reset, with the reason on the field', async () => {
    const client = new PortalClient(stack.url)
    const email = newEmail()
    for (const password of ['password123', 'qwertyuiop', 'iloveyou2020']) {
      const refused = await client.post('/signup', { role: 'member', email, password, displayName: 'Pat Doe' })
      expect(refused.status, password).toBe(400)
      expect(await refused.text()).toContain('too easy to guess')
    }
    expect(await stack.db.user.count({ where: { email } })).toBe(0)

    const { email: memberEmail } = await member()
    await new PortalClient(stack.url).post('/forgot-password', { email: memberEmail })
    const token = new URL(await latestMailLink(stack.db, memberEmail, 'password_reset')).searchParams.get('token')!
    const reset = new PortalClient(stack.url)
    const weak = await reset.post('/reset-password', { token, password: 'sunshine1' })
    expect(weak.status).toBe(400)
    expect(await weak.text()).toContain('too easy to guess')
    // The link was not spent by the refusal.
    expect((await reset.post('/reset-password', { token, password: 'a sturdier passphrase' })).status).toBe(302)
  })
})

describe('secrets at rest', () => {
  it('keeps TOTP secrets sealed and recovery codes keyed, and seals a secret stored in clear on its first use', async () => {
    const admin = await newUser(stack.db, 'admin')
    const client = await signedIn(stack.url, admin.email)
    const enrolment = await client.page('/admin/second-factor')
    const shown = /data-testid="totp-secret">([A-Z2-7]+)</.exec(enrolment)![1]!
    const stored = await stack.db.adminSecondFactor.findUniqueOrThrow({ where: { userId: admin.id } })
    expect(stored.secret).toMatch(/^v1\./)
    expect(stored.secret).not.toContain(shown)
    const code = totpFor(shown, 'x', 'perminute').generate()
    const enrolled = await client.post('/admin/second-factor', { code })
    const codes = [...(await enrolled.text()).matchAll(/<code>([0-9a-f]{5}-[0-9a-f]{5})<\/code>/g)].map((m) => m[1]!)
    expect(codes).toHaveLength(10)
    const hashes = (await stack.db.adminRecoveryCode.findMany({ where: { userId: admin.id } })).map((r) => r.codeHash)
    for (const recovery of codes) expect(hashes).not.toContain(createHash('sha256').update(recovery.replace('-', '')).digest('hex'))

    // A secret written before secrets were sealed: it still works, and is sealed the first time it is read.
    const legacy = new OTPAuth.Secret({ size: 20 }).base32
    await stack.db.adminSecondFactor.update({ where: { userId: admin.id }, data: { secret: legacy, lastUsedStep: null } })
    const later = await signedIn(stack.url, admin.email)
    const passed = await later.post('/admin/second-factor', { code: totpFor(legacy, 'x', 'perminute').generate() })
    expect(passed.status).toBe(302)
    const sealed = await stack.db.adminSecondFactor.findUniqueOrThrow({ where: { userId: admin.id } })
    expect(sealed.secret).toMatch(/^v1\./)
    expect(sealed.secret).not.toContain(legacy)
  })

  it('hands out new recovery codes at the next pass when none is left (the plain-hash ones are dropped by the migration)', async () => {
    const admin = await newUser(stack.db, 'admin')
    await signedInAdmin(stack.url, stack.db, admin)
    await stack.db.adminRecoveryCode.deleteMany({ where: { userId: admin.id } })
    const later = await signedIn(stack.url, admin.email)
    const passed = await later.post('/admin/second-factor', { code: await totpCode(stack.db, admin.id, 1) })
    expect(passed.status).toBe(200)
    expect([...(await passed.text()).matchAll(/<code>([0-9a-f]{5}-[0-9a-f]{5})<\/code>/g)]).toHaveLength(10)
    expect(await stack.db.adminRecoveryCode.count({ where: { userId: admin.id, usedAt: null } })).toBe(10)
  })
})

describe('one-time links in the mail outbox', () => {
  // A database and web server of their own: the dispatcher sends whatever is due, and other files' mail must stay put.
  let scratch: ScratchDatabase
  let mailStack: WebStack
  let wire: MailgunWire
  const API_KEY = 'key-redaction-test'

  beforeAll(async () => {
    scratch = await createScratchDatabase('mail_links', { migrated: true })
    wire = await startMailgunWire({ apiKey: API_KEY })
    mailStack = await startWebStack({
      env: { DATABASE_URL: scratch.url, MAILGUN_API_KEY: API_KEY, MAILGUN_DOMAIN: 'mg.perminute.test', MAILGUN_URL: wire.url },
      worker: false,
    })
  }, 180_000)

  afterAll(async () => {
    await mailStack?.stop()
    await wire?.close()
    await scratch?.drop()
  }, 60_000)

  it('removes a reset link from the stored mail once it is sent; the link itself still works', async () => {
    const admin = await newUser(mailStack.db, 'member')
    const browser = new PortalClient(mailStack.url)
    expect((await browser.post('/forgot-password', { email: admin.email })).status).toBe(200)
    const dispatcher = createMailDispatcher({
      db: mailStack.db,
      transport: mailgunTransport({ apiKey: API_KEY, domain: 'mg.perminute.test', url: wire.url }),
      from: mailStack.config.MAIL_FROM,
      pollMs: 60_000,
    })
    await dispatcher.deliverDue()
    const delivered = wire.received.find((message) => message.fields.to?.[0] === admin.email && /reset/i.test(message.fields.subject?.[0] ?? ''))
    const link = /https?:\/\/\S+token=([A-Za-z0-9_-]{43})/.exec(delivered!.fields.text![0]!)
    expect(link).not.toBeNull()
    const token = link![1]!

    // Whoever reads the outbox now (a backup, an admin) finds no working link.
    const row = await mailStack.db.mailMessage.findFirstOrThrow({ where: { toAddress: admin.email, template: 'password_reset' } })
    expect(row.status).toBe('sent')
    expect(row.textBody).not.toContain(token)
    expect(row.htmlBody ?? '').not.toContain(token)
    expect(row.textBody).toContain('token=removed')
    expect((await browser.post('/reset-password', { token, password: 'a fresh passphrase now' })).status).toBe(302)
  })

  it('in production, where no one reads stored mail, removes links from mail kept without a provider', async () => {
    const to = `stored-${randomUUID().slice(0, 8)}@example.test`
    await mailStack.db.$transaction((tx) =>
      enqueueMail(tx, { to, subject: 'Confirm', text: 'Open http://x.test/verify-email?token=abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ', html: '<a href="http://x.test/verify-email?token=abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ">x</a>', template: 'verify_email' }),
    )
    // Other pending mail of this database is sent first, so only this one is left for the provider-less pass.
    await createMailDispatcher({ db: mailStack.db, transport: mailgunTransport({ apiKey: API_KEY, domain: 'mg.perminute.test', url: wire.url }), from: 'x <x@x.test>', pollMs: 60_000 }).deliverDue()
    await mailStack.db.mailMessage.updateMany({ where: { toAddress: to }, data: { status: 'pending' } })
    await createMailDispatcher({ db: mailStack.db, transport: null, from: 'x <x@x.test>', pollMs: 60_000, redactStored: true }).deliverDue()
    const row = await mailStack.db.mailMessage.findFirstOrThrow({ where: { toAddress: to } })
    expect(row.status).toBe('stored')
    expect(row.textBody).toBe('Open http://x.test/verify-email?token=removed')
    expect(row.htmlBody).toBe('<a href="http://x.test/verify-email?token=removed">x</a>')
  })
})

import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createUser } from '../../activities/identity/users.js'
import {
  MAX_FAILURES_PER_ACCOUNT,
  MAX_FAILURES_PER_ADDRESS,
  MAX_MAIL_REQUESTS_PER_ADDRESS,
  MAX_MAILS_PER_RECIPIENT,
} from '../../web-remix/app/auth/throttle.server.js'
import { latestMailLink, ownAddress, PortalClient } from '../support/portal-client.js'
import { startWebStack, stopAfterLedgerCheck, type WebStack } from '../support/web-server.js'

// Accounts and sessions over HTTP against the real web server and database: what a browser would send, and what an
// attacker could. The server trusts X-Forwarded-For from loopback (TRUST_PROXY), so that each client comes from an
// address of its own and the throttles per address count only what that test sends.

let stack: WebStack
beforeAll(async () => {
  stack = await startWebStack({ worker: false, env: { TRUST_PROXY: 'loopback' } })
})
afterAll(() => stopAfterLedgerCheck(stack))

const newEmail = () => `person-${randomUUID().slice(0, 8)}@example.test`
/** A browser of its own, on an address of its own (or the one given, for several clients behind one address). */
const newClient = (address: Record<string, string> = ownAddress()) => new PortalClient(stack.url, address)

async function signUp(client: PortalClient, email: string, role: 'member' | 'operator' = 'member') {
  return client.post('/signup', { role, email, password: 'a good password', displayName: 'Pat Doe' })
}

/** Signs up and logs in, as a new member does once the mail has come. */
async function signedUp(client: PortalClient, email: string, role: 'member' | 'operator' = 'member') {
  const response = await signUp(client, email, role)
  expect(response.status, `sign-up of ${email}`).toBe(200)
  await client.logIn(email, 'a good password')
}

/** What a page says to the person reading it: the text of its <main>, without markup. */
function mainText(html: string): string {
  const main = /<main[^>]*>([\s\S]*?)<\/main>/.exec(html)?.[1] ?? html
  return main.replace(/<!--[\s\S]*?-->/g, '').replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim()
}

describe('sign-up and e-mail verification', () => {
  it('creates the member with a wallet, says to check the mail, and mails a confirmation link that works once', async () => {
    const client = newClient()
    const email = newEmail()
    const response = await signUp(client, email)
    expect(response.status).toBe(200)
    expect(mainText(await response.text())).toContain(`Check your mail We sent a mail to ${email}.`)
    // Nobody is signed in by a sign-up (the answer must be the same for an address that has an account).
    expect(client.cookie('pm_session')).toBeUndefined()
    const user = await stack.db.user.findUniqueOrThrow({ where: { email }, include: { webSessions: true } })
    expect(user.role).toBe('member')
    expect(user.passwordHash).toMatch(/^\$argon2id\$/)
    expect(user.emailVerifiedAt).toBeNull()
    expect(user.webSessions).toHaveLength(0)
    expect(await stack.db.account.count({ where: { ownerId: user.id, kind: 'member_wallet' } })).toBe(1)

    await client.logIn(email, 'a good password')
    expect(await client.page('/account')).toContain('(not confirmed yet)')
    const link = await latestMailLink(stack.db, email, 'verify_email')
    const verified = await client.page(new URL(link).pathname + new URL(link).search)
    expect(verified).toContain('Your e-mail address is confirmed.')
    expect((await stack.db.user.findUniqueOrThrow({ where: { email } })).emailVerifiedAt).not.toBeNull()
    expect(await client.page(new URL(link).pathname + new URL(link).search)).toContain('invalid, used or expired')
  })

  it('lets a member turn the low-balance e-mail off and on again, only with a CSRF token', async () => {
    const client = newClient()
    const email = newEmail()
    await signedUp(client, email)
    const wanted = async () => (await stack.db.user.findUniqueOrThrow({ where: { email } })).lowBalanceMail
    expect(await wanted()).toBe(true)
    expect(await client.page('/account')).toMatch(/name="lowBalanceMail"[^>]*checked/)
    expect((await client.post('/account', { intent: 'low-balance-mail' }, { csrf: false })).status).toBe(403)
    expect(await wanted()).toBe(true)
    // An unticked checkbox is absent from the form: off.
    const off = await client.post('/account', { intent: 'low-balance-mail' })
    expect(off.status).toBe(200)
    expect(await off.text()).toContain('No more low-balance e-mails')
    expect(await wanted()).toBe(false)
    await client.post('/account', { intent: 'low-balance-mail', lowBalanceMail: 'on' })
    expect(await wanted()).toBe(true)
  })

  it('sets httpOnly, SameSite=Lax cookies without Secure in local development', async () => {
    const client = newClient()
    const email = newEmail()
    await signUp(client, email)
    const response = await client.post('/login', { email, password: 'a good password' })
    const session = response.headers.getSetCookie().find((line) => line.startsWith('pm_session='))
    expect(session).toMatch(/HttpOnly/i)
    expect(session).toMatch(/SameSite=Lax/i)
    expect(session).not.toMatch(/Secure/i)
  })

  it('answers a taken address exactly like a new one, and mails its owner instead of saying so', async () => {
    const owner = newEmail()
    await signUp(newClient(), owner)
    const attacker = newClient()
    const fresh = newEmail()
    const [taken, free] = [await signUp(attacker, owner), await signUp(attacker, fresh)]
    expect([taken.status, free.status]).toEqual([200, 200])
    const [takenText, freeText] = [mainText(await taken.text()), mainText(await free.text())]
    expect(takenText).not.toContain('already has an account')
    expect(takenText.replaceAll(owner, 'ADDRESS')).toBe(freeText.replaceAll(fresh, 'ADDRESS'))
    expect([taken.headers.getSetCookie().some((c) => c.startsWith('pm_session=')), free.headers.getSetCookie().some((c) => c.startsWith('pm_session='))]).toEqual([false, false])
    // One account still, whose owner hears of the attempt; the new address got its confirmation link.
    expect(await stack.db.user.count({ where: { email: owner } })).toBe(1)
    const told = await stack.db.mailMessage.findMany({ where: { toAddress: owner }, orderBy: { id: 'asc' } })
    expect(told.map((mail) => mail.template)).toEqual(['verify_email', 'sign_up_existing_address'])
    expect(told[1]!.textBody).toMatch(/already has one\. No new account was made/)
    expect(told[1]!.textBody).toContain(`${stack.url}/login`)
    expect(told[1]!.textBody).toContain(`${stack.url}/forgot-password`)
    expect(await latestMailLink(stack.db, fresh, 'verify_email')).toContain('/verify-email?token=')
  })

  it('refuses a short password and a missing name with a message on the field', async () => {
    const other = newClient()
    const short = await other.post('/signup', { role: 'member', email: newEmail(), password: 'short', displayName: 'X' })
    expect(short.status).toBe(400)
    expect(await short.text()).toContain('at least 8 characters')
    const nameless = await other.post('/signup', { role: 'member', email: newEmail(), password: 'long enough', displayName: '  ' })
    expect(nameless.status).toBe(400)
    expect(await nameless.text()).toContain('display name is required')
  })

  it('signs operators up with earnings and a starting price', async () => {
    const client = newClient()
    const email = newEmail()
    expect((await signUp(client, email, 'operator')).status).toBe(200)
    const user = await stack.db.user.findUniqueOrThrow({ where: { email }, include: { operator: true } })
    expect(user.role).toBe('operator')
    expect(user.operator?.ratePerMinuteCents).toBeGreaterThan(0)
    expect(await stack.db.account.count({ where: { ownerId: user.id, kind: 'operator_earnings' } })).toBe(1)
  })
})

describe('log-in and sessions', () => {
  it('rotates the session id at log-in and ends the session at log-out', async () => {
    const client = newClient()
    const email = newEmail()
    await signedUp(client, email)
    const atFirstLogIn = client.cookie('pm_session')
    await client.logIn(email, 'a good password')
    const atLogIn = client.cookie('pm_session')
    expect(atLogIn).toBeDefined()
    expect(atLogIn).not.toBe(atFirstLogIn)

    const logout = await client.post('/logout', {})
    expect(logout.status).toBe(302)
    expect(client.cookie('pm_session')).toBeUndefined()
    // The old cookie, replayed by someone who copied it, opens nothing: the session row is gone.
    const replay = newClient()
    const account = await fetch(new URL('/account', stack.url), { headers: { cookie: `pm_session=${atLogIn}` }, redirect: 'manual' })
    expect(account.status).toBe(302)
    expect(account.headers.get('location')).toMatch(/^\/login\?redirectTo=/)
    expect(replay.cookie('pm_session')).toBeUndefined()
  })

  it('says the same for an unknown address and a wrong password', async () => {
    const client = newClient()
    const email = newEmail()
    await signUp(client, email)
    const fresh = newClient()
    const wrong = await fresh.post('/login', { email, password: 'not the password' })
    const unknown = await fresh.post('/login', { email: newEmail(), password: 'not the password' })
    expect(wrong.status).toBe(401)
    expect(unknown.status).toBe(401)
    expect(await wrong.text()).toContain('Wrong e-mail address or password.')
    expect(await unknown.text()).toContain('Wrong e-mail address or password.')
  })

  it('throttles an account after repeated failures with a clear message, even with the right password', async () => {
    const client = newClient()
    const email = newEmail()
    await signUp(client, email)
    const attacker = newClient()
    for (let i = 0; i < MAX_FAILURES_PER_ACCOUNT; i++) {
      expect((await attacker.post('/login', { email, password: `guess ${i}` })).status).toBe(401)
    }
    const blocked = await attacker.post('/login', { email, password: 'a good password' })
    expect(blocked.status).toBe(429)
    expect(blocked.headers.get('retry-after')).not.toBeNull()
    expect(await blocked.text()).toMatch(/Too many failed log-ins for this account\. Try again in 1[45] minutes/)
    // Another account from the same address is not locked by it.
    const otherEmail = newEmail()
    await signUp(newClient(), otherEmail)
    expect((await attacker.post('/login', { email: otherEmail, password: 'a good password' })).status).toBe(302)
  })

  it('refuses a disabled account', async () => {
    const email = newEmail()
    const user = await createUser(stack.db, { role: 'member', email, password: 'a good password', displayName: 'Gone' })
    await stack.db.user.update({ where: { id: user.id }, data: { status: 'disabled' } })
    const response = await newClient().post('/login', { email, password: 'a good password' })
    expect(response.status).toBe(403)
    expect(await response.text()).toContain('This account is disabled')
  })

  it('sends the member back where they were going, but never to another site', async () => {
    const email = newEmail()
    await signUp(newClient(), email)
    const client = newClient()
    const here = await client.post('/login', { email, password: 'a good password', redirectTo: '/wallet' })
    expect(here.headers.get('location')).toBe('/wallet')
    for (const target of ['https://evil.example/', '//evil.example/', '/\\evil.example']) {
      const elsewhere = await newClient().post('/login', { email, password: 'a good password', redirectTo: target })
      expect(elsewhere.headers.get('location')).toBe('/account')
    }
  })

  // Browsers drop tabs and newlines from URLs and read a backslash as a slash: each of these is another origin once
  // the browser has read it, or one once dot segments are resolved.
  const hostileTargets = [
    '/\t/evil.example',
    '/\n/evil.example',
    '/\r\n/evil.example',
    '\t//evil.example',
    '/%09/evil.example',
    '/%0a/evil.example',
    '/%5C/evil.example',
    '/%5c%5cevil.example',
    '/\\/evil.example',
    '/.//evil.example',
    '/..//evil.example',
    '/./\t/evil.example',
    ' //evil.example',
    'javascript:alert(1)',
    'http:/evil.example',
    '/%E0%A4%A',
  ]

  it('never sends the browser to another origin after log-in, however the target is disguised', async () => {
    const email = newEmail()
    await signUp(newClient(), email)
    for (const target of hostileTargets) {
      const client = newClient()
      const response = await client.post('/login', { email, password: 'a good password', redirectTo: target })
      expect(response.status, JSON.stringify(target)).toBe(302)
      expect(response.headers.get('location'), JSON.stringify(target)).toBe('/account')
      // Signed in already, the log-in page forwards at once: by the same rule.
      const again = await client.get(`/login?redirectTo=${encodeURIComponent(target)}`)
      expect(again.status, JSON.stringify(target)).toBe(302)
      expect(again.headers.get('location'), JSON.stringify(target)).toBe('/account')
    }
    // The report's own link, exactly as it was sent; and anonymous visitors get the page, not an error.
    const signedIn = newClient()
    await signedIn.logIn(email, 'a good password')
    const reported = await signedIn.get('/login?redirectTo=/%09/evil.example')
    expect(reported.headers.get('location')).toBe('/account')
    const newline = await newClient().get('/login?redirectTo=/%0a/evil.example')
    expect(newline.status).toBe(200)
    // Paths on this site still work, normalised.
    for (const [target, expected] of [
      ['/wallet?tab=history#latest', '/wallet?tab=history#latest'],
      ['/calls/../wallet', '/wallet'],
      ['/operators/a b', '/operators/a%20b'],
    ] as const) {
      const response = await newClient().post('/login', { email, password: 'a good password', redirectTo: target })
      expect(response.headers.get('location'), target).toBe(expected)
    }
  })

  it('counts 40 wrong passwords sent at once one by one: at most the limit get through', async () => {
    const email = newEmail()
    await signUp(newClient(), email)
    const attacker = newClient()
    const csrf = await attacker.csrfToken()
    const answers = await Promise.all(
      Array.from({ length: 40 }, (_, i) => attacker.post('/login', { email, password: `guess ${i}`, csrf }).then((r) => r.status)),
    )
    expect(answers.filter((status) => status === 401)).toHaveLength(MAX_FAILURES_PER_ACCOUNT)
    expect(answers.filter((status) => status === 429)).toHaveLength(40 - MAX_FAILURES_PER_ACCOUNT)
    expect(await stack.db.loginAttempt.count({ where: { email } })).toBe(MAX_FAILURES_PER_ACCOUNT)
  })

  it('counts 40 wrong log-ins at once from one address, each on another account: at most the address limit', async () => {
    const attacker = newClient()
    const csrf = await attacker.csrfToken()
    const answers = await Promise.all(
      Array.from({ length: 40 }, () => attacker.post('/login', { email: newEmail(), password: 'a guess', csrf }).then(async (r) => [r.status, await r.text()] as const)),
    )
    expect(answers.filter(([status]) => status === 401)).toHaveLength(MAX_FAILURES_PER_ADDRESS)
    const refused = answers.filter(([status]) => status === 429)
    expect(refused).toHaveLength(40 - MAX_FAILURES_PER_ADDRESS)
    expect(refused[0]![1]).toMatch(/Too many failed log-ins from your network\. Try again in 1[45] minutes\./)
  })

  it('redirects anonymous visitors of a private page to log-in, and back after it', async () => {
    const client = newClient()
    const response = await client.get('/account')
    expect(response.status).toBe(302)
    expect(response.headers.get('location')).toBe('/login?redirectTo=%2Faccount')
  })
})

describe('CSRF', () => {
  it('refuses a state-changing form without the token, with a wrong token, or from another origin', async () => {
    const email = newEmail()
    const client = newClient()
    await signedUp(client, email)
    const missing = await client.post('/logout', {}, { csrf: false })
    expect(missing.status).toBe(403)
    const wrong = await client.post('/logout', { csrf: 'x'.repeat(43) })
    expect(wrong.status).toBe(403)
    const foreign = await client.post('/logout', {}, { headers: { origin: 'https://evil.example' } })
    expect(foreign.status).toBe(403)
    // Still signed in after all three.
    expect((await client.get('/account')).status).toBe(200)
    const anonymousSignup = await newClient().post(
      '/signup',
      { role: 'member', email: newEmail(), password: 'a good password', displayName: 'X' },
      { csrf: false },
    )
    expect(anonymousSignup.status).toBe(403)
  })
})

describe('password reset', () => {
  it('mails a one-hour, single-use link; the new password works and every other session ends', async () => {
    const email = newEmail()
    const first = newClient()
    await signedUp(first, email)
    expect((await first.get('/account')).status).toBe(200)

    const client = newClient()
    const asked = await client.post('/forgot-password', { email })
    expect(await asked.text()).toContain('If that address has an account')
    const link = new URL(await latestMailLink(stack.db, email, 'password_reset'))
    const token = link.searchParams.get('token')!
    const reset = await client.post('/reset-password', { token, password: 'a brand new password' })
    expect(reset.status).toBe(302)
    expect(reset.headers.get('location')).toBe('/login?notice=password-reset')

    expect((await first.get('/account')).status).toBe(302)
    expect((await newClient().post('/login', { email, password: 'a good password' })).status).toBe(401)
    await newClient().logIn(email, 'a brand new password')
    const again = await client.post('/reset-password', { token, password: 'yet another password' })
    expect(again.status).toBe(400)
    expect(await again.text()).toContain('invalid, used or expired')
    expect(await stack.db.mailMessage.count({ where: { toAddress: email, template: 'password_changed' } })).toBe(1)
  })

  it('answers the same for an address without an account, and mails nothing', async () => {
    const email = newEmail()
    const response = await newClient().post('/forgot-password', { email })
    expect(response.status).toBe(200)
    expect(await response.text()).toContain('If that address has an account')
    expect(await stack.db.mailMessage.count({ where: { toAddress: email } })).toBe(0)
  })
})

describe('forms that send mail', () => {
  const resets = (email: string) => stack.db.mailMessage.count({ where: { toAddress: email, template: 'password_reset' } })

  it('mail one address at most a few times in 15 minutes, 15 requests at once notwithstanding, and say how long to wait', async () => {
    const email = newEmail()
    await signUp(newClient(), email)
    const attacker = newClient()
    const csrf = await attacker.csrfToken()
    const answers = await Promise.all(
      Array.from({ length: 15 }, () => attacker.post('/forgot-password', { email, csrf }).then(async (r) => ({ status: r.status, retryAfter: r.headers.get('retry-after'), text: await r.text() }))),
    )
    expect(answers.filter((a) => a.status === 200)).toHaveLength(MAX_MAILS_PER_RECIPIENT - 1)
    const refused = answers.filter((a) => a.status === 429)
    expect(refused).toHaveLength(15 - (MAX_MAILS_PER_RECIPIENT - 1))
    expect(Number(refused[0]!.retryAfter)).toBeGreaterThan(14 * 60)
    expect(mainText(refused[0]!.text)).toMatch(/Too many requests for this e-mail address\. Try again in 1[45] minutes; meanwhile, look for our mail in your spam folder\./)
    // The sign-up's confirmation was the first mail to it.
    expect(await resets(email)).toBe(MAX_MAILS_PER_RECIPIENT - 1)

    // An address without an account is answered the same way, so the limit tells nothing about accounts.
    const unknown = newEmail()
    const statuses = []
    for (let i = 0; i <= MAX_MAILS_PER_RECIPIENT; i++) statuses.push((await attacker.post('/forgot-password', { email: unknown, csrf })).status)
    expect(statuses).toEqual([...Array(MAX_MAILS_PER_RECIPIENT).fill(200), 429])
  })

  it('take a limited number of requests from one address, whatever addresses they name', async () => {
    const attacker = newClient()
    const csrf = await attacker.csrfToken()
    const answers = await Promise.all(Array.from({ length: 15 }, () => attacker.post('/forgot-password', { email: newEmail(), csrf }).then(async (r) => [r.status, await r.text()] as const)))
    expect(answers.filter(([status]) => status === 200)).toHaveLength(MAX_MAIL_REQUESTS_PER_ADDRESS)
    const refused = answers.filter(([status]) => status === 429)
    expect(refused).toHaveLength(15 - MAX_MAIL_REQUESTS_PER_ADDRESS)
    expect(mainText(refused[0]![1])).toMatch(/Too many requests from your network\. Try again in 1[45] minutes\./)
    // The same address's sign-ups share the limit.
    const signUpAnswer = await signUp(attacker, newEmail())
    expect(signUpAnswer.status).toBe(429)
    expect(signUpAnswer.headers.get('retry-after')).not.toBeNull()
    expect(mainText(await signUpAnswer.text())).toMatch(/Too many requests from your network\. Try again in 1[45] minutes\./)
  })

  it('throttle sign-ups per address: 15 at once create at most the limit of accounts', async () => {
    const attacker = newClient()
    const csrf = await attacker.csrfToken()
    const emails = Array.from({ length: 15 }, newEmail)
    const answers = await Promise.all(emails.map((email) => attacker.post('/signup', { role: 'member', email, password: 'a good password', displayName: 'Pat', csrf }).then((r) => r.status)))
    expect(answers.filter((status) => status === 200)).toHaveLength(MAX_MAIL_REQUESTS_PER_ADDRESS)
    expect(answers.filter((status) => status === 429)).toHaveLength(15 - MAX_MAIL_REQUESTS_PER_ADDRESS)
    expect(await stack.db.user.count({ where: { email: { in: emails } } })).toBe(MAX_MAIL_REQUESTS_PER_ADDRESS)
  })

  it('throttle mails to the owner of a taken address like any other sign-up', async () => {
    const owner = newEmail()
    await signUp(newClient(), owner)
    const statuses = []
    for (let i = 0; i < MAX_MAILS_PER_RECIPIENT; i++) statuses.push((await signUp(newClient(), owner)).status)
    expect(statuses).toEqual([...Array(MAX_MAILS_PER_RECIPIENT - 1).fill(200), 429])
    expect(await stack.db.mailMessage.count({ where: { toAddress: owner, template: 'sign_up_existing_address' } })).toBe(MAX_MAILS_PER_RECIPIENT - 1)
  })

  it('throttle new confirmation links, and the account page says how long to wait', async () => {
    const client = newClient()
    const email = newEmail()
    await signedUp(client, email)
    const answers = []
    for (let i = 0; i < MAX_MAILS_PER_RECIPIENT; i++) {
      const response = await client.post('/account', { intent: 'resend-verification' })
      answers.push({ status: response.status, retryAfter: response.headers.get('retry-after'), text: mainText(await response.text()) })
    }
    expect(answers.map((a) => a.status)).toEqual([...Array(MAX_MAILS_PER_RECIPIENT - 1).fill(200), 429])
    expect(answers[0]!.text).toContain(`A new confirmation link is on its way to ${email}.`)
    expect(answers.at(-1)!.retryAfter).not.toBeNull()
    expect(answers.at(-1)!.text).toMatch(/Too many requests for this e-mail address\. Try again in 1[45] minutes; meanwhile, look for our mail in your spam folder\./)
    expect(await stack.db.mailMessage.count({ where: { toAddress: email, template: 'verify_email' } })).toBe(MAX_MAILS_PER_RECIPIENT)
  })
})

describe('the dev mailbox', () => {
  it('lists the outbox outside production', async () => {
    const email = newEmail()
    await signUp(newClient(), email)
    const html = await newClient().page(`/dev/mailbox?to=${encodeURIComponent(email)}`)
    expect(html).toContain('Confirm your e-mail address')
  })
})

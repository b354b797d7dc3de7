import { randomUUID } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { accountIds } from '../../activities/ledger/accounts.js'
import { accountBalance } from '../../activities/ledger/balances.js'
import { createTransfer } from '../../activities/ledger/transfers.js'
import { parseAllowList } from '../../web-remix/app/backoffice/address-allow-list.js'
import { forceEndCallWorkflow } from '../../temporal/calls.js'
import { getTemporalClient } from '../../temporal/client.js'
import { callInput, waitFor, startAndConnect } from '../support/call-harness.js'
import { fundMember } from '../support/db.js'
import { startWebStack, stopAfterLedgerCheck, type WebStack } from '../support/web-server.js'
import { MAX_SECOND_FACTOR_FAILURES } from '../../web-remix/app/auth/throttle.server.js'
import { newUser, PASSWORD, signedIn, signedInAdmin, totpCode } from './backoffice-users.js'
import { call } from './plugin-client.js'

// The back office over HTTP against the real web server, worker and database. The stack trusts X-Forwarded-For from
// loopback (TRUST_PROXY), so a request can come "from" an address off the admin allow-list.

let stack: WebStack
let pluginArtifacts: string
beforeAll(async () => {
  pluginArtifacts = await mkdtemp(join(tmpdir(), 'perminute-plugin-out-'))
  stack = await startWebStack({ env: { TRUST_PROXY: 'loopback', PAYOUT_MINIMUM_CENTS: '1000', EARNINGS_CLEARING_HOURS: '0', PLUGIN_ARTIFACTS_DIR: pluginArtifacts } })
})
afterAll(async () => {
  await stopAfterLedgerCheck(stack)
  await rm(pluginArtifacts, { recursive: true, force: true })
})

const OUTSIDE = { 'x-forwarded-for': '203.0.113.9' }

async function earn(accountId: string, cents: number) {
  await stack.db.$transaction((tx) =>
    createTransfer(tx, { id: `test-earning:${randomUUID()}`, debitAccountId: accountIds.adjustments, creditAccountId: accountId, amountCents: cents, code: 'test_earning', pending: false }),
  )
}

const formField = (html: string, name: string) => new RegExp(`name="${name}" value="([^"]+)"`).exec(html)?.[1]

describe('the admin allow-list', () => {
  it('matches IPv4, IPv6 and IPv4-mapped addresses against CIDRs', () => {
    const allowed = parseAllowList('127.0.0.0/8, ::1/128, 10.1.0.0/16')
    expect(allowed('127.0.0.1')).toBe(true)
    expect(allowed('::ffff:127.0.0.1')).toBe(true)
    expect(allowed('::1')).toBe(true)
    expect(allowed('10.1.200.3')).toBe(true)
    expect(allowed('10.2.0.1')).toBe(false)
    expect(allowed('203.0.113.9')).toBe(false)
    expect(allowed(null)).toBe(false)
    expect(() => parseAllowList('not-an-address')).toThrow(/ADMIN_ALLOWED_CIDRS/)
  })

  it('refuses a fully signed-in admin from an address off the list with 403, pages and actions alike', async () => {
    const admin = await newUser(stack.db, 'admin')
    const { client } = await signedInAdmin(stack.url, stack.db, admin)
    expect((await client.get('/admin/users')).status).toBe(200)
    for (const path of ['/admin', '/admin/users', '/admin/payouts', '/admin/settings', '/admin/second-factor']) {
      expect((await client.get(path, OUTSIDE)).status, path).toBe(403)
    }
    expect((await client.post('/admin/ledger', {}, { headers: OUTSIDE })).status).toBe(403)
    // Anyone from outside is refused before any log-in page is offered.
    const anonymous = await fetch(`${stack.url}/admin`, { headers: OUTSIDE, redirect: 'manual' })
    expect(anonymous.status).toBe(403)
  })
})

describe("the admins' second factor", () => {
  it('is enrolled on first log-in, accepts a code once, and takes each recovery code once', async () => {
    const admin = await newUser(stack.db, 'admin')
    const { recoveryCodes } = await signedInAdmin(stack.url, stack.db, admin)
    expect((await stack.db.adminSecondFactor.findUniqueOrThrow({ where: { userId: admin.id } })).enrolledAt).not.toBeNull()
    expect(await stack.db.auditLogEntry.count({ where: { actorId: admin.id, action: 'admin.second_factor.enrol' } })).toBe(1)

    // A new session: a wrong code and a replayed code are refused, the secret is no longer shown.
    const second = await signedIn(stack.url, admin.email)
    const page = await second.page('/admin/second-factor')
    expect(page).toContain('Enter your verification code')
    expect(page).not.toContain('data-testid="totp-secret"')
    expect((await second.post('/admin/second-factor', { code: '000000' })).status).toBe(400)
    expect((await second.post('/admin/second-factor', { code: await totpCode(stack.db, admin.id) })).status).toBe(400)
    expect((await second.get('/admin')).status).toBe(302)
    const passed = await second.post('/admin/second-factor', { code: await totpCode(stack.db, admin.id, 1), redirectTo: '/admin/users' })
    expect(passed.status).toBe(302)
    expect(passed.headers.get('location')).toBe('/admin/users')
    expect((await second.get('/admin/users')).status).toBe(200)

    const third = await signedIn(stack.url, admin.email)
    expect((await third.post('/admin/second-factor', { recoveryCode: recoveryCodes[0]! })).status).toBe(302)
    expect((await third.get('/admin')).status).toBe(200)
    const fourth = await signedIn(stack.url, admin.email)
    expect((await fourth.post('/admin/second-factor', { recoveryCode: recoveryCodes[0]! })).status).toBe(400)
  })
})

describe('wrong second-factor codes', () => {
  it('are limited to 5 per admin in 15 minutes; then even a right code waits, with Retry-After', async () => {
    const admin = await newUser(stack.db, 'admin')
    const { recoveryCodes } = await signedInAdmin(stack.url, stack.db, admin)
    const session = await signedIn(stack.url, admin.email)
    // From an allowed address of its own, so these failures count against no other test's address.
    const from = { 'x-forwarded-for': '127.0.0.77' }
    for (let attempt = 1; attempt <= 5; attempt++) {
      expect((await session.post('/admin/second-factor', { code: '000000' }, { headers: from })).status, `attempt ${attempt}`).toBe(400)
    }
    const refused = await session.post('/admin/second-factor', { code: await totpCode(stack.db, admin.id, 1) }, { headers: from })
    expect(refused.status).toBe(429)
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(14 * 60)
    expect(Number(refused.headers.get('retry-after'))).toBeLessThanOrEqual(15 * 60)
    expect(await refused.text()).toContain('Too many wrong codes. For your account&#x27;s safety, try again in 15 minutes.')
    expect((await session.post('/admin/second-factor', { recoveryCode: recoveryCodes[0]! }, { headers: from })).status).toBe(429)
    expect((await session.get('/admin', from)).status).toBe(302)
    // The refused attempts spent nothing: the recovery code still works once the window has passed.
    await stack.db.loginAttempt.updateMany({ where: { email: `second-factor:${admin.id}` }, data: { createdAt: new Date(Date.now() - 16 * 60_000) } })
    expect((await session.post('/admin/second-factor', { recoveryCode: recoveryCodes[0]! }, { headers: from })).status).toBe(302)
    // Another admin was never limited by it.
    const other = await newUser(stack.db, 'admin')
    await signedInAdmin(stack.url, stack.db, other)
  })

  it('are counted one by one when 40 come at once: at most 5 are checked, the rest wait', async () => {
    const admin = await newUser(stack.db, 'admin')
    await signedInAdmin(stack.url, stack.db, admin)
    const session = await signedIn(stack.url, admin.email)
    const from = { 'x-forwarded-for': '127.0.0.78' }
    const csrf = await session.csrfToken()
    // Wrong for certain: none of the codes the server would accept now.
    const valid = new Set(await Promise.all([-1, 0, 1, 2].map((step) => totpCode(stack.db, admin.id, step))))
    const wrong = Array.from({ length: 60 }, (_, i) => String(100000 + i)).filter((code) => !valid.has(code)).slice(0, 40)
    const answers = await Promise.all(
      wrong.map((code) => session.post('/admin/second-factor', { code, csrf }, { headers: from }).then((r) => r.status)),
    )
    expect(answers.filter((status) => status === 400)).toHaveLength(MAX_SECOND_FACTOR_FAILURES)
    expect(answers.filter((status) => status === 429)).toHaveLength(40 - MAX_SECOND_FACTOR_FAILURES)
    expect(await stack.db.loginAttempt.count({ where: { email: `second-factor:${admin.id}` } })).toBe(MAX_SECOND_FACTOR_FAILURES + 1)
  })
})

describe('after the second factor', () => {
  it('goes on only to a path on this site, however the target is disguised', async () => {
    const admin = await newUser(stack.db, 'admin')
    const { recoveryCodes } = await signedInAdmin(stack.url, stack.db, admin)
    for (const [i, target] of ['/\t/evil.example', '/%09/evil.example', '/\n/evil.example', '/.//evil.example', '/%5C/evil.example'].entries()) {
      const session = await signedIn(stack.url, admin.email)
      const passed = await session.post('/admin/second-factor', { recoveryCode: recoveryCodes[i]!, redirectTo: target })
      expect(passed.status, JSON.stringify(target)).toBe(302)
      expect(passed.headers.get('location'), JSON.stringify(target)).toBe('/admin')
      // Verified already, the page offers the way on: by the same rule.
      const page = await session.get(`/admin/second-factor?redirectTo=${encodeURIComponent(target)}`)
      expect(page.status, JSON.stringify(target)).toBe(200)
      expect(await page.text()).toMatch(/<a [^>]*href="\/admin"[^>]*>Continue to the admin portal/)
    }
    const session = await signedIn(stack.url, admin.email)
    const here = await session.post('/admin/second-factor', { recoveryCode: recoveryCodes[9]!, redirectTo: '/admin/users?q=a' })
    expect(here.headers.get('location')).toBe('/admin/users?q=a')
  })
})

describe('payouts through the portals', () => {
  it('an operator requests, an admin approves, the money leaves through payout clearing once', async () => {
    const operator = await newUser(stack.db, 'operator')
    await earn(accountIds.operatorEarnings(operator.id), 5_000)
    const client = await signedIn(stack.url, operator.email)
    const page = await client.page('/operator/payouts')
    expect(page).toContain('$50.00')
    const payoutId = formField(page, 'payoutId')!
    expect((await client.post('/operator/payouts', { intent: 'request-payout', payoutId, amount: '5.00' })).status).toBe(400)
    const requested = await client.post('/operator/payouts', { intent: 'request-payout', payoutId, amount: '30.00' })
    expect(requested.status).toBe(200)
    expect(await requested.text()).toContain('Payout of $30.00 requested')
    // The same form sent again asks for the same payout: nothing more is reserved.
    expect((await client.post('/operator/payouts', { intent: 'request-payout', payoutId, amount: '30.00' })).status).toBe(200)
    expect(await accountBalance(stack.db, accountIds.operatorEarnings(operator.id))).toMatchObject({ postedCents: 5_000, availableCents: 2_000 })

    const admin = await newUser(stack.db, 'admin')
    const { client: adminClient } = await signedInAdmin(stack.url, stack.db, admin)
    const queue = await adminClient.page('/admin/payouts')
    expect(queue).toContain(`data-payout-id="${payoutId}"`)
    expect(queue).toContain(`/namespaces/${stack.config.TEMPORAL_NAMESPACE}/workflows/payout-${payoutId}`)
    const approved = await adminClient.post('/admin/payouts', { intent: 'approve', payoutId })
    expect(approved.status).toBe(200)
    const paid = await waitFor(async () => (await stack.db.payout.findFirst({ where: { id: payoutId, status: 'paid' } })) ?? undefined, 20_000, 'payout paid')
    expect(paid.decidedBy).toBe(admin.id)
    expect(await accountBalance(stack.db, accountIds.operatorEarnings(operator.id))).toMatchObject({ postedCents: 2_000, availableCents: 2_000 })
    expect((await adminClient.post('/admin/payouts', { intent: 'approve', payoutId })).status).toBe(409)
    expect(await client.page('/operator/payouts')).toMatch(/paid/)
  })

  it('a rejection needs a reason and returns the money', async () => {
    const operator = await newUser(stack.db, 'operator')
    await earn(accountIds.operatorEarnings(operator.id), 2_000)
    const client = await signedIn(stack.url, operator.email)
    const payoutId = formField(await client.page('/operator/payouts'), 'payoutId')!
    expect((await client.post('/operator/payouts', { intent: 'request-payout', payoutId, amount: '20' })).status).toBe(200)
    const admin = await newUser(stack.db, 'admin')
    const { client: adminClient } = await signedInAdmin(stack.url, stack.db, admin)
    expect((await adminClient.post('/admin/payouts', { intent: 'reject', payoutId, reason: '' })).status).toBe(400)
    expect((await adminClient.post('/admin/payouts', { intent: 'reject', payoutId, reason: 'account under review' })).status).toBe(200)
    await waitFor(async () => (await stack.db.payout.findFirst({ where: { id: payoutId, status: 'rejected' } })) ?? undefined, 20_000, 'payout rejected')
    expect(await accountBalance(stack.db, accountIds.operatorEarnings(operator.id))).toMatchObject({ postedCents: 2_000, availableCents: 2_000 })
  })
})

describe('a company and its operators', () => {
  it('edits an operator’s price within the bounds, and the listing shows it', async () => {
    const company = await newUser(stack.db, 'company')
    const operator = await newUser(stack.db, 'operator', { companyId: company.companyId! })
    const client = await signedIn(stack.url, company.email)
    expect(await client.page('/company')).toContain(operator.displayName)
    const tooHigh = await client.post(`/company/operators/${operator.id}`, { intent: 'save-profile', headline: 'x', tags: '', price: '5000.00' })
    expect(tooHigh.status).toBe(400)
    const saved = await client.post(`/company/operators/${operator.id}`, { intent: 'save-profile', headline: 'Calm talks', tags: 'Calm, tarot, calm', price: '2.75' })
    expect(saved.status).toBe(200)
    const row = await stack.db.operator.findUniqueOrThrow({ where: { userId: operator.id } })
    expect(row).toMatchObject({ ratePerMinuteCents: 275, headline: 'Calm talks', tags: ['calm', 'tarot'] })
    expect(await (await fetch(`${stack.url}/?q=${encodeURIComponent(operator.displayName)}`)).text()).toContain('Calm talks')
    expect(await stack.db.auditLogEntry.count({ where: { actorId: company.id, action: 'operator.profile.update', subject: `user:${operator.id}` } })).toBe(1)
  })

  it('disables an operator mid-call: the call is ended and settled, the plugin is refused, the listing drops them', async () => {
    const company = await newUser(stack.db, 'company')
    const operator = await newUser(stack.db, 'operator', { companyId: company.companyId!, ratePerMinuteCents: 100 })
    const member = await newUser(stack.db, 'member')
    await fundMember(stack.db, member.id, 10_000)
    const signIn = await call(stack.url, '/api/plugin/v1/sessions', { json: { login: operator.email, password: PASSWORD } })
    expect(signIn.status).toBe(201)
    const token = signIn.body.token as string

    const temporal = await getTemporalClient({ address: stack.config.TEMPORAL_ADDRESS, namespace: stack.config.TEMPORAL_NAMESPACE })
    const input = await callInput(stack.db, stack.config, { memberId: member.id, operatorId: operator.id, ratePerMinuteCents: 100, companyId: company.companyId!, companyShareBps: 2_000 })
    expect((await startAndConnect(temporal, stack.config.TEMPORAL_TASK_QUEUE, input)).status).toBe('active')
    // Let it run into its second period, so there is something to settle.
    await waitFor(async () => ((await stack.db.call.findUniqueOrThrow({ where: { id: input.callId } })).heldPeriods >= 2 ? true : undefined), 20_000, 'two periods held')

    const client = await signedIn(stack.url, company.email)
    const disabled = await client.post(`/company/operators/${operator.id}`, { intent: 'disable' })
    expect(disabled.status).toBe(200)
    expect(await disabled.text()).toContain('call in progress was ended')
    const settled = await waitFor(async () => (await stack.db.call.findFirst({ where: { id: input.callId, status: 'settled' } })) ?? undefined, 20_000, 'call settled')
    expect(settled.endReason).toBe('operator_disabled')
    expect(Number(settled.chargedCents)).toBeGreaterThan(0)
    expect(Number(settled.companyShareCents)).toBeGreaterThan(0)

    expect((await call(stack.url, '/api/plugin/v1/presence', { token, json: { status: 'online' } })).status).toBe(401)
    expect((await call(stack.url, '/api/plugin/v1/sessions', { json: { login: operator.email, password: PASSWORD } })).status).toBe(403)
    // The listing searched for them by name (the shared test database lists many operators, over several pages).
    const listing = `${stack.url}/?q=${encodeURIComponent(operator.displayName)}`
    expect(await (await fetch(listing)).text()).not.toContain(`data-operator-id="${operator.id}"`)
    expect((await client.post(`/company/operators/${operator.id}`, { intent: 'enable' })).status).toBe(200)
    expect(await (await fetch(listing)).text()).toContain(`data-operator-id="${operator.id}"`)
  })
})

describe('platform settings', () => {
  it('refuses invalid values as a whole and changes nothing', async () => {
    const admin = await newUser(stack.db, 'admin')
    const { client } = await signedInAdmin(stack.url, stack.db, admin)
    const page = await client.page('/admin/settings')
    const fields = Object.fromEntries(
      ['commissionBps', 'defaultCompanyShareBps', 'priceMinCents', 'priceMaxCents', 'billingPeriodMs', 'graceMs', 'lowBalancePeriods', 'heartbeatTimeoutMs', 'payoutMinimumCents', 'earningsClearingHours'].map(
        (name) => [name, new RegExp(`name="${name}"[^>]*value="(\\d+)"`).exec(page)?.[1] ?? ''],
      ),
    )
    expect(fields.commissionBps).toBe(String(stack.config.PLATFORM_COMMISSION_BPS))
    const before = await stack.db.platformSetting.count()
    const bad = await client.post('/admin/settings', { ...fields, priceMinCents: '500', priceMaxCents: '100', commissionBps: '20000' })
    expect(bad.status).toBe(400)
    const html = await bad.text()
    expect(html).toContain('must not be below the lowest price')
    expect(html).toContain('between 0 and 10000')
    expect(await stack.db.platformSetting.count()).toBe(before)
    // Sending the values in force changes nothing and writes no audit entry.
    const same = await client.post('/admin/settings', fields)
    expect(await same.text()).toContain('Nothing changed.')
    expect(await stack.db.auditLogEntry.count({ where: { actorId: admin.id, action: 'settings.update' } })).toBe(0)
  })
})

describe('operators rate members after a call', () => {
  it('from the call history: once per call, only for a settled call with a billed minute, and shows the rating given', async () => {
    const operator = await newUser(stack.db, 'operator', { ratePerMinuteCents: 100 })
    const member = await newUser(stack.db, 'member')
    await fundMember(stack.db, member.id, 5_000)
    const temporal = await getTemporalClient({ address: stack.config.TEMPORAL_ADDRESS, namespace: stack.config.TEMPORAL_NAMESPACE })
    const input = await callInput(stack.db, stack.config, { memberId: member.id, operatorId: operator.id, ratePerMinuteCents: 100 })
    expect((await startAndConnect(temporal, stack.config.TEMPORAL_TASK_QUEUE, input)).status).toBe('active')
    const client = await signedIn(stack.url, operator.email)

    // While the call runs there is nothing to rate.
    expect(await client.page('/operator/calls')).not.toContain(`value="${input.callId}"`)
    expect((await client.post('/operator/calls', { callId: input.callId, stars: '4' })).status).toBe(409)

    await waitFor(async () => ((await stack.db.call.findUniqueOrThrow({ where: { id: input.callId } })).heldPeriods >= 2 ? true : undefined), 20_000, 'two periods held')
    await forceEndCallWorkflow(temporal, input.callId, 'operator_disabled')
    const settled = await waitFor(async () => (await stack.db.call.findFirst({ where: { id: input.callId, status: 'settled' } })) ?? undefined, 20_000, 'call settled')
    expect(settled.billedMinutes).toBeGreaterThanOrEqual(1)
    const page = await client.page('/operator/calls')
    expect(page).toContain(`name="callId" value="${input.callId}"`)

    expect((await client.post('/operator/calls', { callId: input.callId, stars: '4' }, { csrf: false })).status).toBe(403)
    const outOfRange = await client.post('/operator/calls', { callId: input.callId, stars: '6' })
    expect(outOfRange.status).toBe(422)
    expect(await outOfRange.text()).toContain('Please choose from 1 to 5 stars.')
    // Another operator cannot rate this call: it answers as a call that does not exist.
    const other = await signedIn(stack.url, (await newUser(stack.db, 'operator')).email)
    expect((await other.post('/operator/calls', { callId: input.callId, stars: '1' })).status).toBe(404)

    const rated = await client.post('/operator/calls', { callId: input.callId, stars: '4', comment: '  Polite and on time  ' })
    expect(rated.status).toBe(200)
    expect(await rated.text()).toContain('you rated the member 4 out of 5')
    expect(await stack.db.memberRating.findUniqueOrThrow({ where: { callId: input.callId } })).toMatchObject({ operatorId: operator.id, memberId: member.id, stars: 4, comment: 'Polite and on time' })
    expect((await client.post('/operator/calls', { callId: input.callId, stars: '5' })).status).toBe(409)
    const after = await client.page('/operator/calls')
    expect(after).toContain('You rated 4 out of 5')
    expect(after).toContain('Polite and on time')
    expect(after).not.toContain(`name="callId" value="${input.callId}"`)
  })
})

describe("the plugin's download", () => {
  it('is linked from the operator portal and served from the packaged installers, or explains how to build them', async () => {
    const operator = await newUser(stack.db, 'operator')
    const client = await signedIn(stack.url, operator.email)
    expect(await client.page('/operator/plugin')).toContain(`href="${stack.url}/downloads/plugin"`)

    const empty = await (await fetch(`${stack.url}/downloads/plugin`)).text()
    expect(empty).toContain('data-testid="plugin-not-built"')
    expect(empty).toContain('npm run plugin:build')

    const installer = new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 1, 2, 3, 4])
    await writeFile(join(pluginArtifacts, 'perminute-plugin-linux-x86_64.AppImage'), installer)
    await writeFile(join(pluginArtifacts, 'notes.txt'), 'not an installer')
    const listed = await (await fetch(`${stack.url}/downloads/plugin`)).text()
    expect(listed).toContain('href="/downloads/plugin/perminute-plugin-linux-x86_64.AppImage"')
    expect(listed).not.toContain('notes.txt')
    const served = await fetch(`${stack.url}/downloads/plugin/perminute-plugin-linux-x86_64.AppImage`)
    expect(served.status).toBe(200)
    expect(served.headers.get('content-disposition')).toBe('attachment; filename="perminute-plugin-linux-x86_64.AppImage"')
    expect(new Uint8Array(await served.arrayBuffer())).toEqual(installer)
    expect((await fetch(`${stack.url}/downloads/plugin/notes.txt`)).status).toBe(404)
    expect((await fetch(`${stack.url}/downloads/plugin/..%2F..%2Fpackage.json`)).status).toBe(404)
  })
})

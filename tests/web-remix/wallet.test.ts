import { randomUUID } from 'node:crypto'
import { parse } from 'csv-parse/sync'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { walletBalance } from '../../activities/ledger/balances.js'
import { createTransfer } from '../../activities/ledger/transfers.js'
import { creditMemberWallet } from '../../activities/wallets.js'
import { waitFor } from '../support/call-harness.js'
import { createMember, createOperator } from '../support/db.js'
import { PortalClient } from '../support/portal-client.js'
import { startWebStack, stopAfterLedgerCheck, type WebStack } from '../support/web-server.js'

// The wallet's loaders and actions over HTTP against the real web server, worker and database, as a browser without
// JavaScript would use them; and the sandbox's payment page as the member's browser would post it.

let stack: WebStack
beforeAll(async () => {
  stack = await startWebStack()
})
afterAll(() => stopAfterLedgerCheck(stack))

async function signedInMember(options: { verified?: boolean; fundedCents?: number } = {}) {
  const member = await createMember(stack.db, { fundedCents: options.fundedCents })
  if (options.verified !== false) await stack.db.user.update({ where: { id: member.id }, data: { emailVerifiedAt: new Date() } })
  const client = new PortalClient(stack.url)
  await client.logIn(member.email, 'correct-horse')
  return { member, client }
}

async function topUpForm(client: PortalClient, fields: Record<string, string>) {
  const html = await client.page('/wallet')
  const key = /name="idempotencyKey" value="([^"]+)"/.exec(html)![1]!
  return client.post('/wallet', { intent: 'topup', idempotencyKey: key, ...fields }, {})
}

/** The member pays on the sandbox's page as their browser would: a plain form post, then follow the redirect home. */
async function payOnSandbox(checkoutUrl: string, number: string) {
  const page = await fetch(checkoutUrl)
  expect(page.status).toBe(200)
  const response = await fetch(checkoutUrl, {
    method: 'POST',
    body: new URLSearchParams({ number, expiry: '12/34', cvc: '123' }),
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: new URL(checkoutUrl).origin },
    redirect: 'manual',
  })
  return response
}

const text = (response: Response) => response.text()

describe('the wallet page', () => {
  it('asks anonymous visitors to log in and refuses other roles', async () => {
    const anonymous = await fetch(`${stack.url}/wallet`, { redirect: 'manual' })
    expect(anonymous.status).toBe(302)
    expect(anonymous.headers.get('location')).toBe('/login?redirectTo=%2Fwallet')
    const operator = await createOperator(stack.db)
    const client = new PortalClient(stack.url)
    await client.logIn(operator.email, 'correct-horse')
    for (const path of ['/wallet', '/wallet/history', '/wallet/history.csv', `/wallet/topups/${randomUUID()}`]) {
      expect((await client.get(path)).status, path).toBe(403)
    }
  })

  it('shows the balance, what is reserved and what is available', async () => {
    const { client } = await signedInMember({ fundedCents: 1_234 })
    const html = await client.page('/wallet')
    expect(html).toMatch(/data-testid="available">\$12\.34</)
    expect(html).toMatch(/data-testid="reserved">\$0\.00</)
    expect(html).toContain('<title>Wallet · perminute</title>')
  })

  it('refuses a top-up without the CSRF token, and sends an unconfirmed member to confirm their address first', async () => {
    const unverified = await signedInMember({ verified: false })
    const noToken = await unverified.client.post('/wallet', { intent: 'topup', amount: '2500', idempotencyKey: randomUUID() }, { csrf: false })
    expect(noToken.status).toBe(403)
    const response = await topUpForm(unverified.client, { amount: '2500' })
    expect(response.status).toBe(302)
    expect(response.headers.get('location')).toBe('/account?notice=verify-first')
    expect(await stack.db.topUp.count({ where: { memberId: unverified.member.id } })).toBe(0)
  })

  it('explains what is wrong with an amount', async () => {
    const { client, member } = await signedInMember()
    expect(await text(await topUpForm(client, { amount: 'other', customAmount: 'twelve' }))).toContain('Enter an amount in dollars, such as 25 or 12.50.')
    expect(await text(await topUpForm(client, { amount: 'other', customAmount: '1.00' }))).toContain('Top-ups are between $5.00 and $500.00.')
    expect(await text(await topUpForm(client, { amount: 'other', customAmount: '' }))).toContain('Enter the amount you want to add.')
    expect(await text(await topUpForm(client, { amount: '2500', customAmount: '30' }))).toContain('You chose $25.00 and typed another amount')
    expect(await text(await topUpForm(client, {}))).toContain('Choose how much to add.')
    expect((await topUpForm(client, { amount: '777' })).status).toBe(400)
    expect(await stack.db.topUp.count({ where: { memberId: member.id } })).toBe(0)
  })

  it('tops up through the payment page and the return, once, with a receipt', async () => {
    const { client, member } = await signedInMember()
    const response = await topUpForm(client, { amount: 'other', customAmount: '12.50' })
    expect(response.status).toBe(302)
    const checkoutUrl = response.headers.get('location')!
    expect(checkoutUrl).toMatch(new RegExp(`^${stack.url}/sandbox-pay/checkout/cs_test_`))

    const paid = await payOnSandbox(checkoutUrl, '4242 4242 4242 4242')
    expect(paid.status).toBe(303)
    const back = new URL(paid.headers.get('location')!)
    const topUp = await stack.db.topUp.findFirstOrThrow({ where: { memberId: member.id } })
    expect(`${back.pathname}${back.search}`).toBe(`/wallet/topups/${topUp.id}?session_id=${topUp.providerSessionId}`)
    const returned = await client.get(`${back.pathname}${back.search}`)
    expect(returned.status).toBe(302)
    expect(returned.headers.get('location')).toBe(`/wallet/topups/${topUp.id}?returned=1`)

    const html = await waitFor(
      async () => {
        const page = await client.page(`/wallet/topups/${topUp.id}?returned=1`)
        return page.includes('data-status="succeeded"') ? page : undefined
      },
      20_000,
      'the status page to show the credit',
    )
    expect(html).toContain('$12.50 was added to your wallet')
    expect((await walletBalance(stack.db, member.id))!.availableCents).toBe(1_250)
    // The webhook the page sent in the background arrives too; still one credit and one receipt.
    await waitFor(async () => (await stack.db.sandboxPaySession.findFirst({ where: { merchantReference: topUp.id, status: 'succeeded' } })) ?? undefined, 5_000, 'the session')
    expect(await stack.db.transfer.count({ where: { id: `topup:${topUp.id}` } })).toBe(1)
    expect(await stack.db.mailMessage.count({ where: { toAddress: member.email, template: 'topup_receipt' } })).toBe(1)
  })

  it('changes nothing when the card is declined, and says so', async () => {
    const { client, member } = await signedInMember({ fundedCents: 500 })
    const checkoutUrl = (await topUpForm(client, { amount: '1000' })).headers.get('location')!
    const declined = await payOnSandbox(checkoutUrl, '4000000000000002')
    const back = new URL(declined.headers.get('location')!)
    await client.get(`${back.pathname}${back.search}`)
    const topUp = await stack.db.topUp.findFirstOrThrow({ where: { memberId: member.id } })
    const html = await waitFor(
      async () => {
        const page = await client.page(`/wallet/topups/${topUp.id}`)
        return page.includes('data-status="declined"') ? page : undefined
      },
      20_000,
      'the decline',
    )
    expect(html).toContain('Your card was declined. Nothing was charged and your wallet is unchanged.')
    expect((await walletBalance(stack.db, member.id))!.availableCents).toBe(500)
    expect(await stack.db.transfer.count({ where: { id: `topup:${topUp.id}` } })).toBe(0)
  })

  it('shows a wrong card entry on the payment page and changes nothing', async () => {
    const { client } = await signedInMember()
    const checkoutUrl = (await topUpForm(client, { amount: '1000' })).headers.get('location')!
    const wrong = await payOnSandbox(checkoutUrl, '4242 4242 4242 4241')
    expect(wrong.status).toBe(422)
    const html = await wrong.text()
    expect(html).toContain('Enter a valid card number.')
    expect(html).not.toContain('4242 4242 4242 4241')
    const realCard = await payOnSandbox(checkoutUrl, '5555 5555 5555 4444')
    expect(await realCard.text()).toContain('This sandbox takes no real cards')
  })

  it('saves spending caps, explains invalid ones, and refuses a top-up over the cap', async () => {
    const { client, member } = await signedInMember()
    const lower = await client.post('/wallet', { intent: 'caps', daily: '20', monthly: '10', timeZone: 'Europe/Paris' })
    expect(lower.status).toBe(400)
    expect(await lower.text()).toContain('The monthly cap cannot be lower than the daily cap.')
    expect((await client.post('/wallet', { intent: 'caps', daily: '0', monthly: '', timeZone: 'UTC' })).status).toBe(400)
    expect((await client.post('/wallet', { intent: 'caps', daily: '20', monthly: '', timeZone: 'Nowhere/Land' })).status).toBe(400)
    const saved = await client.post('/wallet', { intent: 'caps', daily: '20', monthly: '', timeZone: 'Europe/Paris' })
    expect(saved.status).toBe(200)
    expect(await saved.text()).toContain('Your caps are saved.')
    expect(await stack.db.spendingCap.findUnique({ where: { memberId: member.id } })).toMatchObject({ dailyCents: 2_000n, monthlyCents: null, timeZone: 'Europe/Paris' })

    const refused = await topUpForm(client, { amount: '2500' })
    expect(refused.status).toBe(422)
    expect(await refused.text()).toContain('This top-up would pass your daily cap of $20.00: you have topped up $0.00 today, so you can add up to $20.00 more.')
    expect(await stack.db.topUp.count({ where: { memberId: member.id } })).toBe(0)
    expect(await client.page('/wallet')).toContain('of your daily cap of $20.00')
  })
})

describe('payment history', () => {
  it('lists every movement with its reason, a page at a time', async () => {
    const { client, member } = await signedInMember()
    for (let i = 0; i < 27; i++) {
      await creditMemberWallet(stack.db, { transferId: `test-credit:${randomUUID()}`, memberId: member.id, amountCents: 100 + i, source: 'adjustments', code: 'wallet_adjustment', memo: `gift ${i}` })
    }
    const first = await client.page('/wallet/history')
    expect(first).toContain('Page 1 of 2')
    expect(first).toContain('Credit: gift 26')
    expect(first).toContain('+$1.26')
    const second = await client.page('/wallet/history?page=2')
    expect(second).toContain('Credit: gift 0')
    expect(second).not.toContain('Credit: gift 26')
  })

  it('exports the member’s own movements as CSV, with quotes and formulas made harmless', async () => {
    const { client, member } = await signedInMember()
    await creditMemberWallet(stack.db, {
      transferId: `test-credit:${randomUUID()}`, memberId: member.id, amountCents: 250, source: 'adjustments', code: 'wallet_adjustment',
      memo: '=HYPERLINK("http://evil.test","win"), really',
    })
    const other = await signedInMember({ fundedCents: 999 })
    const response = await client.get('/wallet/history.csv')
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toBe('text/csv; charset=utf-8')
    expect(response.headers.get('content-disposition')).toContain('attachment')
    const csv = await response.text()
    const rows = parse(csv, { columns: true }) as Record<string, string>[]
    expect(rows).toHaveLength(1)
    expect(rows[0]).toMatchObject({ reason: 'Credit: =HYPERLINK("http://evil.test","win"), really', status: 'Received', amount_usd: '2.50' })
    expect(csv).toContain('"Credit: =HYPERLINK(""http://evil.test"",""win""), really"')

    const theirs = parse(await (await other.client.get('/wallet/history.csv')).text(), { columns: true }) as Record<string, string>[]
    expect(theirs.map((row) => row.amount_usd)).toEqual(['9.99'])
  })

  it('prefixes a field that a spreadsheet would run as a formula', async () => {
    const { client, member } = await signedInMember()
    // Codes the history does not know are shown as they are: one that starts like a formula must not run as one.
    for (const code of ['refund_note', '+cmd']) {
      await stack.db.$transaction((tx) =>
        createTransfer(tx, { id: `test-credit:${randomUUID()}`, debitAccountId: 'adjustments', creditAccountId: `member_wallet:${member.id}`, amountCents: 100, pending: false, code }),
      )
    }
    const rows = parse(await (await client.get('/wallet/history.csv')).text(), { columns: true }) as Record<string, string>[]
    expect(rows.map((row) => row.reason).sort()).toEqual(["'+cmd", 'Refund note'])
  })
})

describe('another member', () => {
  it('never sees this member’s top-ups, wallet or exports', async () => {
    const owner = await signedInMember()
    const checkoutUrl = (await topUpForm(owner.client, { amount: '1000' })).headers.get('location')!
    await payOnSandbox(checkoutUrl, '4242424242424242')
    const topUp = await stack.db.topUp.findFirstOrThrow({ where: { memberId: owner.member.id } })
    await waitFor(async () => ((await stack.db.topUp.findUniqueOrThrow({ where: { id: topUp.id } })).status === 'succeeded' ? true : undefined), 20_000, 'the credit')

    const intruder = await signedInMember()
    expect((await intruder.client.get(`/wallet/topups/${topUp.id}`)).status).toBe(404)
    // Even with the provider's session id, the return address of someone else's top-up confirms nothing and shows nothing.
    expect((await intruder.client.get(`/wallet/topups/${topUp.id}?session_id=${topUp.providerSessionId}`)).status).toBe(404)
    expect(await intruder.client.page('/wallet')).toMatch(/data-testid="available">\$0\.00</)
    expect(await intruder.client.page('/wallet/history')).not.toContain('Top-up')
    const csv = await (await intruder.client.get('/wallet/history.csv')).text()
    expect(parse(csv, { columns: true })).toEqual([])
    expect(csv).not.toContain(topUp.id)
  })
})

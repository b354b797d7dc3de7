import { randomUUID } from 'node:crypto'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createMailDispatcher, retryDelayMs } from '../../../activities/mail/dispatcher.js'
import { enqueueMail } from '../../../activities/mail/outbox.js'
import { mailgunTransport } from '../../../activities/mail/transport.js'
import type { Db } from '../../../prisma/client.js'
import { createDb } from '../../../prisma/client.js'
import { createScratchDatabase, type ScratchDatabase } from '../../support/scratch-database.js'
import { startMailgunWire, type MailgunWire } from '../../support/mailgun-wire.js'

// The real mailgun.js client against a local server that speaks Mailgun's messages endpoint.
const API_KEY = 'key-test-0123456789'
const DOMAIN = 'mg.perminute.test'

let db: Db
let wire: MailgunWire
let scratch: ScratchDatabase

// A database of its own: a dispatcher sends whatever is due, and other test files enqueue mail of their own meanwhile.
beforeAll(async () => {
  scratch = await createScratchDatabase('mail', { migrated: true })
  db = createDb(scratch.url, { maxConnections: 10 })
  wire = await startMailgunWire({ apiKey: API_KEY })
})
afterAll(async () => {
  await wire.close()
  await db.$disconnect()
  await scratch.drop()
})

afterEach(() => {
  wire.received.length = 0
})

async function enqueue(overrides: Partial<Parameters<typeof enqueueMail>[1]> = {}) {
  const to = `someone-${randomUUID().slice(0, 8)}@example.test`
  await db.$transaction((tx) =>
    enqueueMail(tx, { to, subject: 'Hello', text: 'Plain words https://example.test/x', html: '<p>Plain words</p>', template: 'test', ...overrides }),
  )
  return db.mailMessage.findFirstOrThrow({ where: { toAddress: overrides.to ?? to } })
}

function dispatcher(key = API_KEY) {
  return createMailDispatcher({
    db,
    transport: mailgunTransport({ apiKey: key, domain: DOMAIN, url: wire.url }),
    from: 'perminute <no-reply@perminute.test>',
    pollMs: 60_000,
  })
}

/** Makes every waiting message due now, as the passing of its back-off time would. */
async function letBackOffPass(id: bigint) {
  await db.mailMessage.update({ where: { id }, data: { nextAttemptAt: new Date(Date.now() - 1) } })
}

describe('the mail outbox', () => {
  it('keeps nothing of a transaction that rolled back', async () => {
    const to = `rolled-back-${randomUUID()}@example.test`
    await expect(
      db.$transaction(async (tx) => {
        await enqueueMail(tx, { to, subject: 'x', text: 'x', template: 'test' })
        throw new Error('the change failed')
      }),
    ).rejects.toThrow('the change failed')
    expect(await db.mailMessage.count({ where: { toAddress: to } })).toBe(0)
  })

  it('enqueues one message for one dedupe key, however often it is asked', async () => {
    const dedupeKey = `reminder:${randomUUID()}`
    const to = `dedupe-${randomUUID()}@example.test`
    for (let i = 0; i < 3; i++) await db.$transaction((tx) => enqueueMail(tx, { to, subject: 's', text: 't', template: 'test', dedupeKey }))
    expect(await db.mailMessage.count({ where: { dedupeKey } })).toBe(1)
  })
})

describe('the dispatcher, through mailgun.js at the wire', () => {
  it('sends the message with its fields and basic auth, and records Mailgun\'s id', async () => {
    const mail = await enqueue()
    await dispatcher().deliverDue()
    const sent = wire.received.find((message) => message.fields.to?.[0] === mail.toAddress)
    expect(sent).toBeDefined()
    expect(sent!.domain).toBe(DOMAIN)
    expect(sent!.authorization).toBe(`Basic ${Buffer.from(`api:${API_KEY}`).toString('base64')}`)
    expect(sent!.fields.subject).toEqual(['Hello'])
    expect(sent!.fields.text).toEqual(['Plain words https://example.test/x'])
    expect(sent!.fields.html).toEqual(['<p>Plain words</p>'])
    expect(sent!.fields['h:X-Perminute-Outbox-Id']).toEqual([mail.id.toString()])
    const after = await db.mailMessage.findUniqueOrThrow({ where: { id: mail.id } })
    expect(after.status).toBe('sent')
    expect(after.providerMessageId).toMatch(/^<.+@mg\.perminute\.test>$/)
    expect(after.attempts).toBe(1)
  })

  it('retries a message Mailgun failed to take, and sends it once it does', async () => {
    const mail = await enqueue()
    wire.failNext(2, 503)
    const mailer = dispatcher()
    await mailer.deliverDue()
    let row = await db.mailMessage.findUniqueOrThrow({ where: { id: mail.id } })
    expect(row.status).toBe('pending')
    expect(row.lastError).toContain('HTTP 503')
    expect(row.nextAttemptAt.getTime()).toBeGreaterThan(Date.now() + retryDelayMs(1) - 5_000)
    // Not due yet: a pass leaves it alone.
    await mailer.deliverDue()
    expect((await db.mailMessage.findUniqueOrThrow({ where: { id: mail.id } })).attempts).toBe(1)
    await letBackOffPass(mail.id)
    await mailer.deliverDue()
    row = await db.mailMessage.findUniqueOrThrow({ where: { id: mail.id } })
    expect(row.status).toBe('pending')
    expect(row.attempts).toBe(2)
    await letBackOffPass(mail.id)
    await mailer.deliverDue()
    row = await db.mailMessage.findUniqueOrThrow({ where: { id: mail.id } })
    expect(row.status).toBe('sent')
    expect(row.attempts).toBe(3)
    expect(wire.received.filter((message) => message.fields.to?.[0] === mail.toAddress)).toHaveLength(1)
  })

  it('keeps retrying while the key is wrong (401), so a fixed key still delivers the mail', async () => {
    const mail = await enqueue()
    await dispatcher('key-wrong').deliverDue()
    const row = await db.mailMessage.findUniqueOrThrow({ where: { id: mail.id } })
    expect(row.status).toBe('pending')
    expect(row.lastError).toContain('HTTP 401')
    await letBackOffPass(mail.id)
    await dispatcher().deliverDue()
    expect((await db.mailMessage.findUniqueOrThrow({ where: { id: mail.id } })).status).toBe('sent')
  })

  it('marks a message Mailgun refuses as malformed (400) failed, and keeps it with the reason', async () => {
    const mail = await enqueue()
    wire.failNext(1, 400, JSON.stringify({ message: "'to' parameter is not a valid address. please check documentation" }))
    await dispatcher().deliverDue()
    const row = await db.mailMessage.findUniqueOrThrow({ where: { id: mail.id } })
    expect(row.status).toBe('failed')
    expect(row.lastError).toContain('not a valid address')
  })

  it('never loses a message whose sender died mid-send: the lease runs out and another pass sends it', async () => {
    const mail = await enqueue()
    // A dispatcher that leased the message and died: attempts counted, next attempt pushed to the lease's end.
    await db.mailMessage.update({ where: { id: mail.id }, data: { attempts: 1, nextAttemptAt: new Date(Date.now() + 120_000) } })
    await dispatcher().deliverDue()
    expect((await db.mailMessage.findUniqueOrThrow({ where: { id: mail.id } })).status).toBe('pending')
    await letBackOffPass(mail.id)
    await dispatcher().deliverDue()
    expect((await db.mailMessage.findUniqueOrThrow({ where: { id: mail.id } })).status).toBe('sent')
  })

  it('never sends one message twice when two dispatchers run at once', async () => {
    const mails = await Promise.all(Array.from({ length: 8 }, () => enqueue()))
    await Promise.all([dispatcher().deliverDue(), dispatcher().deliverDue(), dispatcher().deliverDue()])
    for (const mail of mails) {
      expect(wire.received.filter((message) => message.fields.to?.[0] === mail.toAddress)).toHaveLength(1)
    }
  })

  it('without a provider, keeps mail in the local outbox as stored', async () => {
    const mail = await enqueue()
    await createMailDispatcher({ db, transport: null, from: 'x <x@example.test>', pollMs: 60_000 }).deliverDue()
    expect((await db.mailMessage.findUniqueOrThrow({ where: { id: mail.id } })).status).toBe('stored')
  })

  it('wakes on NOTIFY and delivers new mail without waiting for its poll', async () => {
    const mailer = createMailDispatcher({
      db,
      transport: mailgunTransport({ apiKey: API_KEY, domain: DOMAIN, url: wire.url }),
      from: 'perminute <no-reply@perminute.test>',
      databaseUrl: scratch.url,
      pollMs: 600_000,
    })
    mailer.start()
    try {
      // The first pass drains what other tests left; then LISTEN is up.
      await new Promise((resolve) => setTimeout(resolve, 500))
      const mail = await enqueue()
      await expect.poll(async () => (await db.mailMessage.findUniqueOrThrow({ where: { id: mail.id } })).status, { timeout: 10_000 }).toBe('sent')
    } finally {
      await mailer.stop()
    }
  })
})

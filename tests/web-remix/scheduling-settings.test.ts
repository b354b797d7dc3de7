import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createUser } from '../../activities/identity/users.js'
import { updatePlatformSettings } from '../../activities/settings.js'
import { parseConfig } from '../../config/env.js'
import { createPlatformServices, type PlatformServices } from '../../web-remix/app/plugin-api/services.server.js'
import { proposeScheduledCall } from '../../web-remix/app/storefront/scheduling.server.js'
import { createScratchDatabase, type ScratchDatabase } from '../support/scratch-database.js'

// A booking is frozen with the platform settings in force, not the configuration's defaults. On a database of its
// own: a changed commission would change other test files' calls otherwise.

let scratch: ScratchDatabase
let services: PlatformServices

beforeAll(async () => {
  scratch = await createScratchDatabase('scheduling_settings', { migrated: true })
  // A task queue no worker polls: the booking's workflow starts and waits, which is all this test needs of it.
  const config = parseConfig({ ...process.env, NODE_ENV: 'test', DATABASE_URL: scratch.url, TEMPORAL_TASK_QUEUE: `idle-${randomUUID()}`, PLATFORM_COMMISSION_BPS: '2000' })
  services = createPlatformServices(config)
})
afterAll(async () => {
  await services?.close()
  await scratch?.drop()
})

describe('a scheduled call', () => {
  it('takes the commission and the default company share an admin set, not the configuration’s', async () => {
    const { db, config } = services
    const admin = await createUser(db, { role: 'admin', email: 'root@example.test', password: 'long enough', displayName: 'Root' })
    await updatePlatformSettings(db, config, { commissionBps: 2600, defaultCompanyShareBps: 1300 }, { channel: 'web', actorId: admin.id })
    const operator = await createUser(db, {
      role: 'operator', emailVerified: true, email: 'op@example.test', password: 'long enough', displayName: 'Op', callingProvider: 'discord', callingHandle: 'op-handle', ratePerMinuteCents: 150,
    })
    await db.operatorAvailability.createMany({
      data: [1, 2, 3, 4, 5, 6, 7].map((weekday) => ({ id: randomUUID(), operatorId: operator.id, weekday, startMinute: 0, endMinute: 1440 })),
    })
    const member = await createUser(db, { role: 'member', email: 'm@example.test', password: 'long enough', displayName: 'M', callingProvider: 'discord', callingHandle: 'm-handle' })

    const nowMs = Date.now()
    const result = await proposeScheduledCall(
      services,
      { memberId: member.id, operatorId: operator.id, startsAtMs: nowMs + 2 * 24 * 3_600_000, minutes: 15, memberTimeZone: 'UTC', note: null },
      nowMs,
    )
    expect(result).toMatchObject({ ok: true })
    const booking = await db.scheduledCall.findUniqueOrThrow({ where: { id: (result as { scheduledCallId: string }).scheduledCallId } })
    expect(booking.commissionBps).toBe(2600)
    expect(booking.companyShareBps).toBe(0) // no company
  })
})

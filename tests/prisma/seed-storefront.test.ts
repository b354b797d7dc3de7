import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { checkLedger } from '../../activities/ledger/check.js'
import { createDb, type Db } from '../../prisma/client.js'
import { seedDemoData } from '../../prisma/seed.js'
import { isValidTimeZone } from '../../workflows/availability.js'
import { createScratchDatabase, type ScratchDatabase } from '../support/scratch-database.js'

// The demo storefront on a database of its own, so counts are exact whatever other files write meanwhile.
const publicDir = fileURLToPath(new URL('../../web-remix/public', import.meta.url))
let scratch: ScratchDatabase
let db: Db

beforeAll(async () => {
  scratch = await createScratchDatabase('storefront_seed', { migrated: true })
  db = createDb(scratch.url, { maxConnections: 4 })
})
afterAll(async () => {
  await db?.$disconnect()
  await scratch?.drop()
})

async function storefrontState() {
  const operators = await db.operator.findMany({
    include: { images: { orderBy: { position: 'asc' } }, availability: true, ratings: { include: { call: true } } },
    orderBy: { userId: 'asc' },
  })
  const transfers = await db.transfer.findMany({ orderBy: { id: 'asc' }, select: { id: true, amount: true, status: true, postedAmount: true } })
  return { operators, transfers }
}

describe('the demo storefront (prisma/seed-storefront.ts)', () => {
  it('gives every demo operator a formatted bio, a zone, pictures that exist, hours and rated calls, once', { timeout: 120_000 }, async () => {
    await seedDemoData(db)
    const first = await storefrontState()
    expect(first.operators).toHaveLength(4)
    for (const operator of first.operators) {
      expect(operator.bioMarkdown.length).toBeGreaterThan(100)
      expect(isValidTimeZone(operator.timeZone)).toBe(true)
      expect(operator.timeZone).not.toBe('UTC')
      expect(operator.images.length).toBeGreaterThan(0)
      for (const image of operator.images) {
        expect(image.altText).not.toBe('')
        expect(existsSync(`${publicDir}${image.url}`), image.url).toBe(true)
      }
      expect(operator.availability.length).toBeGreaterThan(0)
      // Every demo rating belongs to a real, settled, billed call of that operator.
      for (const rating of operator.ratings) {
        expect(rating.call).toMatchObject({ status: 'settled', operatorId: operator.userId, memberId: rating.memberId })
        expect(rating.call.billedMinutes).toBeGreaterThanOrEqual(1)
      }
    }
    expect(first.operators.flatMap((o) => o.ratings)).toHaveLength(5)
    const withVideo = first.operators.filter((o) => o.videoUrl)
    expect(withVideo).toHaveLength(1)
    for (const o of withVideo) for (const url of [o.videoUrl!, o.videoCaptionsUrl!]) expect(existsSync(`${publicDir}${url}`), url).toBe(true)
    expect((await checkLedger(db)).violations).toEqual([])

    const summary = await seedDemoData(db)
    expect(summary.createdUsers).toBe(0)
    expect(await storefrontState()).toEqual(first)
    // The members' wallets paid for the demo calls, and the summary shows what is left.
    const ada = summary.users.find((u) => u.email === 'ada@perminute.test')!
    expect(ada.walletAvailableCents).toBeLessThan(5_000)
  })
})

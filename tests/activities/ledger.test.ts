import { randomUUID } from 'node:crypto'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { accountIds } from '../../activities/ledger/accounts.js'
import { checkLedger } from '../../activities/ledger/check.js'
import { accountBalance } from '../../activities/ledger/balances.js'
import {
  createTransfer,
  InsufficientFundsError,
  postPendingTransfer,
  TransferConflictError,
  TransferStateError,
  voidPendingTransfer,
  type TransferRequest,
} from '../../activities/ledger/transfers.js'
import type { Db } from '../../prisma/client.js'
import { connectTestDb, createMember, createOperator } from '../support/db.js'

let db: Db
beforeAll(() => {
  db = connectTestDb()
})
afterEach(async () => {
  expect((await checkLedger(db)).violations).toEqual([])
})
afterAll(async () => {
  await db.$disconnect()
})

const reservation = (memberId: string, amountCents: number, id = `test-reservation:${randomUUID()}`): TransferRequest => ({
  id,
  debitAccountId: accountIds.memberWallet(memberId),
  creditAccountId: accountIds.platformRevenue,
  amountCents,
  pending: true,
  code: 'test_reservation',
})

const available = async (memberId: string) => (await accountBalance(db, accountIds.memberWallet(memberId)))!.availableCents

describe('the ledger', () => {
  it('never overdraws a wallet under concurrent holds from parallel calls', async () => {
    const member = await createMember(db, { fundedCents: 1_000 })
    const attempts = await Promise.allSettled(
      Array.from({ length: 40 }, () => db.$transaction((tx) => createTransfer(tx, reservation(member.id, 100)))),
    )
    const held = attempts.filter((a) => a.status === 'fulfilled')
    const refused = attempts.filter((a) => a.status === 'rejected')
    expect(held).toHaveLength(10)
    expect(refused).toHaveLength(30)
    for (const r of refused) expect((r as PromiseRejectedResult).reason).toBeInstanceOf(InsufficientFundsError)
    expect(await available(member.id)).toBe(0)
    // A refused attempt leaves nothing behind.
    const rows = await db.transfer.count({ where: { debitAccountId: accountIds.memberWallet(member.id), code: 'test_reservation' } })
    expect(rows).toBe(10)
  })

  it('makes a replayed transfer change nothing and return the first result', async () => {
    const member = await createMember(db, { fundedCents: 500 })
    const request = reservation(member.id, 200)
    const first = await db.$transaction((tx) => createTransfer(tx, request))
    const again = await db.$transaction((tx) => createTransfer(tx, request))
    expect(first.created).toBe(true)
    expect(again.created).toBe(false)
    expect(again.transfer).toEqual(first.transfer)
    expect(await available(member.id)).toBe(300)

    await db.$transaction((tx) => postPendingTransfer(tx, request.id))
    await db.$transaction((tx) => postPendingTransfer(tx, request.id))
    const balance = (await accountBalance(db, accountIds.memberWallet(member.id)))!
    expect(balance).toMatchObject({ postedCents: 300, pendingDebitCents: 0, availableCents: 300 })
  })

  it('refuses the same transfer id with other fields', async () => {
    const member = await createMember(db, { fundedCents: 500 })
    const request = reservation(member.id, 100)
    await db.$transaction((tx) => createTransfer(tx, request))
    await expect(db.$transaction((tx) => createTransfer(tx, { ...request, amountCents: 101 }))).rejects.toBeInstanceOf(TransferConflictError)
    expect(await available(member.id)).toBe(400)
  })

  it('posts a hold in part and releases the rest; voids release it all', async () => {
    const member = await createMember(db, { fundedCents: 1_000 })
    const partial = reservation(member.id, 600)
    const voided = reservation(member.id, 300)
    await db.$transaction(async (tx) => {
      await createTransfer(tx, partial)
      await createTransfer(tx, voided)
    })
    expect(await available(member.id)).toBe(100)
    await db.$transaction((tx) => postPendingTransfer(tx, partial.id, 250))
    await db.$transaction((tx) => voidPendingTransfer(tx, voided.id))
    await db.$transaction((tx) => voidPendingTransfer(tx, voided.id))
    expect(await available(member.id)).toBe(750)
    await expect(db.$transaction((tx) => postPendingTransfer(tx, partial.id, 300))).rejects.toBeInstanceOf(TransferStateError)
    await expect(db.$transaction((tx) => postPendingTransfer(tx, voided.id))).rejects.toBeInstanceOf(TransferStateError)
    await expect(db.$transaction((tx) => voidPendingTransfer(tx, partial.id))).rejects.toBeInstanceOf(TransferStateError)
  })

  it('lets the database itself refuse a negative wallet, an edited transfer and a deleted one', async () => {
    const member = await createMember(db, { fundedCents: 100 })
    const wallet = accountIds.memberWallet(member.id)
    await expect(db.$executeRaw`UPDATE accounts SET debits_posted = debits_posted + 101 WHERE id = ${wallet}`).rejects.toThrow(
      /accounts_member_wallet_never_negative/,
    )
    const request = reservation(member.id, 50)
    await db.$transaction((tx) => createTransfer(tx, request))
    await expect(db.$executeRaw`UPDATE transfers SET amount = 1 WHERE id = ${request.id}`).rejects.toThrow(/pending to posted or voided/)
    await expect(db.$executeRaw`DELETE FROM transfers WHERE id = ${request.id}`).rejects.toThrow(/never deleted/)
    await db.$transaction((tx) => voidPendingTransfer(tx, request.id))
    await expect(db.$executeRaw`UPDATE transfers SET status = 'pending' WHERE id = ${request.id}`).rejects.toThrow(/pending to posted or voided/)
  })

  it('keeps the sum of all balances at zero through a random mix of movements', async () => {
    const members = await Promise.all([createMember(db, { fundedCents: 5_000 }), createMember(db, { fundedCents: 50 })])
    const operator = await createOperator(db)
    // A fixed seed makes a failure replayable.
    let seed = 20261123
    const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31)
    const pending: string[] = []
    for (let i = 0; i < 200; i++) {
      const member = members[Math.floor(random() * members.length)]!
      const amount = 1 + Math.floor(random() * 300)
      const roll = random()
      try {
        if (roll < 0.5 || pending.length === 0) {
          const request = reservation(member.id, amount)
          await db.$transaction((tx) => createTransfer(tx, request))
          pending.push(request.id)
        } else {
          const id = pending.splice(Math.floor(random() * pending.length), 1)[0]!
          if (roll < 0.8) {
            await db.$transaction(async (tx) => {
              const posted = await postPendingTransfer(tx, id, Math.floor(random() * 2) === 0 ? undefined : 1)
              await createTransfer(tx, {
                id: `${id}:earnings`,
                debitAccountId: accountIds.platformRevenue,
                creditAccountId: accountIds.operatorEarnings(operator.id),
                amountCents: posted.postedAmountCents!,
                pending: false,
                code: 'test_earnings',
              })
            })
          } else {
            await db.$transaction((tx) => voidPendingTransfer(tx, id))
          }
        }
      } catch (error) {
        expect(error).toBeInstanceOf(InsufficientFundsError)
      }
      if (i % 50 === 0) expect((await checkLedger(db)).ok).toBe(true)
    }
    for (const id of pending) await db.$transaction((tx) => voidPendingTransfer(tx, id))
    const sums = await db.$queryRaw<{ posted: bigint; pending: bigint }[]>`
      SELECT sum(credits_posted - debits_posted)::bigint AS posted, sum(credits_pending - debits_pending)::bigint AS pending FROM accounts`
    expect(sums[0]).toEqual({ posted: 0n, pending: 0n })
    for (const m of members) expect(await available(m.id)).toBeGreaterThanOrEqual(0)
  })

  it('reports a broken invariant', async () => {
    const member = await createMember(db, { fundedCents: 100 })
    const wallet = accountIds.memberWallet(member.id)
    await db.$executeRaw`UPDATE accounts SET credits_posted = credits_posted + 1 WHERE id = ${wallet}`
    try {
      const result = await checkLedger(db)
      expect(result.ok).toBe(false)
      expect(result.violations.map((v) => v.invariant)).toEqual(
        expect.arrayContaining(['all balances sum to zero (posted and pending)', 'every account total equals the sum of its transfers']),
      )
    } finally {
      await db.$executeRaw`UPDATE accounts SET credits_posted = credits_posted - 1 WHERE id = ${wallet}`
    }
  })
})

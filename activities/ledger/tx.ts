import type { Db } from '../../prisma/client.js'

/** A Prisma client inside an interactive transaction (or the client itself where one statement suffices). */
export type Tx = Omit<Db, '$connect' | '$disconnect' | '$on' | '$transaction' | '$extends'>

/** Converts a bigint amount read from the database to a number of cents, refusing anything unsafe. */
export function toCents(value: bigint | number | null | undefined): number {
  if (value === null || value === undefined) return 0
  const n = typeof value === 'bigint' ? Number(value) : value
  if (!Number.isSafeInteger(n)) throw new RangeError(`amount ${value} is outside the safe range`)
  return n
}

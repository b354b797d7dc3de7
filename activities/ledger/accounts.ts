import type { Tx } from './tx.js'

/** The ledger's account kinds (DESIGN.md, money rules) and their deterministic ids. */
export type AccountKind =
  | 'member_wallet'
  | 'operator_earnings'
  | 'company_earnings'
  | 'platform_revenue'
  | 'payment_clearing'
  | 'payout_clearing'
  | 'adjustments'

export const accountIds = {
  memberWallet: (userId: string) => `member_wallet:${userId}`,
  operatorEarnings: (userId: string) => `operator_earnings:${userId}`,
  companyEarnings: (companyId: string) => `company_earnings:${companyId}`,
  platformRevenue: 'platform_revenue',
  paymentClearing: 'payment_clearing',
  payoutClearing: 'payout_clearing',
  adjustments: 'adjustments',
} as const

/** The platform's own accounts; owned accounts are opened with their owner. */
export const PLATFORM_ACCOUNTS: ReadonlyArray<{ id: string; kind: AccountKind }> = [
  { id: accountIds.platformRevenue, kind: 'platform_revenue' },
  { id: accountIds.paymentClearing, kind: 'payment_clearing' },
  { id: accountIds.payoutClearing, kind: 'payout_clearing' },
  { id: accountIds.adjustments, kind: 'adjustments' },
]

/** Opens an account if it does not exist yet; opening twice changes nothing. */
export async function openAccount(tx: Tx, id: string, kind: AccountKind, ownerId: string | null): Promise<void> {
  await tx.$executeRaw`
    INSERT INTO accounts (id, kind, owner_id) VALUES (${id}, ${kind}::"AccountKind", ${ownerId}::uuid)
    ON CONFLICT (id) DO NOTHING`
}

export async function openPlatformAccounts(tx: Tx): Promise<void> {
  for (const account of PLATFORM_ACCOUNTS) await openAccount(tx, account.id, account.kind, null)
}

import { randomUUID } from 'node:crypto'
import { accountIds } from '../../activities/ledger/accounts.js'
import { hashPassword } from '../../activities/identity/passwords.js'
import type { Db } from '../../prisma/client.js'

/**
 * Benchmark users in bulk. activities/identity/users.ts createUser hashes every password with argon2 (19 MiB, on
 * purpose slow): 2,000 users took minutes on a busy machine before a single call started. Here one hash of the shared
 * benchmark password is made with the platform's own hashPassword and given to every user, and rows go in by the
 * hundred, with the same columns and the same ledger accounts createUser makes (a member's wallet, an operator's
 * earnings). Operators still sign in through the API, which verifies the hash as it would any other.
 */

export interface BulkUser {
  id: string
  email: string
  displayName: string
  role: 'member' | 'operator'
  callingProvider?: string
  callingHandle?: string
  ratePerMinuteCents?: number
  companyId?: string | null
}

export async function insertUsers(db: Db, password: string, users: Array<Omit<BulkUser, 'id'> & { id?: string }>): Promise<BulkUser[]> {
  const passwordHash = await hashPassword(password)
  const rows = users.map((u) => ({ ...u, id: u.id ?? randomUUID(), email: u.email.toLowerCase() }))
  for (let i = 0; i < rows.length; i += 250) {
    const batch = rows.slice(i, i + 250)
    const operators = batch.filter((u) => u.role === 'operator')
    await db.$transaction(async (tx) => {
      await tx.$executeRaw`
        INSERT INTO users (id, email, password_hash, role, display_name, calling_provider, calling_handle, email_verified_at)
        SELECT u.id, u.email, ${passwordHash}, u.role::"Role", u.display_name, u.provider, u.handle, now()
        FROM unnest(${batch.map((u) => u.id)}::uuid[], ${batch.map((u) => u.email)}::text[], ${batch.map((u) => u.role)}::text[],
                    ${batch.map((u) => u.displayName)}::text[], ${batch.map((u) => u.callingProvider ?? null)}::text[],
                    ${batch.map((u) => u.callingHandle ?? null)}::text[])
             AS u(id, email, role, display_name, provider, handle)`
      if (operators.length) {
        await tx.$executeRaw`
          INSERT INTO operators (user_id, company_id, rate_per_minute_cents)
          SELECT * FROM unnest(${operators.map((u) => u.id)}::uuid[], ${operators.map((u) => u.companyId ?? null)}::uuid[],
                               ${operators.map((u) => u.ratePerMinuteCents!)}::int[])`
      }
      await tx.$executeRaw`
        INSERT INTO accounts (id, kind, owner_id)
        SELECT * FROM unnest(${batch.map((u) => (u.role === 'member' ? accountIds.memberWallet(u.id) : accountIds.operatorEarnings(u.id)))}::text[],
                             ${batch.map((u) => (u.role === 'member' ? 'member_wallet' : 'operator_earnings'))}::"AccountKind"[],
                             ${batch.map((u) => u.id)}::uuid[])`
    })
  }
  return rows
}

import type { Db } from '../../prisma/client.js'
import { isUuid } from '../../workflows/ids.js'

/** Finding the member an administrative command is about, by e-mail (what staff know) or by id (what scripts keep). */

export class MemberNotFoundError extends Error {
  override name = 'MemberNotFoundError'
}

export interface MemberRecord {
  id: string
  email: string
  displayName: string
  status: 'active' | 'disabled'
}

export { isUuid }

export async function findMember(db: Db, emailOrId: string): Promise<MemberRecord> {
  const ref = emailOrId.trim()
  // createUser stores e-mails trimmed and lower-cased, so the lookup normalizes the same way.
  const where = isUuid(ref) ? { id: ref.toLowerCase() } : { email: ref.toLowerCase() }
  const user = await db.user.findUnique({
    where,
    select: { id: true, email: true, displayName: true, status: true, role: true },
  })
  if (!user) throw new MemberNotFoundError(`no member ${isUuid(ref) ? 'with id' : 'with e-mail'} ${ref}`)
  if (user.role !== 'member') {
    throw new MemberNotFoundError(
      `${user.email} is ${user.role === 'admin' || user.role === 'operator' ? 'an' : 'a'} ${
        user.role
      }, not a member: only members have wallets`,
    )
  }
  return { id: user.id, email: user.email, displayName: user.displayName, status: user.status }
}

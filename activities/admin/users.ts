import type { Db } from '../../prisma/client.js'
import { createUser, type CreatedUser, type NewUser } from '../identity/users.js'
import { AuditWriteError, recordAuditEntry, type AuditContext } from './audit.js'

/** Creating a user as an administrative act: the user, then the audit entry that says who created it. */

export interface AdministrativelyCreatedUser extends CreatedUser {
  auditEntryId: string
}

export async function createUserAudited(
  db: Db,
  user: NewUser,
  audit: AuditContext,
): Promise<AdministrativelyCreatedUser> {
  const created = await createUser(db, user)
  // createUser runs its own transaction, so the entry is written right after it commits. If that write fails the
  // user exists without its entry: say so plainly rather than let it pass as an ordinary error.
  try {
    const auditEntryId = await recordAuditEntry(db, {
      channel: audit.channel,
      actorId: audit.actorId,
      action: 'user.create',
      subject: `user:${created.id}`,
      details: {
        role: created.role,
        email: created.email,
        displayName: created.displayName,
        companyId: created.companyId,
        callingProvider: user.callingProvider ?? null,
        callingHandle: user.callingHandle ?? null,
        ...(user.role === 'operator' ? { ratePerMinuteCents: user.ratePerMinuteCents ?? null } : {}),
        ...(user.role === 'company' ? { companyShareBps: user.companyShareBps ?? null } : {}),
        ...(audit.origin ? { origin: audit.origin } : {}),
      },
    })
    return { ...created, auditEntryId }
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error)
    throw new AuditWriteError(
      `user ${created.email} was created (id ${created.id}) but its audit entry was not written: ${reason}`,
    )
  }
}

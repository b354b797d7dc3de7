import type { Prisma } from '../../prisma/client.js'
import type { Tx } from '../ledger/tx.js'

/**
 * The audit log: who changed what, through which door. Every administrative change (the admin CLI now, the admin
 * portal later) writes one entry, so a question like "why does this wallet hold $20 more?" has an answer.
 */

/** "cli" for the admin command line, "web" for the portals. */
export type AuditChannel = 'cli' | 'web'

export interface AuditEntry {
  channel: AuditChannel
  /** The signed-in platform user who acted; null on the command line, which has no platform login. */
  actorId: string | null
  /** What happened, as "<thing>.<verb>": user.create, wallet.credit. */
  action: string
  /** What it happened to, e.g. "user:<id>". */
  subject: string
  /** The facts of the change. Never a secret: no password, no token. */
  details: Prisma.InputJsonObject
}

/** Who acts and through which door: what every audited operation needs besides its own facts. */
export interface AuditContext {
  channel: AuditChannel
  actorId: string | null
  /** Where the change came from (the OS user and host for the CLI), stored with the entry. */
  origin?: Prisma.InputJsonObject
}

/** The change was made but its entry could not be written: never to pass as an ordinary failure. */
export class AuditWriteError extends Error {
  override name = 'AuditWriteError'
}

/** Writes one entry and returns its id (a bigint in the database, a decimal string here so it survives JSON). */
export async function recordAuditEntry(tx: Tx, entry: AuditEntry): Promise<string> {
  const row = await tx.auditLogEntry.create({
    data: {
      actorId: entry.actorId,
      channel: entry.channel,
      action: entry.action,
      subject: entry.subject,
      details: entry.details,
    },
    select: { id: true },
  })
  return row.id.toString()
}

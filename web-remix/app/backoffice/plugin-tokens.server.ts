import type { Db } from '../../../prisma/client.js'

/** The operator portal's view of their plugin sign-ins: what is signed in where, and the revoking of one. */

export interface PluginSignIn {
  id: string
  deviceName: string | null
  createdAt: string
  lastUsedAt: string | null
  expiresAt: string
}

/** The operator's tokens that still work (not revoked, not expired), newest first. */
export async function listPluginSignIns(db: Db, operatorId: string): Promise<PluginSignIn[]> {
  const rows = await db.pluginToken.findMany({
    where: { userId: operatorId, revokedAt: null, expiresAt: { gt: new Date() } },
    orderBy: { createdAt: 'desc' },
    select: { id: true, deviceName: true, createdAt: true, lastUsedAt: true, expiresAt: true },
  })
  return rows.map((row) => ({
    id: row.id,
    deviceName: row.deviceName,
    createdAt: row.createdAt.toISOString(),
    lastUsedAt: row.lastUsedAt?.toISOString() ?? null,
    expiresAt: row.expiresAt.toISOString(),
  }))
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/**
 * Revokes one of the operator's own tokens; false when there is no such live token of theirs (another operator's
 * id answers exactly as an unknown one). The plugin holding it is refused from its next request, and its event
 * stream closes within seconds.
 */
export async function revokePluginSignIn(db: Db, operatorId: string, tokenId: string): Promise<boolean> {
  if (!UUID.test(tokenId)) return false
  const revoked = await db.pluginToken.updateMany({
    where: { id: tokenId.toLowerCase(), userId: operatorId, revokedAt: null, expiresAt: { gt: new Date() } },
    data: { revokedAt: new Date() },
  })
  return revoked.count === 1
}

import type { Db } from '../../prisma/client.js'
import type { WalletAdjustmentActivities } from '../../workflows/wallet-adjustment.js'
import { adjustMemberWallet } from './wallet-adjustments.js'

/** The admin portal's wallet adjustment: the same audited credit as the CLI's, run as the workflow's activity. */
export function createPortalAdjustmentActivities(db: Db): WalletAdjustmentActivities {
  return {
    async adjustWalletForAdmin(input) {
      const member = await db.user.findUnique({ where: { id: input.memberId }, select: { role: true } })
      if (member?.role !== 'member') throw new RangeError(`user ${input.memberId} is not a member`)
      const result = await adjustMemberWallet(
        db,
        { memberId: input.memberId, amountCents: input.amountCents, reason: input.reason, idempotencyKey: input.idempotencyKey },
        { channel: 'web', actorId: input.adminId, origin: { clientAddress: input.clientAddress } },
      )
      return { transferId: result.transferId, created: result.created, availableCents: result.balance.availableCents }
    },
  }
}

import { loadConfig, type PlatformConfig } from '../config/env.js'
import type { Db } from '../prisma/client.js'
import type { CallActivities } from '../workflows/definitions.js'
import type { PayoutActivities } from '../workflows/payout.js'
import type { ScheduledCallActivities } from '../workflows/scheduled-call-definitions.js'
import type { TopUpActivities } from '../workflows/topup.js'
import type { WalletAdjustmentActivities } from '../workflows/wallet-adjustment.js'
import { createPortalAdjustmentActivities } from './admin/portal-adjustments.js'
import { createCallActivities } from './calls.js'
import type { CallRooms } from './media/call-rooms.js'
import { createLiveKit, liveKitSettings } from './media/livekit.js'
import { createCallRooms } from './media/livekit-rooms.js'
import { createPayments } from './payments/index.js'
import { mailTopUpReceipt } from './payments/receipt.js'
import { createPayoutActivities } from './payouts/activities.js'
import { createScheduledCallActivities, type ScheduleMailer } from './scheduled-calls.js'
import { createTopUpActivities } from './topups.js'

export interface ActivityDeps {
  db: Db
  /**
   * The worker's configuration (payments, top-up limits, the defaults of the platform settings, PUBLIC_URL for links
   * in mails); the process's own when omitted.
   */
  config?: PlatformConfig
  /** How scheduled calls' messages leave (the mail outbox unless given). */
  scheduleMailer?: ScheduleMailer
  /** The calls' rooms on the media server (LiveKit at LIVEKIT_URL unless given). */
  rooms?: CallRooms
}

export type PlatformActivities = CallActivities & ScheduledCallActivities & TopUpActivities & PayoutActivities & WalletAdjustmentActivities

/** Every activity the worker registers, built from injected dependencies (tests inject their own database). */
export function createActivities(deps: ActivityDeps): PlatformActivities {
  const config = deps.config ?? loadConfig()
  return {
    ...createCallActivities(deps.db, { publicUrl: config.PUBLIC_URL, rooms: deps.rooms ?? createCallRooms(createLiveKit(liveKitSettings(config))) }),
    ...createScheduledCallActivities({ db: deps.db, publicUrl: config.PUBLIC_URL, mailer: deps.scheduleMailer }),
    ...createTopUpActivities({
      db: deps.db,
      payments: createPayments(config, deps.db).provider,
      checkoutTtlMs: config.TOPUP_CHECKOUT_TTL_MS,
      minCents: config.TOPUP_MIN_CENTS,
      maxCents: config.TOPUP_MAX_CENTS,
      onCredited: mailTopUpReceipt(config.PUBLIC_URL),
    }),
    ...createPayoutActivities(deps.db, config),
    ...createPortalAdjustmentActivities(deps.db),
  }
}

import type { PlatformConfig } from '../../config/env.js'
import type { Db } from '../../prisma/client.js'
import type { PaymentProvider } from './provider.js'
import { createSandboxProvider } from './sandbox/client.js'
import { createSandboxPay, type SandboxPay } from './sandbox/sandbox-pay.js'

/** The configured payment provider (PAYMENT_PROVIDER), and the sandbox itself when that is the one. */
export interface Payments {
  provider: PaymentProvider
  /** The sandbox's own side (its pages and webhooks); null for a real provider. */
  sandbox: SandboxPay | null
}

export function createPayments(config: Pick<PlatformConfig, 'PAYMENT_PROVIDER' | 'PAYMENT_WEBHOOK_SECRET' | 'PAYMENT_WEBHOOK_TOLERANCE_S'>, db: Db): Payments {
  switch (config.PAYMENT_PROVIDER) {
    case 'sandbox': {
      const sandbox = createSandboxPay({ db, webhookSecret: config.PAYMENT_WEBHOOK_SECRET })
      const provider = createSandboxProvider(sandbox, {
        webhookSecret: config.PAYMENT_WEBHOOK_SECRET,
        toleranceS: config.PAYMENT_WEBHOOK_TOLERANCE_S,
      })
      return { provider, sandbox }
    }
  }
}

import { z } from 'zod'

/**
 * The platform's configuration, read from the environment and validated once, at start-up.
 * Every process (web, worker, admin CLI, scripts) calls loadConfig(); nothing else reads process.env.
 */

const int = (fallback: number) => z.coerce.number().int().nonnegative().default(fallback)
const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback)

const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  DATABASE_URL: z
    .string()
    .url()
    .default('postgresql://postgres@127.0.0.1:5432/perminute'),
  TEMPORAL_ADDRESS: z.string().min(1).default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('calls'),
  TEMPORAL_UI_URL: z.string().url().default('http://127.0.0.1:8233'),
  WEB_PORT: positiveInt(3000),
  WEB_HOST: z.string().min(1).default('127.0.0.1'),
  // Billing (DESIGN.md, money rules). Periods other than 60 s are for tests and benchmarks only.
  BILLING_PERIOD_MS: positiveInt(60_000),
  GRACE_MS: int(5_000),
  LOW_BALANCE_PERIODS: positiveInt(2),
  HEARTBEAT_TIMEOUT_MS: positiveInt(45_000),
  // How often the worker looks for calls whose plugin went quiet.
  HEARTBEAT_SCAN_MS: positiveInt(1_000),
  // Revenue split, in basis points (1/100 of a percent) of what a call charged.
  PLATFORM_COMMISSION_BPS: int(2_000).pipe(z.number().max(10_000)),
  DEFAULT_COMPANY_SHARE_BPS: int(1_000).pipe(z.number().max(10_000)),
  // How long "online" lasts after the plugin's last presence report.
  PRESENCE_TTL_MS: positiveInt(60_000),
  // How long the call-end endpoint waits for settlement before answering 202.
  SETTLE_WAIT_MS: positiveInt(5_000),
  WORKER_MAX_CONCURRENT_ACTIVITIES: positiveInt(200),
  WORKER_MAX_CONCURRENT_WORKFLOW_TASKS: positiveInt(100),
  WORKER_MAX_CACHED_WORKFLOWS: positiveInt(5_000),
})

export type PlatformConfig = Readonly<z.infer<typeof envSchema>>

export class ConfigError extends Error {
  override name = 'ConfigError'
}

export function parseConfig(env: Record<string, string | undefined>): PlatformConfig {
  const result = envSchema.safeParse(env)
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`)
    throw new ConfigError(`Invalid configuration in the environment:\n${problems.join('\n')}`)
  }
  return Object.freeze(result.data)
}

let cached: PlatformConfig | undefined

/** The process's configuration; parsed on first use and then reused. */
export function loadConfig(): PlatformConfig {
  cached ??= parseConfig(process.env)
  return cached
}

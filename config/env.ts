import { z } from 'zod'
import { isLoopbackOnly, parseCidrs, parseTrustProxy } from './addresses.js'

/**
 * The platform's configuration, read from the environment and validated once, at start-up.
 * Every process (web, worker, admin CLI, scripts) calls loadConfig(); nothing else reads process.env.
 */

/** A zod check from a parser that throws: its message (without the variable's name, which zod's path gives). */
function validatedBy(parse: (value: string) => unknown) {
  return (value: string, context: z.RefinementCtx) => {
    try {
      parse(value)
    } catch (error) {
      context.addIssue({ code: z.ZodIssueCode.custom, message: (error as Error).message.replace(/^[A-Z_]+: /, '') })
    }
  }
}

const int = (fallback: number) => z.coerce.number().int().nonnegative().default(fallback)
const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback)

const iceServers = z
  .array(
    z
      .object({
        urls: z.union([z.string().regex(/^(stun|stuns|turn|turns):/, 'a stun:, stuns:, turn: or turns: URL'), z.array(z.string().regex(/^(stun|stuns|turn|turns):/)).min(1)]),
        username: z.string().optional(),
        credential: z.string().optional(),
      })
      .strict(),
  )
  .max(10)

const envSchema = z.object({
  // The development switch, and the only one (docs/decisions/056-fail-closed-configuration.md): "development" and
  // "test" turn on what a developer's machine needs (the dev mailbox, development secrets, the sandbox payments);
  // "production" turns them off. No default: a process started without it stops. ./platform up and the test set-up
  // set it themselves.
  NODE_ENV: z.enum(['development', 'production', 'test'], {
    required_error: 'is not set: use development (or test) on a developer\'s machine, production everywhere else',
    invalid_type_error: 'must be development, test or production',
  }),
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
  // Calls the platform carries (docs/decisions/060): how long an accepted call waits for both parties, how often the
  // worker asks the media server who is in each room, and how long both may be unseen before the call ends there.
  CALL_CONNECT_TIMEOUT_MS: positiveInt(120_000),
  MEDIA_SCAN_MS: positiveInt(2_000),
  MEDIA_LOST_AFTER_MS: positiveInt(10_000),
  // How long a join token for a call's room is good for (the client renews it while connected).
  MEDIA_TOKEN_TTL_S: positiveInt(600),
  // Revenue split, in basis points (1/100 of a percent) of what a call charged.
  PLATFORM_COMMISSION_BPS: int(2_000).pipe(z.number().max(10_000)),
  DEFAULT_COMPANY_SHARE_BPS: int(1_000).pipe(z.number().max(10_000)),
  // How long "online" lasts after the plugin's last presence report.
  PRESENCE_TTL_MS: positiveInt(60_000),
  // Event streams one web process keeps open: per browser session or plugin token, and per client address (429 beyond).
  EVENT_STREAMS_PER_CLIENT: positiveInt(8),
  EVENT_STREAMS_PER_ADDRESS: positiveInt(64),
  // How long the call-end endpoint waits for settlement before answering 202.
  SETTLE_WAIT_MS: positiveInt(5_000),
  WORKER_MAX_CONCURRENT_ACTIVITIES: positiveInt(200),
  WORKER_MAX_CONCURRENT_WORKFLOW_TASKS: positiveInt(100),
  WORKER_MAX_CACHED_WORKFLOWS: positiveInt(5_000),
  // Where the site is reached from outside: links in mails point here.
  PUBLIC_URL: z.string().url().optional(),
  // Signs the session cookie. With the development switch a development value is used when unset; production must set
  // its own (checked below).
  SESSION_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  SESSION_MAX_AGE_DAYS: positiveInt(30),
  // A portal session unused this long ends (docs/decisions/053-session-and-token-lifetimes.md); admins' sessions idle
  // out sooner and end after ADMIN_SESSION_MAX_HOURS however busy.
  SESSION_IDLE_MINUTES: positiveInt(7 * 24 * 60),
  ADMIN_SESSION_IDLE_MINUTES: positiveInt(30),
  ADMIN_SESSION_MAX_HOURS: positiveInt(12),
  // A plugin token lasts this long from its issue (fractions of a day are for tests); the plugin renews it before.
  PLUGIN_TOKEN_TTL_DAYS: z.coerce.number().positive().max(365).default(30),
  // Encrypts secrets kept in the database (admins' TOTP secrets) and keys the recovery codes' HMAC: 32 bytes, base64.
  // A development value is used outside production; production must set its own (checked below).
  DATA_ENCRYPTION_KEY: z
    .string()
    .refine((value) => /^[A-Za-z0-9+/_-]+={0,2}$/.test(value) && Buffer.from(value, 'base64').length === 32, 'must be 32 bytes in base64 (openssl rand -base64 32)')
    .optional(),
  // Secure cookies (HTTPS only): on by default in production, off for local development over plain HTTP.
  COOKIE_SECURE: z.enum(['true', 'false']).optional(),
  // Client addresses come from X-Forwarded-For only behind a proxy we trust: Express's 'trust proxy' setting
  // (false, a hop count, or the proxies' addresses/CIDRs, comma-separated; never true: config/addresses.ts).
  TRUST_PROXY: z.string().default('false').superRefine(validatedBy(parseTrustProxy)),
  // Mail: through Mailgun when both are set, otherwise kept in the local outbox (the dev mailbox shows it).
  MAILGUN_API_KEY: z.string().min(1).optional(),
  MAILGUN_DOMAIN: z.string().min(1).optional(),
  MAILGUN_URL: z.string().url().default('https://api.mailgun.net'),
  MAIL_FROM: z.string().min(3).default('perminute <no-reply@perminute.test>'),
  // How often the mail dispatcher looks for mail to send (new mail wakes it at once through NOTIFY).
  MAIL_POLL_MS: positiveInt(5_000),
  // Scheduled calls (docs/decisions/013-scheduled-calls.md); values other than the defaults are for tests.
  // How far ahead a proposed time must be.
  SCHEDULE_MIN_NOTICE_MS: int(15 * 60_000),
  // Reminders before the agreed time, comma-separated (ms).
  SCHEDULE_REMINDER_LEADS_MS: z
    .string()
    .regex(/^\d+(,\d+)*$/, 'comma-separated whole numbers of ms')
    .default(`${24 * 3_600_000},${3_600_000}`)
    .transform((text) => text.split(',').map(Number)),
  // The no-show rule: the member may be reported absent from this long after the agreed time, and a reservation no
  // call used is released (the operator did not show) this long after it.
  SCHEDULE_MEMBER_NO_SHOW_AFTER_MS: positiveInt(10 * 60_000),
  SCHEDULE_CLOSE_AFTER_MS: positiveInt(15 * 60_000),
  // Payments (docs/decisions/015-payment-provider-and-sandbox.md). "sandbox" is the built-in hosted payment page
  // with test cards; it is refused in production unless PAYMENT_SANDBOX_IN_PRODUCTION=true (a staging site, say).
  PAYMENT_PROVIDER: z.enum(['sandbox']).default('sandbox'),
  PAYMENT_SANDBOX_IN_PRODUCTION: z.enum(['true', 'false']).default('false').transform((v) => v === 'true'),
  // The shared secret webhooks are signed with (HMAC-SHA256). With the development switch a development value is used
  // when unset; production must set its own.
  PAYMENT_WEBHOOK_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  // A webhook whose signed timestamp is further than this from our clock is refused (replay protection).
  PAYMENT_WEBHOOK_TOLERANCE_S: positiveInt(300),
  // A checkout the member abandons expires after this long.
  TOPUP_CHECKOUT_TTL_MS: positiveInt(30 * 60_000),
  TOPUP_MIN_CENTS: positiveInt(500),
  TOPUP_MAX_CENTS: positiveInt(50_000),
  // The back office. Defaults of the platform settings an admin can change (activities/settings.ts).
  PRICE_MIN_CENTS: positiveInt(10),
  PRICE_MAX_CENTS: positiveInt(100_000),
  PAYOUT_MINIMUM_CENTS: positiveInt(2_000),
  // Earnings of a call become available for payout this long after its settlement.
  EARNINGS_CLEARING_HOURS: int(72),
  // The admin portal answers only these client addresses (comma-separated CIDRs, or "none"); 403 for everyone else.
  ADMIN_ALLOWED_CIDRS: z.string().default('127.0.0.0/8,::1/128').superRefine(validatedBy((value) => parseCidrs(value, 'ADMIN_ALLOWED_CIDRS'))),
  // Portals by host: "host=portal" pairs, comma-separated (portals: public, accounts, admin). Unset: one host serves all.
  PUBLIC_HOSTS: z.string().optional(),
  // TOTP issuer shown in authenticator apps.
  TOTP_ISSUER: z.string().min(1).default('perminute'),
  // Where uploaded media (operators' video previews and photos) are stored; relative paths are from the working directory.
  MEDIA_DIR: z.string().min(1).default('.data/media'),
  // Where operators download the plugin: the base URL its installers are published under (plugin/README.md). Unset,
  // this site serves what `npm run dist` in plugin/ packaged into PLUGIN_ARTIFACTS_DIR, at /downloads/plugin.
  PLUGIN_DOWNLOAD_URL: z.string().url().optional(),
  PLUGIN_ARTIFACTS_DIR: z.string().min(1).default('plugin/out'),
  // LiveKit carries the calls' audio and video (docs/decisions/070-livekit.md). LIVEKIT_URL is what browsers and the
  // plugin connect to (ws:// or wss://); LIVEKIT_API_URL is where the web and the worker reach its API, the same server
  // over http(s) unless told otherwise (inside docker-compose, say). Outside production, a local LiveKit with
  // development keys is assumed when they are unset; production must set all three (checked below).
  LIVEKIT_URL: z
    .string()
    .url()
    .refine((url) => /^wss?:\/\//.test(url), 'must be a ws:// or wss:// URL')
    .optional(),
  LIVEKIT_API_URL: z
    .string()
    .url()
    .refine((url) => /^https?:\/\//.test(url), 'must be an http:// or https:// URL')
    .optional(),
  LIVEKIT_API_KEY: z.string().min(1).optional(),
  LIVEKIT_API_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  // The STUN/TURN servers the member's browser uses for a call's media, as a JSON array of RTCIceServer
  // ([{"urls":"turn:turn.example.com:3478","username":"…","credential":"…"}]). Unset: none with the development
  // switch on (LiveKit on loopback needs none, and nothing may leave the machine; LiveKit would otherwise name Google's
  // public STUN server), and in production the ones LiveKit's own join answer names (its TURN, when it has one).
  LIVEKIT_ICE_SERVERS: z
    .string()
    .optional()
    .transform((text, context) => {
      if (text === undefined || text.trim() === '') return undefined
      try {
        return iceServers.parse(JSON.parse(text))
      } catch (error) {
        context.addIssue({ code: z.ZodIssueCode.custom, message: `must be a JSON array of {urls, username?, credential?}: ${(error as Error).message.split('\n')[0]}` })
        return z.NEVER
      }
    }),
  // The local LiveKit that `./platform up` starts (its signal port is LIVEKIT_URL's): ICE over TCP on this port, and
  // media over UDP on this small range ("start-end").
  LIVEKIT_RTC_TCP_PORT: positiveInt(7881).pipe(z.number().max(65_535)),
  LIVEKIT_RTC_UDP_PORTS: z
    .string()
    .regex(/^\d+-\d+$/, 'a port range, "start-end"')
    .default('50000-50049')
    .transform((text) => {
      const [start, end] = text.split('-').map(Number) as [number, number]
      return { start, end }
    })
    .refine(({ start, end }) => start >= 1024 && start <= end && end <= 65_535, 'must be start-end with 1024 <= start <= end <= 65535'),
})

/** Used only when SESSION_SECRET is unset with the development switch on; never valid in production. */
export const DEV_SESSION_SECRET = 'development-only-session-secret-change-me'
/** Used only when DATA_ENCRYPTION_KEY is unset in development and tests; never valid in production. */
export const DEV_DATA_ENCRYPTION_KEY = Buffer.from('development-only-data-key-32-byt').toString('base64')
/** Used only when the LiveKit keys are unset with the development switch on; never valid in production. */
export const DEV_LIVEKIT_API_KEY = 'devkey'
export const DEV_LIVEKIT_API_SECRET = 'development-only-livekit-secret-change-me'
/** Used only when PAYMENT_WEBHOOK_SECRET is unset with the development switch on; never valid in production. */
export const DEV_PAYMENT_WEBHOOK_SECRET = 'dev-only-sandbox-webhook-secret-not-for-production'
/**
 * Secrets that have been printed in this repository (its defaults, and the example a compose file once carried):
 * anyone can sign with them, so production refuses them as if they were unset.
 */
const PUBLIC_SECRETS = new Set([DEV_SESSION_SECRET, DEV_PAYMENT_WEBHOOK_SECRET, DEV_LIVEKIT_API_SECRET, 'compose-sandbox-webhook-secret-change-me'])

/** Where a local LiveKit listens when LIVEKIT_URL is unset outside production. */
export const DEV_LIVEKIT_URL = 'ws://127.0.0.1:7880'

/** Whether the development switch is on: NODE_ENV=development or test. */
export const developmentSwitch = (nodeEnv: string) => nodeEnv === 'development' || nodeEnv === 'test'

const ownSecret = (value: string | undefined) => value !== undefined && !PUBLIC_SECRETS.has(value)

function behindNoTrustedProxyWithLoopbackAdmins(env: { TRUST_PROXY: string; ADMIN_ALLOWED_CIDRS: string }): boolean {
  try {
    return parseTrustProxy(env.TRUST_PROXY) === false && isLoopbackOnly(parseCidrs(env.ADMIN_ALLOWED_CIDRS, 'ADMIN_ALLOWED_CIDRS'))
  } catch {
    return false // a malformed value has its own issue
  }
}

const checkedSchema = envSchema
  .refine((env) => developmentSwitch(env.NODE_ENV) || ownSecret(env.SESSION_SECRET), {
    path: ['SESSION_SECRET'],
    message: 'production needs a SESSION_SECRET of its own (at least 32 random characters; never a value printed in this repository)',
  })
  .refine((env) => env.NODE_ENV !== 'production' || (env.DATA_ENCRYPTION_KEY !== undefined && env.DATA_ENCRYPTION_KEY !== DEV_DATA_ENCRYPTION_KEY), {
    path: ['DATA_ENCRYPTION_KEY'],
    message: 'production needs a DATA_ENCRYPTION_KEY of its own (32 random bytes in base64: openssl rand -base64 32)',
  })
  .refine((env) => Boolean(env.MAILGUN_API_KEY) === Boolean(env.MAILGUN_DOMAIN), {
    path: ['MAILGUN_DOMAIN'],
    message: 'set both MAILGUN_API_KEY and MAILGUN_DOMAIN, or neither',
  })
  .refine((env) => env.SCHEDULE_CLOSE_AFTER_MS > env.SCHEDULE_MEMBER_NO_SHOW_AFTER_MS, {
    path: ['SCHEDULE_CLOSE_AFTER_MS'],
    message: 'must be later than SCHEDULE_MEMBER_NO_SHOW_AFTER_MS, or no member could ever be reported absent',
  })
  .refine((env) => developmentSwitch(env.NODE_ENV) || ownSecret(env.PAYMENT_WEBHOOK_SECRET), {
    path: ['PAYMENT_WEBHOOK_SECRET'],
    message: 'production needs a PAYMENT_WEBHOOK_SECRET of its own (at least 32 random characters; never a value printed in this repository)',
  })
  .refine((env) => env.NODE_ENV !== 'production' || env.PAYMENT_PROVIDER !== 'sandbox' || env.PAYMENT_SANDBOX_IN_PRODUCTION, {
    path: ['PAYMENT_PROVIDER'],
    message: 'the sandbox takes no real money; set PAYMENT_SANDBOX_IN_PRODUCTION=true to use it in production anyway',
  })
  .refine((env) => env.NODE_ENV !== 'production' || !behindNoTrustedProxyWithLoopbackAdmins(env), {
    path: ['ADMIN_ALLOWED_CIDRS'],
    message:
      'allows loopback only while no proxy is trusted (TRUST_PROXY=false): behind a reverse proxy every visitor would ' +
      'look like 127.0.0.1 and reach the admin portal. Name the admins\' addresses, set TRUST_PROXY to the proxy, or ' +
      'use "none" to close the admin portal on this server',
  })
  .refine((env) => env.TOPUP_MIN_CENTS <= env.TOPUP_MAX_CENTS, { path: ['TOPUP_MIN_CENTS'], message: 'is above TOPUP_MAX_CENTS' })
  .refine((env) => developmentSwitch(env.NODE_ENV) || Boolean(env.LIVEKIT_URL), {
    path: ['LIVEKIT_URL'],
    message: 'production needs the LiveKit server browsers connect to (ws:// or wss://)',
  })
  .refine((env) => developmentSwitch(env.NODE_ENV) || Boolean(env.LIVEKIT_API_KEY), {
    path: ['LIVEKIT_API_KEY'],
    message: 'production needs the API key of its LiveKit server',
  })
  .refine((env) => developmentSwitch(env.NODE_ENV) || ownSecret(env.LIVEKIT_API_SECRET), {
    path: ['LIVEKIT_API_SECRET'],
    message: 'production needs a LIVEKIT_API_SECRET of its own (at least 32 characters; never a value printed in this repository)',
  })
  .transform((env) => ({
    ...env,
    LIVEKIT_API_KEY: env.LIVEKIT_API_KEY ?? DEV_LIVEKIT_API_KEY,
    LIVEKIT_API_SECRET: env.LIVEKIT_API_SECRET ?? DEV_LIVEKIT_API_SECRET,
    /** The development switch (NODE_ENV=development or test): the dev mailbox, development secrets, sandbox payments. */
    DEVELOPMENT_FEATURES: developmentSwitch(env.NODE_ENV),
    SESSION_SECRET: env.SESSION_SECRET ?? DEV_SESSION_SECRET,
    PAYMENT_WEBHOOK_SECRET: env.PAYMENT_WEBHOOK_SECRET ?? DEV_PAYMENT_WEBHOOK_SECRET,
    DATA_ENCRYPTION_KEY: env.DATA_ENCRYPTION_KEY ?? DEV_DATA_ENCRYPTION_KEY,
    LIVEKIT_URL: (env.LIVEKIT_URL ?? DEV_LIVEKIT_URL).replace(/\/$/, ''),
    /** The ICE servers browsers are told to use for a call, or null: those LiveKit's join answer names. */
    LIVEKIT_ICE_SERVERS: env.LIVEKIT_ICE_SERVERS ?? (developmentSwitch(env.NODE_ENV) ? [] : null),
    LIVEKIT_API_URL: (env.LIVEKIT_API_URL ?? (env.LIVEKIT_URL ?? DEV_LIVEKIT_URL).replace(/^ws/, 'http')).replace(/\/$/, ''),
    PUBLIC_URL: (env.PUBLIC_URL ?? `http://${env.WEB_HOST.includes(':') ? `[${env.WEB_HOST}]` : env.WEB_HOST}:${env.WEB_PORT}`).replace(/\/$/, ''),
    COOKIE_SECURE: env.COOKIE_SECURE === undefined ? env.NODE_ENV === 'production' : env.COOKIE_SECURE === 'true',
  }))
  .transform((env) => ({ ...env, PLUGIN_DOWNLOAD_URL: (env.PLUGIN_DOWNLOAD_URL ?? `${env.PUBLIC_URL}/downloads/plugin`).replace(/\/$/, '') }))

export type PlatformConfig = Readonly<z.infer<typeof checkedSchema>>

export class ConfigError extends Error {
  override name = 'ConfigError'
}

export function parseConfig(env: Record<string, string | undefined>): PlatformConfig {
  const result = checkedSchema.safeParse(env)
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

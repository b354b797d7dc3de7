import { hostname } from 'node:os'
import { join } from 'node:path'
import { CallEndQueue } from './call-end-queue.js'
import { OperatorRecord } from './operator-record.js'
import { DEFAULT_INTERVALS, OperatorSession, type CoreIntervals, type PluginNotification } from './operator-session.js'
import { isPlatformApiError, PlatformApi, PlatformApiError, type CallingProvider, type PluginEndReason } from './platform-api.js'
import type { ActionResult, PluginState } from './plugin-state.js'
import { platformUrlProblem } from './platform-url.js'
import { SessionVault, type SavedSession, type SecretCipher, type TokenStorage } from './session-vault.js'

/**
 * The plugin without its windows: signs the operator in and out, keeps the session, and runs an OperatorSession
 * while signed in. The Electron main process wraps it (tray, notifications, the window); tests drive it directly
 * against a real platform. It talks to the platform only through the plugin API (PlatformApi).
 */

export type { CoreIntervals, PluginNotification }

export interface PluginCoreOptions {
  /** The platform's origin, e.g. https://perminute.example (the plugin API lives under /api/plugin/v1). */
  platformUrl: string
  /** Where the core keeps its files (Electron: app.getPath('userData')). */
  dataDir: string
  /** The operating system's keychain; null keeps the token in memory only. */
  cipher: SecretCipher | null
  onNotification?: (notification: PluginNotification) => void
  log?: (message: string) => void
  intervals?: Partial<CoreIntervals>
  /** How long one request may take (default 15 s). */
  requestTimeoutMs?: number
  fetch?: typeof fetch
  now?: () => number
  /** What the operator portal lists this sign-in as (default: the computer's name). */
  deviceName?: string
}

/** The computer's name, as the platform takes a device name: printable, 1–100 characters. */
function defaultDeviceName(): string | null {
  const name = hostname().replace(/\p{Cc}/gu, '').trim().slice(0, 100)
  return name || null
}

/** When a token just issued is due for renewal: halfway through its lifetime, by this computer's clock. */
function renewalTime(nowMs: number, expiresInSeconds: number | null | undefined): number | undefined {
  return typeof expiresInSeconds === 'number' ? nowMs + (expiresInSeconds * 1000) / 2 : undefined
}

const SIGNED_OUT_BY_PLATFORM = 'Your session has expired or was revoked. Please sign in again.'
const ACCOUNT_DISABLED = 'Your operator account is disabled. Please contact your company or the platform.'

/** The platform refused sign-in for a while (429): how long, in whole minutes, from its Retry-After. */
export function tooManyAttempts(retryAfterMs: number | null): string {
  if (retryAfterMs === null) return 'Too many attempts, try again later.'
  const minutes = Math.max(1, Math.ceil(retryAfterMs / 60_000))
  return `Too many attempts, try again in ${minutes} minute${minutes === 1 ? '' : 's'}.`
}

export class PluginCore {
  private session: OperatorSession | null = null
  private screen: PluginState['screen'] = 'starting'
  private signInMessage: string | null = null
  private tokenStorage: TokenStorage | null = null
  /** The session as saved (its token, when to renew it); null while signed out. */
  private saved: SavedSession | null = null
  private renewTimer: ReturnType<typeof setInterval> | undefined
  private renewing: Promise<void> | null = null
  private readonly listeners = new Set<(state: PluginState) => void>()
  private readonly intervals: CoreIntervals
  private readonly now: () => number
  private readonly log: (message: string) => void
  private closed = false

  private constructor(
    private readonly options: PluginCoreOptions,
    private readonly queue: CallEndQueue,
    private readonly vault: SessionVault,
  ) {
    this.intervals = { ...DEFAULT_INTERVALS, ...options.intervals }
    this.now = options.now ?? Date.now
    this.log = options.log ?? ((message) => console.warn(`plugin: ${message}`))
  }

  /** Opens the core on its data directory and resumes the saved session, if there is one and the platform takes it. */
  static async open(options: PluginCoreOptions): Promise<PluginCore> {
    const log = options.log ?? ((message: string) => console.warn(`plugin: ${message}`))
    const queue = await CallEndQueue.open(join(options.dataDir, 'call-ends.json'), log)
    const vault = new SessionVault(join(options.dataDir, 'session.bin'), options.cipher, log)
    const core = new PluginCore(options, queue, vault)
    core.tokenStorage = await vault.storage()
    // An address the plugin will not talk to gets neither a saved token nor a password: the sign-in screen says why.
    const problem = platformUrlProblem(options.platformUrl)
    const saved = problem ? null : await vault.load()
    if (saved) await core.begin(saved, { verify: true })
    else {
      core.signInMessage = problem
      core.show('sign_in')
    }
    return core
  }

  get state(): PluginState {
    const base = {
      screen: this.screen,
      signInMessage: this.signInMessage,
      platformUrl: this.options.platformUrl,
      tokenStorage: this.tokenStorage,
    }
    if (!this.session) {
      return {
        ...base,
        operator: null,
        link: null,
        connected: false,
        stream: 'off',
        presence: 'offline',
        cards: [],
        call: null,
        today: { calls: [], chargedCents: 0, earningsCents: 0 },
        pendingCallEnds: 0,
        problem: null,
        video: { status: 'idle', videoUrl: null, message: null },
      }
    }
    const view = this.session.view()
    return { ...base, operator: { ...this.session.operator }, ...view, screen: view.connected ? 'connected' : 'link' }
  }

  /** Called with every new state; answers a function that stops the calls. */
  subscribe(listener: (state: PluginState) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  async signIn(login: string, password: string): Promise<ActionResult> {
    if (this.session) return { ok: false, code: 'signed_in', message: 'You are already signed in.' }
    const problem = platformUrlProblem(this.options.platformUrl)
    if (problem) return { ok: false, code: 'insecure_platform_url', message: problem }
    const api = this.newApi(null)
    try {
      const signedIn = await api.login(login.trim(), password, this.options.deviceName ?? defaultDeviceName())
      const session: SavedSession = { ...signedIn, renewAfterMs: renewalTime(this.now(), signedIn.expiresInSeconds) }
      this.tokenStorage = await this.vault.save(session).catch((error: unknown) => {
        // The keychain refused: the session still works, for this run only.
        this.log(`could not save the session in the keychain: ${(error as Error).message}`)
        return 'memory' as const
      })
      await this.begin(session, { verify: false })
      return { ok: true }
    } catch (error) {
      const messages: Record<string, string> = {
        invalid_credentials: 'The e-mail address or the password is not right.',
        account_disabled: ACCOUNT_DISABLED,
        invalid_body: 'Enter your e-mail address and your password.',
      }
      if (error instanceof PlatformApiError) {
        if (error.status === 429) return { ok: false, code: error.code, message: tooManyAttempts(error.retryAfterMs) }
        const message = messages[error.code] ?? (error.status === 0 ? `The platform cannot be reached at ${this.options.platformUrl}.` : error.message)
        return { ok: false, code: error.code, message }
      }
      throw error
    }
  }

  /** Goes offline, revokes the token and forgets it. Refused during a call: the call must be ended first. */
  async signOut(): Promise<ActionResult> {
    const session = this.session
    if (!session) return { ok: true }
    if (session.hasCallInProgress()) {
      const ending = this.state.call?.phase === 'ending'
      return {
        ok: false,
        code: 'call_in_progress',
        // A queued end needs this session's token to be delivered.
        message: ending ? 'Your call is still being ended with the platform. Sign out once it is confirmed.' : 'End the call before signing out.',
      }
    }
    this.session = null
    this.stopRenewal()
    await session.stop({ goOffline: true })
    try {
      await session.api.logout()
    } catch (error) {
      // The token is forgotten here either way; one the platform still holds can be revoked from the portal.
      this.log(`could not revoke the token: ${(error as Error).message}`)
    }
    await this.vault.clear()
    this.signInMessage = null
    this.show('sign_in')
    return { ok: true }
  }

  link(provider: CallingProvider, handle: string): Promise<ActionResult> {
    return this.withSession((session) => session.link(provider, handle))
  }

  lookUpCaller(handle: string): Promise<ActionResult> {
    return this.withSession((session) => session.lookUpCaller(handle))
  }

  reopenMemberCard(callId: string): Promise<ActionResult> {
    return this.withSession((session) => session.reopenMemberCard(callId))
  }

  acceptCard(cardId: string): Promise<ActionResult> {
    return this.withSession((session) => session.acceptCard(cardId))
  }

  /** Puts a card away; a member's request from the website is declined. */
  dismissCard(cardId: string): Promise<ActionResult> {
    return this.withSession((session) => session.dismissCard(cardId))
  }

  endCall(reason: PluginEndReason = 'operator_hangup'): Promise<ActionResult> {
    return this.withSession((session) => session.endCall(reason))
  }

  /** Writes `body` in the chat of the call in progress. */
  sendChatMessage(body: string): Promise<ActionResult> {
    return this.withSession((session) => session.sendChatMessage(body))
  }

  acknowledgeCallEnd(): Promise<ActionResult> {
    return this.withSession((session) => session.acknowledgeCallEnd())
  }

  uploadProfileVideo(bytes: Uint8Array<ArrayBuffer>, contentType: string): Promise<ActionResult> {
    return this.withSession((session) => session.uploadVideo(bytes, contentType))
  }

  /** The computer woke up or the network came back: act now rather than at the next timer. */
  wake(): void {
    this.session?.wake()
  }

  /** Exit (the tray's Quit): offline at once. A call in progress stays on disk and is recovered at the next start. */
  async shutdown(): Promise<void> {
    await this.close({ goOffline: true })
  }

  /**
   * Stops without a word to the platform, as a crash or a killed process would: presence lapses by itself and the
   * call, if any, is recovered by the next start. For tests of exactly that.
   */
  async halt(): Promise<void> {
    await this.close({ goOffline: false })
  }

  // -------------------------------------------------------------------------------------------------------------

  private async close(options: { goOffline: boolean }): Promise<void> {
    if (this.closed) return
    this.closed = true
    const session = this.session
    this.session = null
    this.stopRenewal()
    await session?.stop(options)
    this.listeners.clear()
  }

  private newApi(token: string | null): PlatformApi {
    return new PlatformApi({
      baseUrl: this.options.platformUrl,
      token,
      timeoutMs: this.options.requestTimeoutMs ?? 15_000,
      fetch: this.options.fetch,
      onResponse: (timing) => this.session?.observeResponse(timing.status),
    })
  }

  private async begin(saved: SavedSession, options: { verify: boolean }): Promise<void> {
    const api = this.newApi(saved.token)
    const record = await OperatorRecord.open(this.options.dataDir, saved.operator.id, this.log)
    if (options.verify) {
      // A saved token may have been revoked (signed out elsewhere, disabled account) while the plugin was closed.
      // Re-asserting the link checks it, and keeps the link current; without a link, a harmless presence report.
      try {
        if (record.link) await api.link(record.link.provider, record.link.handle)
        else await api.presence('offline')
      } catch (error) {
        if (isPlatformApiError(error) && (error.status === 401 || error.code === 'account_disabled')) {
          await this.vault.clear()
          this.signInMessage = error.code === 'account_disabled' ? ACCOUNT_DISABLED : SIGNED_OUT_BY_PLATFORM
          this.show('sign_in')
          return
        }
        if (isPlatformApiError(error, 'handle_taken')) await record.setLink(null)
        // Unreachable: carry on with what was saved; the loops retry and a refusal signs out then.
        else this.log(`could not check the saved session: ${(error as Error).message}`)
      }
    }
    const session: OperatorSession = new OperatorSession({
      api,
      operator: saved.operator,
      record,
      queue: this.queue,
      platformUrl: this.options.platformUrl,
      intervals: this.intervals,
      now: this.now,
      log: this.log,
      notify: (notification) => this.notify(notification),
      changed: () => {
        if (this.session === session) this.emit()
      },
      authLost: (error) => {
        if (this.session === session) void this.sessionRefused(error)
      },
    })
    this.session = session
    this.saved = saved
    this.signInMessage = null
    this.screen = 'connected'
    session.start()
    this.startRenewal(session)
    this.emit()
  }

  // -------------------------------------------------------------------------------------------------------------
  // Renewing the token (docs/api.md, "Renewing the token"; docs/decisions/021)

  private startRenewal(session: OperatorSession): void {
    this.stopRenewal()
    const check = () => {
      if (this.session !== session || this.renewing) return
      const due = this.saved?.renewAfterMs
      if (due !== undefined && this.now() < due) return
      this.renewing = this.renew(session).finally(() => {
        this.renewing = null
      })
    }
    this.renewTimer = setInterval(check, this.intervals.renewCheckMs)
    check()
  }

  private stopRenewal(): void {
    clearInterval(this.renewTimer)
    this.renewTimer = undefined
  }

  /**
   * Asks for a fresh token and keeps it where the old one was kept. A refusal (401) signs out; no answer is tried
   * again at the next check with the old token, which the platform still takes until the new one is used.
   */
  private async renew(session: OperatorSession): Promise<void> {
    try {
      const renewed = await session.api.renewSession()
      if (this.session !== session || !this.saved) return
      const next: SavedSession = { ...this.saved, token: renewed.token, expiresAt: renewed.expiresAt, expiresInSeconds: renewed.expiresInSeconds, renewAfterMs: renewalTime(this.now(), renewed.expiresInSeconds) }
      this.saved = next
      this.tokenStorage = await this.vault.save(next).catch((error: unknown) => {
        this.log(`could not save the renewed session in the keychain: ${(error as Error).message}`)
        return 'memory' as const
      })
      this.emit()
    } catch (error) {
      if (this.session !== session) return
      if (isPlatformApiError(error) && (error.status === 401 || error.code === 'account_disabled')) {
        await this.sessionRefused(error)
        return
      }
      this.log(`could not renew the token (trying again later): ${(error as Error).message}`)
    }
  }

  /** The platform refused the token or the account: back to the sign-in screen, saying why. */
  private async sessionRefused(error: PlatformApiError): Promise<void> {
    const session = this.session
    if (!session) return
    this.session = null
    this.saved = null
    this.stopRenewal()
    await session.stop({ goOffline: false })
    // Forgotten before the screen changes, so a quit right now cannot bring the refused token back.
    await this.vault.clear()
    const disabled = error.code === 'account_disabled'
    this.signInMessage = disabled ? ACCOUNT_DISABLED : SIGNED_OUT_BY_PLATFORM
    this.show('sign_in')
    this.notify({ kind: 'signed_out', title: 'Signed out of perminute', body: this.signInMessage })
  }

  private async withSession(action: (session: OperatorSession) => Promise<ActionResult>): Promise<ActionResult> {
    const session = this.session
    if (!session) return { ok: false, code: 'signed_out', message: 'Please sign in first.' }
    return action(session)
  }

  private show(screen: PluginState['screen']): void {
    this.screen = screen
    this.emit()
  }

  private emit(): void {
    if (this.listeners.size === 0) return
    const state = this.state
    for (const listener of this.listeners) {
      try {
        listener(state)
      } catch (error) {
        this.log(`a state listener failed: ${(error as Error).message}`)
      }
    }
  }

  private notify(notification: PluginNotification): void {
    try {
      this.options.onNotification?.(notification)
    } catch (error) {
      this.log(`a notification failed: ${(error as Error).message}`)
    }
  }
}

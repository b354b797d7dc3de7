import { rm } from 'node:fs/promises'
import { z } from 'zod'
import { readFileIfExists, writeFileAtomically } from './durable-file.js'
import type { Session } from './platform-api.js'

/**
 * The operator's bearer token between runs of the plugin. It is written only encrypted by the operating system's
 * keychain (Electron's safeStorage: Keychain on macOS, DPAPI on Windows, libsecret or KWallet on Linux); where no
 * such keychain exists it is kept in memory only, and the operator signs in again at the next start. It is never
 * written in plain text.
 */

/** The keychain, as the core needs it. The Electron shell adapts safeStorage to this; tests bring a real cipher. */
export interface SecretCipher {
  /** False where only an obfuscation is on offer (Linux without a keyring): then nothing is written. */
  isAvailable(): Promise<boolean>
  encrypt(plainText: string): Promise<Uint8Array>
  decrypt(encrypted: Uint8Array): Promise<string>
}

export type TokenStorage = 'keychain' | 'memory'

const storedSession = z.object({
  token: z.string().min(1),
  operator: z.object({ id: z.string().min(1), displayName: z.string(), ratePerMinuteCents: z.number().int().nonnegative() }),
  // When to renew the token (this computer's clock); absent for a session saved before tokens expired: renew at once.
  renewAfterMs: z.number().optional(),
})

/** A session as the core keeps it: the platform's session and when its token is due for renewal. */
export type SavedSession = Session & { renewAfterMs?: number }

export class SessionVault {
  constructor(
    private readonly path: string,
    private readonly cipher: SecretCipher | null,
    private readonly log: (message: string) => void,
  ) {}

  /** Where a saved session goes: the keychain, or nowhere but memory. */
  async storage(): Promise<TokenStorage> {
    if (!this.cipher) return 'memory'
    try {
      return (await this.cipher.isAvailable()) ? 'keychain' : 'memory'
    } catch {
      return 'memory'
    }
  }

  async load(): Promise<SavedSession | null> {
    const encrypted = await readFileIfExists(this.path)
    if (encrypted === null) return null
    if ((await this.storage()) !== 'keychain') return null
    try {
      const session = storedSession.safeParse(JSON.parse(await this.cipher!.decrypt(new Uint8Array(encrypted))))
      if (session.success) return session.data
      this.log('the saved session has an unexpected shape; signing in again')
    } catch (error) {
      // Another user's keychain, a reset keyring, a damaged file: the token is lost, not the operator's money.
      this.log(`the saved session cannot be decrypted (${(error as Error).message}); signing in again`)
    }
    await this.clear()
    return null
  }

  /** Saves the session where the keychain allows it; answers where it went. */
  async save(session: SavedSession): Promise<TokenStorage> {
    const storage = await this.storage()
    if (storage !== 'keychain') {
      // A token from an earlier run that was saved when a keychain existed must not outlive this sign-in.
      await this.clear()
      return storage
    }
    const encrypted = await this.cipher!.encrypt(JSON.stringify({ token: session.token, operator: session.operator, renewAfterMs: session.renewAfterMs }))
    await writeFileAtomically(this.path, encrypted)
    return storage
  }

  async clear(): Promise<void> {
    await rm(this.path, { force: true })
  }
}

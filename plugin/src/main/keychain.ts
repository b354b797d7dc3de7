import type { SecretCipher } from '../core/session-vault.js'
import type { SafeStorageLike } from './electron-shell.js'

/**
 * Electron's safeStorage as the core's keychain. On Linux without a keyring safeStorage falls back to a fixed,
 * public key ("basic_text"): that is not encryption, so the core is told none is available and keeps the token in
 * memory only.
 */
export function safeStorageCipher(safeStorage: SafeStorageLike, platform: NodeJS.Platform): SecretCipher {
  return {
    async isAvailable() {
      if (!(await safeStorage.isAsyncEncryptionAvailable())) return false
      return platform !== 'linux' || safeStorage.getSelectedStorageBackend() !== 'basic_text'
    },
    async encrypt(plainText) {
      return new Uint8Array(await safeStorage.encryptStringAsync(plainText))
    },
    async decrypt(encrypted) {
      return (await safeStorage.decryptStringAsync(Buffer.from(encrypted))).result
    },
  }
}

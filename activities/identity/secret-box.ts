import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto'

/**
 * Secrets the platform must read back (admins' TOTP secrets) are kept encrypted with AES-256-GCM under a key derived
 * from DATA_ENCRYPTION_KEY; codes it only has to recognise (admins' recovery codes) are kept as an HMAC under another
 * key derived from it, so a copy of the database alone opens neither (docs/decisions/054-secrets-at-rest.md).
 *
 * A sealed value reads `v1.<iv>.<tag>.<ciphertext>` (base64url). The context (what the value is, and whose) is
 * authenticated with it, so a sealed secret copied to another row does not open there.
 */

const VERSION = 'v1'
const IV_BYTES = 12

export class SecretBoxError extends Error {
  override name = 'SecretBoxError'
}

export interface SecretBox {
  seal(plainText: string, context: string): string
  open(sealed: string, context: string): string
  /** Whether a stored value is sealed (false for a value written before encryption). */
  isSealed(value: string): boolean
  /** A keyed digest (HMAC-SHA-256, hex) for values that are compared, never read back. */
  digest(value: string, context: string): string
}

const boxes = new Map<string, SecretBox>()

/** The box of a DATA_ENCRYPTION_KEY (32 bytes, base64); made once per key. */
export function secretBox(keyBase64: string): SecretBox {
  let box = boxes.get(keyBase64)
  if (box) return box
  const master = Buffer.from(keyBase64, 'base64')
  if (master.length !== 32) throw new SecretBoxError('DATA_ENCRYPTION_KEY must be 32 bytes')
  // Separate keys for separate jobs, so an HMAC never shares a key with the cipher.
  const derive = (info: string) => Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), info, 32))
  const encryptionKey = derive('perminute secret-box encryption v1')
  const digestKey = derive('perminute secret-box digest v1')
  box = {
    seal(plainText, context) {
      const iv = randomBytes(IV_BYTES)
      const cipher = createCipheriv('aes-256-gcm', encryptionKey, iv)
      cipher.setAAD(Buffer.from(context, 'utf8'))
      const body = Buffer.concat([cipher.update(plainText, 'utf8'), cipher.final()])
      return [VERSION, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), body.toString('base64url')].join('.')
    },
    open(sealed, context) {
      const [version, iv, tag, body, ...rest] = sealed.split('.')
      if (version !== VERSION || !iv || !tag || body === undefined || rest.length > 0) throw new SecretBoxError('not a sealed value')
      try {
        const decipher = createDecipheriv('aes-256-gcm', encryptionKey, Buffer.from(iv, 'base64url'))
        decipher.setAAD(Buffer.from(context, 'utf8'))
        decipher.setAuthTag(Buffer.from(tag, 'base64url'))
        return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8')
      } catch {
        throw new SecretBoxError('the sealed value does not open with this key and context')
      }
    },
    isSealed: (value) => value.startsWith(`${VERSION}.`),
    digest: (value, context) => createHmac('sha256', digestKey).update(context).update('\0').update(value).digest('hex'),
  }
  boxes.set(keyBase64, box)
  return box
}

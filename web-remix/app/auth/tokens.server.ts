import { createHash, randomBytes } from 'node:crypto'

/** Random secrets handed to a browser or a mail; only their SHA-256 is stored. */

export function newSecret(): string {
  return randomBytes(32).toString('base64url')
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex')
}

/** Reading form fields as trimmed strings, whatever a client sends (a missing field or a file reads as ''). */
export function text(formData: FormData, name: string, maxLength = 500): string {
  const value = formData.get(name)
  return typeof value === 'string' ? value.trim().slice(0, maxLength) : ''
}

/** Passwords are taken as typed (no trimming); absurd lengths are cut so hashing stays bounded. */
export function secret(formData: FormData, name: string): string {
  const value = formData.get(name)
  return typeof value === 'string' ? value.slice(0, 1000) : ''
}

import { randomBytes } from 'node:crypto'
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises'
import { dirname } from 'node:path'
import type { ZodType, ZodTypeDef } from 'zod'

/**
 * What the plugin keeps on disk (the call-end queue, the session, the operator's record) must survive a crash or a
 * power cut at any moment: a file is written beside its final name, flushed, and renamed over it, so a reader finds
 * the old version or the new one, never half of one.
 */
export async function writeFileAtomically(path: string, data: string | Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true })
  const temporary = `${path}.${randomBytes(6).toString('hex')}.tmp`
  const handle = await open(temporary, 'w', 0o600)
  try {
    await handle.writeFile(data)
    await handle.sync()
  } finally {
    await handle.close()
  }
  try {
    await rename(temporary, path)
  } catch (error) {
    await rm(temporary, { force: true })
    throw error
  }
}

export async function readFileIfExists(path: string): Promise<Buffer | null> {
  try {
    return await readFile(path)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw error
  }
}

/**
 * A JSON document validated on the way in: a file that is not what this version of the plugin wrote (edited by
 * hand, from a newer version, damaged) reads as absent rather than as something half-trusted, and the reason is
 * logged. Writes go out one at a time, in the order they were asked for.
 */
export class JsonFile<T> {
  private writes: Promise<void> = Promise.resolve()

  constructor(
    readonly path: string,
    private readonly schema: ZodType<T, ZodTypeDef, unknown>,
    private readonly log: (message: string) => void,
  ) {}

  async read(): Promise<T | null> {
    const bytes = await readFileIfExists(this.path)
    if (bytes === null) return null
    let parsed: unknown
    try {
      parsed = JSON.parse(bytes.toString('utf8'))
    } catch {
      this.log(`${this.path} is not JSON; ignoring it`)
      return null
    }
    const result = this.schema.safeParse(parsed)
    if (!result.success) {
      this.log(`${this.path} does not have the expected shape (${result.error.issues[0]?.message ?? 'invalid'}); ignoring it`)
      return null
    }
    return result.data
  }

  write(value: T): Promise<void> {
    const text = `${JSON.stringify(value, null, 2)}\n`
    const next = this.writes.then(() => writeFileAtomically(this.path, text))
    // One failed write must not block the ones after it; the caller of this one still sees its failure.
    this.writes = next.catch(() => undefined)
    return next
  }

  remove(): Promise<void> {
    const next = this.writes.then(() => rm(this.path, { force: true }))
    this.writes = next.catch(() => undefined)
    return next
  }
}

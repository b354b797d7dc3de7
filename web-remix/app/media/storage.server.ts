import { randomUUID } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { mkdir, open, rename, rm, stat } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { Readable } from 'node:stream'
import type { PlatformServices } from '../plugin-api/services.server.js'

/**
 * Uploaded media in MEDIA_DIR (docs/decisions/022-profile-video-upload.md): one folder per collection (video
 * previews, profile images), files named `<owner id>-<random id>.<ext>` so that nothing a client sends ever becomes
 * part of a path, written to a temporary name while counted and checked, then renamed into place. Served back with
 * the type they were accepted as, never sniffed, and cached for good (a new upload gets a new name).
 */

export interface MediaCollection {
  /** The folder under MEDIA_DIR. */
  folder: string
  /** The site path files are served under, ending in '/'. */
  urlPrefix: string
  /** Accepted content types and the extension each is stored with. */
  types: Readonly<Record<string, string>>
}

/** Bytes of a file's start kept for signature checks (enough for every container we accept). */
export const HEAD_BYTES = 16

export function mediaDirectory(services: PlatformServices): string {
  return resolve(services.config.MEDIA_DIR)
}

function fileNamePattern(collection: MediaCollection): RegExp {
  const extensions = [...new Set(Object.values(collection.types))].join('|')
  return new RegExp(`^[0-9a-f-]{36}-[0-9a-f-]{36}\\.(${extensions})$`)
}

/** The stored file a URL of this collection names, or null when it names none (another site, another folder). */
export function mediaFileOf(collection: MediaCollection, url: string | null | undefined): string | null {
  if (!url?.startsWith(collection.urlPrefix)) return null
  const name = url.slice(collection.urlPrefix.length)
  return fileNamePattern(collection).test(name) ? name : null
}

export interface StoredMedia {
  fileName: string
  url: string
  sizeBytes: number
}

/**
 * Streams `chunks` into the collection under a fresh name for `ownerId`. `tooLarge` is thrown once more than
 * `maxBytes` arrived; `checkHead` sees the first bytes and the size and returns the error to throw, or null. Nothing
 * is left on disk when it fails.
 */
export async function storeMediaFile(
  services: PlatformServices,
  collection: MediaCollection,
  input: {
    ownerId: string
    contentType: string
    chunks: AsyncIterable<Uint8Array>
    maxBytes: number
    /** What to throw (an Error, or a Response for an API route). */
    tooLarge: () => unknown
    checkHead: (head: Uint8Array, sizeBytes: number) => unknown
  },
): Promise<StoredMedia> {
  const extension = collection.types[input.contentType]
  if (!extension) throw new Error(`${input.contentType} is not a type of ${collection.folder}`)
  const folder = join(mediaDirectory(services), collection.folder)
  await mkdir(folder, { recursive: true })
  const fileName = `${input.ownerId}-${randomUUID()}.${extension}`
  const temporary = join(folder, `.${fileName}.upload`)
  const file = await open(temporary, 'w', 0o644)
  let size = 0
  let head = new Uint8Array(0)
  try {
    // Counted on the way: a chunked body has no Content-Length to trust.
    for await (const chunk of input.chunks) {
      size += chunk.byteLength
      if (size > input.maxBytes) throw input.tooLarge()
      if (head.length < HEAD_BYTES) head = new Uint8Array([...head, ...chunk.subarray(0, HEAD_BYTES - head.length)])
      await file.write(chunk)
    }
    const problem = input.checkHead(head, size)
    if (problem !== null && problem !== undefined) throw problem
    await file.sync()
  } catch (error) {
    await file.close()
    await rm(temporary, { force: true })
    throw error
  }
  await file.close()
  await rename(temporary, join(folder, fileName))
  return { fileName, url: `${collection.urlPrefix}${fileName}`, sizeBytes: size }
}

/** Deletes the file a URL of this collection names; anything else (an outside URL, a bad name) is left alone. */
export async function deleteMediaFile(services: PlatformServices, collection: MediaCollection, url: string | null | undefined): Promise<void> {
  const name = mediaFileOf(collection, url)
  if (name) await rm(join(mediaDirectory(services), collection.folder, name), { force: true })
}

/** GET <urlPrefix><file>: the stored file with the type its extension stands for, or 404. */
export async function serveMediaFile(services: PlatformServices, collection: MediaCollection, fileName: string | undefined): Promise<Response> {
  const notFound = () => new Response('Not found', { status: 404, headers: { 'Content-Type': 'text/plain; charset=utf-8' } })
  const name = mediaFileOf(collection, `${collection.urlPrefix}${fileName ?? ''}`)
  if (!name) return notFound()
  const path = join(mediaDirectory(services), collection.folder, name)
  let size: number
  try {
    size = (await stat(path)).size
  } catch {
    return notFound()
  }
  const extension = name.slice(name.lastIndexOf('.') + 1)
  const type = Object.entries(collection.types).find(([, ext]) => ext === extension)![0]
  return new Response(Readable.toWeb(createReadStream(path)) as ReadableStream<Uint8Array>, {
    status: 200,
    headers: {
      'Content-Type': type,
      'Content-Length': String(size),
      'Cache-Control': 'public, max-age=31536000, immutable',
    },
  })
}

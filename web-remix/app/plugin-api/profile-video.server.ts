import { randomUUID } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { mkdir, open, rename, rm, stat } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { Readable } from 'node:stream'
import { apiError } from './errors.server.js'
import type { PlatformServices } from './services.server.js'

/**
 * The operator's video preview: the plugin records it and uploads the file as the request body; it is stored in the
 * media directory (MEDIA_DIR) under a fresh name, and its URL goes on the operator's profile. The previous file is
 * removed, and so are the previous video's captions (they described another recording). Files are served back by the media route with the type they were accepted as, and never sniffed.
 */

/** About two minutes of the plugin's recording bitrate; previews are meant to be short. */
export const MAX_VIDEO_BYTES = 25 * 1024 * 1024

export const VIDEO_TYPES = { 'video/webm': 'webm', 'video/mp4': 'mp4' } as const
type VideoType = keyof typeof VIDEO_TYPES

export const VIDEO_URL_PREFIX = '/media/operator-videos/'
const VIDEO_FOLDER = 'operator-videos'
/** <operator id>-<random id>.<ext>: nothing a client chooses ever becomes part of a path. */
const VIDEO_FILE = /^[0-9a-f-]{36}-[0-9a-f-]{36}\.(webm|mp4)$/

export interface ProfileVideo {
  videoUrl: string
  contentType: VideoType
  sizeBytes: number
}

function videoType(header: string | null): VideoType | null {
  const type = (header ?? '').split(';')[0]!.trim().toLowerCase()
  return type in VIDEO_TYPES ? (type as VideoType) : null
}

/** The container's signature: an EBML header for WebM, an `ftyp` box for MP4. */
function looksLike(type: VideoType, head: Uint8Array): boolean {
  if (type === 'video/webm') return head[0] === 0x1a && head[1] === 0x45 && head[2] === 0xdf && head[3] === 0xa3
  return head[4] === 0x66 && head[5] === 0x74 && head[6] === 0x79 && head[7] === 0x70
}

const tooLarge = () => apiError(413, 'payload_too_large', `a video preview is limited to ${MAX_VIDEO_BYTES} bytes`)
const unsupported = () =>
  apiError(415, 'unsupported_media_type', `send the video as the body with Content-Type ${Object.keys(VIDEO_TYPES).join(' or ')}`)

export function mediaDirectory(services: PlatformServices): string {
  return resolve(services.config.MEDIA_DIR)
}

export async function storeProfileVideo(services: PlatformServices, operatorId: string, request: Request): Promise<ProfileVideo> {
  const type = videoType(request.headers.get('content-type'))
  if (!type) throw unsupported()
  const declared = request.headers.get('content-length')
  if (declared !== null && Number(declared) > MAX_VIDEO_BYTES) throw tooLarge()

  const folder = join(mediaDirectory(services), VIDEO_FOLDER)
  await mkdir(folder, { recursive: true })
  const name = `${operatorId}-${randomUUID()}.${VIDEO_TYPES[type]}`
  const temporary = join(folder, `.${name}.upload`)
  const file = await open(temporary, 'w', 0o644)
  let size = 0
  let head = new Uint8Array(0)
  try {
    // Streamed to disk and counted on the way: a chunked body has no Content-Length to trust.
    if (request.body) {
      for await (const chunk of request.body as unknown as AsyncIterable<Uint8Array>) {
        size += chunk.byteLength
        if (size > MAX_VIDEO_BYTES) throw tooLarge()
        if (head.length < 8) head = new Uint8Array([...head, ...chunk.subarray(0, 8 - head.length)])
        await file.write(chunk)
      }
    }
    if (size === 0) throw apiError(422, 'invalid_body', 'the body is empty: send the video file')
    if (!looksLike(type, head)) throw apiError(422, 'invalid_body', `the body is not a ${type} file`)
    await file.sync()
  } catch (error) {
    await file.close()
    await rm(temporary, { force: true })
    throw error
  }
  await file.close()
  await rename(temporary, join(folder, name))

  const videoUrl = `${VIDEO_URL_PREFIX}${name}`
  const [row] = await services.db.$queryRaw<{ previous: string | null }[]>`
    UPDATE operators o SET video_url = ${videoUrl}, video_captions_url = NULL
    FROM (SELECT video_url AS previous FROM operators WHERE user_id = ${operatorId}::uuid FOR UPDATE) p
    WHERE o.user_id = ${operatorId}::uuid
    RETURNING p.previous`
  if (!row) {
    await rm(join(folder, name), { force: true })
    throw apiError(404, 'not_found', 'no operator profile for this account')
  }
  const previous = row.previous?.startsWith(VIDEO_URL_PREFIX) ? row.previous.slice(VIDEO_URL_PREFIX.length) : null
  if (previous && VIDEO_FILE.test(previous)) await rm(join(folder, previous), { force: true })
  return { videoUrl, contentType: type, sizeBytes: size }
}

/** GET /media/operator-videos/<file>: the stored file, or 404. */
export async function serveProfileVideo(services: PlatformServices, fileName: string | undefined): Promise<Response> {
  const notFound = () => new Response('Not found', { status: 404, headers: { 'Content-Type': 'text/plain; charset=utf-8' } })
  if (!fileName || !VIDEO_FILE.test(fileName)) return notFound()
  const path = join(mediaDirectory(services), VIDEO_FOLDER, fileName)
  let size: number
  try {
    size = (await stat(path)).size
  } catch {
    return notFound()
  }
  const type = fileName.endsWith('.webm') ? 'video/webm' : 'video/mp4'
  return new Response(Readable.toWeb(createReadStream(path)) as ReadableStream<Uint8Array>, {
    status: 200,
    headers: {
      'Content-Type': type,
      'Content-Length': String(size),
      // A new upload gets a new name, so a name's content never changes.
      'Cache-Control': 'public, max-age=31536000, immutable',
      'X-Content-Type-Options': 'nosniff',
    },
  })
}

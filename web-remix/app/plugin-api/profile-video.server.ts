import { recordAuditEntry } from '../../../activities/admin/audit.js'
import { deleteMediaFile, serveMediaFile, storeMediaFile, type MediaCollection } from '../media/storage.server.js'
import { apiError } from './errors.server.js'
import type { PlatformServices } from './services.server.js'

/**
 * The operator's video preview: the plugin records it and uploads the file as the request body; it is stored in the
 * media directory (MEDIA_DIR, media/storage.server.ts) under a fresh name, and its URL goes on the operator's profile.
 * The previous file is removed, and so are the previous video's captions (they described another recording). The
 * operator's portal shows it and may remove it (removeProfileVideo).
 */

/** About two minutes of the plugin's recording bitrate; previews are meant to be short. */
export const MAX_VIDEO_BYTES = 25 * 1024 * 1024

export const VIDEO_TYPES = { 'video/webm': 'webm', 'video/mp4': 'mp4' } as const
type VideoType = keyof typeof VIDEO_TYPES

export const VIDEO_URL_PREFIX = '/media/operator-videos/'
export const PROFILE_VIDEOS: MediaCollection = { folder: 'operator-videos', urlPrefix: VIDEO_URL_PREFIX, types: VIDEO_TYPES }

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

async function* emptyBody(): AsyncIterable<Uint8Array> {}

export async function storeProfileVideo(services: PlatformServices, operatorId: string, request: Request): Promise<ProfileVideo> {
  const type = videoType(request.headers.get('content-type'))
  if (!type) throw unsupported()
  const declared = request.headers.get('content-length')
  if (declared !== null && Number(declared) > MAX_VIDEO_BYTES) throw tooLarge()

  const stored = await storeMediaFile(services, PROFILE_VIDEOS, {
    ownerId: operatorId,
    contentType: type,
    chunks: (request.body as unknown as AsyncIterable<Uint8Array> | null) ?? emptyBody(),
    maxBytes: MAX_VIDEO_BYTES,
    tooLarge,
    checkHead: (head, size) =>
      size === 0
        ? apiError(422, 'invalid_body', 'the body is empty: send the video file')
        : looksLike(type, head)
          ? null
          : apiError(422, 'invalid_body', `the body is not a ${type} file`),
  })

  const [row] = await services.db.$queryRaw<{ previous: string | null }[]>`
    UPDATE operators o SET video_url = ${stored.url}, video_captions_url = NULL
    FROM (SELECT video_url AS previous FROM operators WHERE user_id = ${operatorId}::uuid FOR UPDATE) p
    WHERE o.user_id = ${operatorId}::uuid
    RETURNING p.previous`
  if (!row) {
    await deleteMediaFile(services, PROFILE_VIDEOS, stored.url)
    throw apiError(404, 'not_found', 'no operator profile for this account')
  }
  await deleteMediaFile(services, PROFILE_VIDEOS, row.previous)
  return { videoUrl: stored.url, contentType: type, sizeBytes: stored.sizeBytes }
}

/** Takes the video preview (and its captions) off the profile and deletes its file; false when there was none. */
export async function removeProfileVideo(services: PlatformServices, operatorId: string, actorId: string, clientAddress: string | null): Promise<boolean> {
  const previous = await services.db.$transaction(async (tx) => {
    const [row] = await tx.$queryRaw<{ previous: string | null }[]>`
      UPDATE operators o SET video_url = NULL, video_captions_url = NULL
      FROM (SELECT video_url AS previous FROM operators WHERE user_id = ${operatorId}::uuid FOR UPDATE) p
      WHERE o.user_id = ${operatorId}::uuid
      RETURNING p.previous`
    if (!row?.previous) return null
    await recordAuditEntry(tx, {
      channel: 'web',
      actorId,
      action: 'operator.video.remove',
      subject: `user:${operatorId}`,
      details: { videoUrl: row.previous, origin: { clientAddress } },
    })
    return row.previous
  })
  // After the commit: a failed transaction must not have deleted the file the profile still shows.
  await deleteMediaFile(services, PROFILE_VIDEOS, previous)
  return previous !== null
}

/** GET /media/operator-videos/<file>: the stored file, or 404. */
export function serveProfileVideo(services: PlatformServices, fileName: string | undefined): Promise<Response> {
  return serveMediaFile(services, PROFILE_VIDEOS, fileName)
}

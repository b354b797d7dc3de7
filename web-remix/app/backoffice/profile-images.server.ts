import { randomUUID } from 'node:crypto'
import { recordAuditEntry } from '../../../activities/admin/audit.js'
import { ProfileInputError } from '../../../activities/companies.js'
import { deleteMediaFile, serveMediaFile, storeMediaFile, type MediaCollection } from '../media/storage.server.js'
import type { PlatformServices } from '../plugin-api/services.server.js'

/**
 * The photos on an operator's profile: uploaded from the portal's form, stored in MEDIA_DIR like the video preview
 * (media/storage.server.ts), each with its alternative text, in the operator's order. The type is what the file's
 * first bytes say, never what the browser declared.
 */

export const MAX_IMAGE_BYTES = 5 * 1024 * 1024
export const MAX_IMAGES = 8
export const MAX_ALT_TEXT = 250

const IMAGE_TYPES = { 'image/jpeg': 'jpg', 'image/png': 'png', 'image/webp': 'webp' } as const
type ImageType = keyof typeof IMAGE_TYPES

export const PROFILE_IMAGES: MediaCollection = { folder: 'operator-images', urlPrefix: '/media/operator-images/', types: IMAGE_TYPES }

/** The image format its signature names: JPEG's SOI marker, PNG's eight bytes, WebP's RIFF…WEBP. */
export function imageTypeOf(head: Uint8Array): ImageType | null {
  const ascii = (from: number, to: number) => String.fromCharCode(...head.subarray(from, to))
  if (head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return 'image/jpeg'
  if ([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a].every((byte, i) => head[i] === byte)) return 'image/png'
  if (ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP') return 'image/webp'
  return null
}

export interface ProfileImage {
  id: string
  url: string
  altText: string
}

export async function operatorImages(services: PlatformServices, operatorId: string): Promise<ProfileImage[]> {
  return services.db.operatorImage.findMany({ where: { operatorId }, select: { id: true, url: true, altText: true }, orderBy: { position: 'asc' } })
}

function checkedAltText(altText: string): string {
  const text = altText.trim().replace(/\s+/g, ' ')
  if (!text) throw new ProfileInputError('altText', 'describe the image for people who cannot see it (alternative text is required)')
  if (text.length > MAX_ALT_TEXT) throw new ProfileInputError('altText', `the description may have at most ${MAX_ALT_TEXT} characters`)
  return text
}

async function* chunksOf(file: File): AsyncIterable<Uint8Array> {
  yield new Uint8Array(await file.arrayBuffer())
}

/** Adds an image at the end of the operator's photos. `file` is what the form's file input sent (null when none). */
export async function addOperatorImage(
  services: PlatformServices,
  input: { operatorId: string; actorId: string; clientAddress: string | null; file: File | null; altText: string },
): Promise<ProfileImage> {
  const problems: Record<string, string> = {}
  let altText = ''
  try {
    altText = checkedAltText(input.altText)
  } catch (error) {
    if (!(error instanceof ProfileInputError)) throw error
    problems.altText = error.message
  }
  const file = input.file
  let type: ImageType | null = null
  if (!file || file.size === 0) problems.image = 'choose an image file (JPEG, PNG or WebP)'
  else if (file.size > MAX_IMAGE_BYTES) problems.image = `the image is larger than ${MAX_IMAGE_BYTES / 1024 / 1024} MB`
  else {
    type = imageTypeOf(new Uint8Array(await file.slice(0, 16).arrayBuffer()))
    if (!type) problems.image = 'the file is not a JPEG, PNG or WebP image'
  }
  if (Object.keys(problems).length > 0 || !file || !type) throw ProfileInputError.of(problems)
  if ((await services.db.operatorImage.count({ where: { operatorId: input.operatorId } })) >= MAX_IMAGES) {
    throw new ProfileInputError('image', `a profile has at most ${MAX_IMAGES} images: remove one first`)
  }

  const stored = await storeMediaFile(services, PROFILE_IMAGES, {
    ownerId: input.operatorId,
    contentType: type,
    chunks: chunksOf(file),
    maxBytes: MAX_IMAGE_BYTES,
    tooLarge: () => new ProfileInputError('image', `the image is larger than ${MAX_IMAGE_BYTES / 1024 / 1024} MB`),
    checkHead: () => null,
  })
  const id = randomUUID()
  try {
    await services.db.$transaction(async (tx) => {
      // The operator row is the lock: two uploads at once take different positions, and the limit holds.
      const locked = await tx.$queryRaw<{ n: bigint }[]>`
        SELECT (SELECT count(*) FROM operator_images WHERE operator_id = o.user_id) AS n
        FROM operators o WHERE o.user_id = ${input.operatorId}::uuid FOR UPDATE`
      if (!locked[0]) throw new ProfileInputError('operatorId', 'no such operator')
      if (Number(locked[0].n) >= MAX_IMAGES) throw new ProfileInputError('image', `a profile has at most ${MAX_IMAGES} images: remove one first`)
      const last = await tx.operatorImage.aggregate({ where: { operatorId: input.operatorId }, _max: { position: true } })
      await tx.operatorImage.create({ data: { id, operatorId: input.operatorId, url: stored.url, altText, position: (last._max.position ?? 0) + 1 } })
      await recordAuditEntry(tx, {
        channel: 'web',
        actorId: input.actorId,
        action: 'operator.image.add',
        subject: `user:${input.operatorId}`,
        details: { imageId: id, url: stored.url, altText, sizeBytes: stored.sizeBytes, origin: { clientAddress: input.clientAddress } },
      })
    })
  } catch (error) {
    await deleteMediaFile(services, PROFILE_IMAGES, stored.url)
    throw error
  }
  return { id, url: stored.url, altText }
}

/** Removes one of the operator's images and its file; false when the operator has no such image. */
export async function removeOperatorImage(
  services: PlatformServices,
  input: { operatorId: string; actorId: string; clientAddress: string | null; imageId: string },
): Promise<boolean> {
  const removed = await services.db.$transaction(async (tx) => {
    const image = await tx.operatorImage.findFirst({ where: { id: input.imageId, operatorId: input.operatorId }, select: { id: true, url: true } })
    if (!image) return null
    await tx.operatorImage.delete({ where: { id: image.id } })
    await recordAuditEntry(tx, {
      channel: 'web',
      actorId: input.actorId,
      action: 'operator.image.remove',
      subject: `user:${input.operatorId}`,
      details: { imageId: image.id, url: image.url, origin: { clientAddress: input.clientAddress } },
    })
    return image
  })
  if (removed) await deleteMediaFile(services, PROFILE_IMAGES, removed.url)
  return removed !== null
}

/** Swaps an image with its neighbour before (up) or after (down); false when there is none to swap with. */
export async function moveOperatorImage(
  services: PlatformServices,
  input: { operatorId: string; imageId: string; direction: 'up' | 'down' },
): Promise<boolean> {
  return services.db.$transaction(async (tx) => {
    await tx.$executeRaw`SELECT 1 FROM operators WHERE user_id = ${input.operatorId}::uuid FOR UPDATE`
    const images = await tx.operatorImage.findMany({ where: { operatorId: input.operatorId }, select: { id: true, position: true }, orderBy: { position: 'asc' } })
    const index = images.findIndex((i) => i.id === input.imageId)
    const other = images[input.direction === 'up' ? index - 1 : index + 1]
    if (index < 0 || !other) return false
    const image = images[index]!
    // (operator, position) is unique: park one image on a position no image has, then swap.
    await tx.operatorImage.update({ where: { id: image.id }, data: { position: -1 } })
    await tx.operatorImage.update({ where: { id: other.id }, data: { position: image.position } })
    await tx.operatorImage.update({ where: { id: image.id }, data: { position: other.position } })
    return true
  })
}

/** GET /media/operator-images/<file>. */
export function serveProfileImage(services: PlatformServices, fileName: string | undefined): Promise<Response> {
  return serveMediaFile(services, PROFILE_IMAGES, fileName)
}

import { z } from 'zod'
import { apiError } from './errors.server.js'
import type { PlatformServices } from './services.server.js'
import { text } from './validation.server.js'

/** Linking the operator's calling account (the handle members call them on) to their platform account. */

export const CALLING_PROVIDERS = ['discord', 'sip', 'whatsapp', 'telegram', 'zoom', 'other'] as const

export const linkRequest = z.object({
  provider: z.enum(CALLING_PROVIDERS),
  // Handles are matched exactly (they are what the calling tool reports), only surrounding spaces are dropped.
  handle: text(1, 200)
    .transform((handle) => handle.trim())
    .pipe(z.string().min(1, 'must not be blank')),
})

export type CallingLink = z.infer<typeof linkRequest>

const handleTaken = () => apiError(409, 'handle_taken', 'this handle is linked to another account')

function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code
  return code === 'P2002' || /unique constraint|duplicate key/i.test(String((error as { message?: unknown })?.message ?? ''))
}

export async function linkCallingAccount(services: PlatformServices, operatorId: string, link: CallingLink): Promise<CallingLink> {
  const holder = await services.db.user.findUnique({ where: { callingHandle: link.handle }, select: { id: true } })
  if (holder && holder.id !== operatorId) throw handleTaken()
  try {
    await services.db.user.update({
      where: { id: operatorId },
      data: { callingProvider: link.provider, callingHandle: link.handle },
    })
  } catch (error) {
    // Two accounts racing for the same handle: the unique index decides, the loser is told as above.
    if (isUniqueViolation(error)) throw handleTaken()
    throw error
  }
  return link
}

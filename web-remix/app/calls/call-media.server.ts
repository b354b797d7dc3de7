import { createJoinToken, liveKitSettingsFrom, roomNameForCall } from '../../../activities/media/livekit-rooms.js'
import type { CallChannel } from '../../../workflows/definitions.js'
import { isPlatformChannel } from '../../../workflows/definitions.js'
import type { PlatformServices } from '../plugin-api/services.server.js'

/**
 * What a party needs to join their call's room (docs/decisions/060): the media server's address, the room, and a
 * short-lived token for that room only, as that user. Only the call's own member and operator ever get one, and only
 * while the call is connecting or running.
 */
export interface CallMediaJoin {
  url: string
  room: string
  identity: string
  token: string
  expiresAt: string
}

export async function mediaJoinFor(
  services: PlatformServices,
  call: { id: string; channel: CallChannel; status: string },
  party: { id: string; displayName: string },
): Promise<CallMediaJoin | null> {
  if (!isPlatformChannel(call.channel) || call.status === 'settled') return null
  const settings = liveKitSettingsFrom(services.config)
  const { token, expiresAt } = await createJoinToken(settings, {
    callId: call.id,
    identity: party.id,
    name: party.displayName,
    ttlSeconds: services.config.MEDIA_TOKEN_TTL_S,
  })
  return { url: settings.url, room: roomNameForCall(call.id), identity: party.id, token, expiresAt }
}

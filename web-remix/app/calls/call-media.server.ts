import { createLiveKit, liveKitSettings, roomNameForCall } from '../../../activities/media/livekit.js'
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
  /**
   * The ICE (STUN/TURN) servers the client is to use (LIVEKIT_ICE_SERVERS): none in development, so nothing leaves the
   * machine; null for LiveKit's own list.
   */
  iceServers: Array<{ urls: string | string[]; username?: string; credential?: string }> | null
}

export async function mediaJoinFor(
  services: PlatformServices,
  call: { id: string; channel: CallChannel; status: string },
  party: { id: string; displayName: string },
): Promise<CallMediaJoin | null> {
  if (!isPlatformChannel(call.channel) || call.status === 'settled') return null
  const liveKit = createLiveKit(liveKitSettings(services.config))
  const room = roomNameForCall(call.id)
  const ttlSeconds = services.config.MEDIA_TOKEN_TTL_S
  // Camera and microphone in this room only, as this user; no data messages (the call's chat goes through the platform).
  const token = await liveKit.createJoinToken({ room, identity: party.id, name: party.displayName, ttlSeconds, canPublish: true, canSubscribe: true })
  return {
    url: liveKit.url,
    room,
    identity: party.id,
    token,
    expiresAt: new Date(Date.now() + ttlSeconds * 1000).toISOString(),
    iceServers: services.config.LIVEKIT_ICE_SERVERS,
  }
}

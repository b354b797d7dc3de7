import { AccessToken, RoomServiceClient, TwirpError, WebhookReceiver } from 'livekit-server-sdk'
import type { CallRooms } from './call-rooms.js'

/**
 * The calls' rooms on LiveKit (docs/decisions/060): one room per call, named after it, for its two parties only; join
 * tokens for one room, one identity (the user's id) and no admin rights; LiveKit's signed webhooks read into the few
 * facts billing needs. Everything LiveKit-specific lives here; the rest of the platform sees CallRooms and MediaEvent.
 */

export interface LiveKitSettings {
  /** The ws:// or wss:// address clients connect to; its http(s) twin serves the server API. */
  url: string
  apiKey: string
  apiSecret: string
}

const ROOM_PREFIX = 'call-'
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

export const roomNameForCall = (callId: string): string => `${ROOM_PREFIX}${callId}`

/** The call a room belongs to, or null for a room that is not a call's. */
export function callIdOfRoom(room: string | undefined | null): string | null {
  if (!room?.startsWith(ROOM_PREFIX)) return null
  const id = room.slice(ROOM_PREFIX.length)
  return UUID.test(id) ? id : null
}

const apiUrlOf = (url: string) => url.replace(/^ws(s?):\/\//, 'http$1://')

/** A room nobody is in is closed after this long; a call's room is deleted by the platform when the call ends anyway. */
const EMPTY_TIMEOUT_S = 300
/** Names are looked up this many at a time (LiveKit's ListRooms takes a list). */
const LIST_CHUNK = 200

function isNotFound(error: unknown): boolean {
  return error instanceof TwirpError && (error.code === 'not_found' || error.status === 404)
}

export function createLiveKitRooms(settings: LiveKitSettings): CallRooms {
  const service = new RoomServiceClient(apiUrlOf(settings.url), settings.apiKey, settings.apiSecret)
  return {
    async open(callId) {
      await service.createRoom({ name: roomNameForCall(callId), maxParticipants: 2, emptyTimeout: EMPTY_TIMEOUT_S })
    },
    async close(callId) {
      const room = roomNameForCall(callId)
      try {
        // Deleting the room disconnects everyone in it: the media stops at once, whatever the clients do.
        await service.deleteRoom(room)
      } catch (error) {
        if (!isNotFound(error)) throw error
      }
    },
    async bothPresent(callIds) {
      const present = new Set<string>()
      for (let i = 0; i < callIds.length; i += LIST_CHUNK) {
        const rooms = await service.listRooms(callIds.slice(i, i + LIST_CHUNK).map(roomNameForCall))
        for (const room of rooms) {
          const callId = callIdOfRoom(room.name)
          if (callId && room.numParticipants >= 2) present.add(callId)
        }
      }
      return present
    },
  }
}

export interface JoinToken {
  token: string
  expiresAt: string
}

/**
 * A token that joins one call's room as one party: it may publish audio and video and send data (the call's chat),
 * never administer, create, list or record rooms.
 */
export async function createJoinToken(
  settings: LiveKitSettings,
  join: { callId: string; identity: string; name: string; ttlSeconds: number },
): Promise<JoinToken> {
  const token = new AccessToken(settings.apiKey, settings.apiSecret, { identity: join.identity, name: join.name, ttl: join.ttlSeconds })
  token.addGrant({
    room: roomNameForCall(join.callId),
    roomJoin: true,
    canPublish: true,
    canSubscribe: true,
    canPublishData: true,
    roomAdmin: false,
    roomCreate: false,
    roomList: false,
    roomRecord: false,
  })
  return { token: await token.toJwt(), expiresAt: new Date(Date.now() + join.ttlSeconds * 1000).toISOString() }
}

/** What billing needs of one webhook event. */
export interface MediaEvent {
  /** LiveKit's event id: the same delivery replayed has the same one. */
  id: string
  event: string
  room: string | null
  callId: string | null
  identity: string | null
  /** When it happened: a participant's own join time for a join, the event's time otherwise. */
  atMs: number
}

export class MediaWebhookError extends Error {
  override name = 'MediaWebhookError'
}

/** Verifies a webhook's signature (a JWT over the body's SHA-256, signed with our API secret) and reads it. */
export async function readMediaWebhook(settings: LiveKitSettings, body: string, authorization: string | null): Promise<MediaEvent> {
  if (!authorization) throw new MediaWebhookError('no Authorization header')
  let event
  try {
    event = await new WebhookReceiver(settings.apiKey, settings.apiSecret).receive(body, authorization)
  } catch (error) {
    throw new MediaWebhookError(`the webhook's signature does not hold: ${(error as Error).message}`)
  }
  if (!event.id || !event.event) throw new MediaWebhookError('the webhook names no event')
  const createdAtMs = Number(event.createdAt) * 1000
  const participant = event.participant
  const joinedAtMs = participant ? Number(participant.joinedAtMs) || Number(participant.joinedAt) * 1000 : 0
  const room = event.room?.name ?? null
  return {
    id: event.id,
    event: event.event,
    room,
    callId: callIdOfRoom(room),
    identity: participant?.identity ?? null,
    atMs: event.event === 'participant_joined' && joinedAtMs > 0 ? joinedAtMs : createdAtMs || Date.now(),
  }
}

/** The LiveKit settings of the platform's configuration (config/env.ts). */
export function liveKitSettingsFrom(config: { LIVEKIT_URL: string; LIVEKIT_API_KEY: string; LIVEKIT_API_SECRET: string }): LiveKitSettings {
  return { url: config.LIVEKIT_URL, apiKey: config.LIVEKIT_API_KEY, apiSecret: config.LIVEKIT_API_SECRET }
}

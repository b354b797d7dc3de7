import { AccessToken, ParticipantInfo_State, RoomServiceClient, TrackSource, TwirpError, WebhookReceiver, type WebhookEventNames } from 'livekit-server-sdk'
import type { PlatformConfig } from '../../config/env.js'

/**
 * The platform's side of LiveKit, the SFU that carries calls (docs/decisions/070-livekit.md): the room a call has, the
 * tokens that let one person into that room only, the check of LiveKit's signed webhooks (the evidence of who was
 * connected when), and the room control the cut-off uses. The web and the activities both build it from configuration
 * with createLiveKit(); nothing here keeps state between calls.
 */

export interface LiveKitSettings {
  /** ws(s):// URL that browsers and the plugin connect to (LIVEKIT_URL); handed out with tokens. */
  url: string
  /** http(s):// URL of LiveKit's API (LIVEKIT_API_URL). */
  apiUrl: string
  apiKey: string
  apiSecret: string
}

export function liveKitSettings(config: PlatformConfig): LiveKitSettings {
  return { url: config.LIVEKIT_URL, apiUrl: config.LIVEKIT_API_URL, apiKey: config.LIVEKIT_API_KEY, apiSecret: config.LIVEKIT_API_SECRET }
}

// ---------------------------------------------------------------------------------------------------------
// Rooms are named after calls: one fact, in one place.

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const ROOM_PREFIX = 'call-'

/** The LiveKit room of a call (calls have UUIDs). Throws on anything else, so no other name can be made from input. */
export function roomNameForCall(callId: string): string {
  const id = callId.toLowerCase()
  if (!UUID.test(id)) throw new TypeError(`not a call id: ${JSON.stringify(callId)}`)
  return `${ROOM_PREFIX}${id}`
}

/** The call a room belongs to, or undefined for a room that is not a call's (a webhook about something else). */
export function callIdForRoom(roomName: string | undefined): string | undefined {
  if (!roomName?.startsWith(ROOM_PREFIX)) return undefined
  const id = roomName.slice(ROOM_PREFIX.length)
  return UUID.test(id) ? id : undefined
}

// ---------------------------------------------------------------------------------------------------------

export interface JoinTokenRequest {
  room: string
  /** Who joins, as LiveKit's webhooks will name them (e.g. "member:<userId>"); unique within the room. */
  identity: string
  /** The name the other side sees. */
  name?: string
  /** How long the token admits its holder; a joined participant stays joined after it expires. 1 s to 24 h. */
  ttlSeconds: number
  /** Camera and microphone only: no screen share, no data messages. */
  canPublish: boolean
  canSubscribe: boolean
}

/** The event types the platform acts on; LiveKit sends others too (track_published, …), which verify the same way. */
export type LiveKitWebhookEventType = Exclude<WebhookEventNames, ''>

export interface LiveKitWebhookEvent {
  /** LiveKit's id of this event: the same event delivered twice (a retry) has the same id. */
  id: string
  event: LiveKitWebhookEventType
  roomName: string | undefined
  roomSid: string | undefined
  participantIdentity: string | undefined
  participantSid: string | undefined
  /** When LiveKit emitted it (whole seconds: LiveKit's resolution). */
  createdAt: Date
  /** For a participant's events: when LiveKit admitted them to the room (to the millisecond when LiveKit says so). */
  participantJoinedAt: Date | undefined
}

/** A webhook that does not prove it comes from our LiveKit: answer 401 and act on nothing in it. */
export class LiveKitWebhookError extends Error {
  override name = 'LiveKitWebhookError'
}

export interface RoomOptions {
  /** Seconds the room waits for its first participant before LiveKit closes it. */
  emptyTimeout: number
  /** Seconds the room stays open after the last participant left (a reconnect window). LiveKit's default when omitted. */
  departureTimeout?: number
  /** A call has two parties; LiveKit refuses a third. */
  maxParticipants?: number
}

export interface RoomParticipant {
  identity: string
  sid: string
  name: string
  /** LiveKit's participant state: JOINING, JOINED, ACTIVE, DISCONNECTED. */
  state: string
  joinedAt: Date
}

export interface LiveKit {
  /** The ws(s):// URL clients connect to with a token. */
  readonly url: string
  createJoinToken(request: JoinTokenRequest): Promise<string>
  /** Checks a webhook's signature (the Authorization header) against its raw body; throws LiveKitWebhookError when it fails. */
  verifyWebhook(rawBody: string, authorization: string | undefined): Promise<LiveKitWebhookEvent>
  /** Creates the room, or returns quietly when it exists already (LiveKit keeps the first one's options). */
  createRoom(name: string, options: RoomOptions): Promise<void>
  /** Everyone in the room now; [] for a room that does not exist. */
  listParticipants(room: string): Promise<RoomParticipant[]>
  /** Disconnects one participant; a missing room or participant is fine (it is already out). */
  removeParticipant(room: string, identity: string): Promise<void>
  /** Disconnects everyone and closes the room; a missing room is fine (it is already closed). */
  deleteRoom(room: string): Promise<void>
  /** How many participants each of these rooms holds now, in one request per 200 rooms (rooms that do not exist are absent). */
  occupancy(rooms: readonly string[]): Promise<Map<string, number>>
}

/** Rooms are listed this many at a time. */
const OCCUPANCY_CHUNK = 200

const MAX_TTL_SECONDS = 24 * 60 * 60
const API_TIMEOUT_SECONDS = 5
const PUBLISH_SOURCES = [TrackSource.CAMERA, TrackSource.MICROPHONE]

export function createLiveKit(settings: LiveKitSettings): LiveKit {
  const rooms = new RoomServiceClient(settings.apiUrl, settings.apiKey, settings.apiSecret, { requestTimeout: API_TIMEOUT_SECONDS })
  const receiver = new WebhookReceiver(settings.apiKey, settings.apiSecret)

  return {
    url: settings.url,

    async createJoinToken(request) {
      if (!request.room) throw new TypeError('a join token needs a room')
      if (!request.identity) throw new TypeError('a join token needs an identity')
      if (!Number.isInteger(request.ttlSeconds) || request.ttlSeconds < 1 || request.ttlSeconds > MAX_TTL_SECONDS) {
        throw new RangeError(`ttlSeconds must be a whole number from 1 to ${MAX_TTL_SECONDS}`)
      }
      const token = new AccessToken(settings.apiKey, settings.apiSecret, {
        identity: request.identity,
        name: request.name,
        ttl: request.ttlSeconds,
      })
      // Joining this one room, and nothing else: no roomAdmin, roomCreate, roomList, roomRecord or recorder grant.
      token.addGrant({
        roomJoin: true,
        room: request.room,
        canPublish: request.canPublish,
        canPublishSources: request.canPublish ? PUBLISH_SOURCES : [],
        canSubscribe: request.canSubscribe,
        canPublishData: false,
        canUpdateOwnMetadata: false,
      })
      return token.toJwt()
    },

    async verifyWebhook(rawBody, authorization) {
      if (!authorization) throw new LiveKitWebhookError('the webhook has no Authorization header')
      let event: Awaited<ReturnType<WebhookReceiver['receive']>>
      try {
        event = await receiver.receive(rawBody, authorization)
      } catch (error) {
        throw new LiveKitWebhookError(`the webhook's signature does not hold: ${(error as Error).message}`)
      }
      if (!event.event || !event.id) throw new LiveKitWebhookError('the webhook names no event')
      return {
        id: event.id,
        event: event.event as LiveKitWebhookEventType,
        roomName: event.room?.name || undefined,
        roomSid: event.room?.sid || undefined,
        participantIdentity: event.participant?.identity || undefined,
        participantSid: event.participant?.sid || undefined,
        createdAt: new Date(Number(event.createdAt) * 1000),
        participantJoinedAt: joinedAtOf(event.participant),
      }
    },

    async createRoom(name, options) {
      await rooms.createRoom({
        name,
        emptyTimeout: options.emptyTimeout,
        departureTimeout: options.departureTimeout,
        maxParticipants: options.maxParticipants ?? 2,
      })
    },

    async listParticipants(room) {
      try {
        const participants = await rooms.listParticipants(room)
        return participants.map((p) => ({
          identity: p.identity,
          sid: p.sid,
          name: p.name,
          state: ParticipantInfo_State[p.state] ?? String(p.state),
          joinedAt: new Date(Number(p.joinedAt) * 1000),
        }))
      } catch (error) {
        if (isNotFound(error)) return []
        throw error
      }
    },

    async removeParticipant(room, identity) {
      try {
        await rooms.removeParticipant(room, identity)
      } catch (error) {
        if (!isNotFound(error)) throw error
      }
    },

    async deleteRoom(room) {
      try {
        await rooms.deleteRoom(room)
      } catch (error) {
        if (!isNotFound(error)) throw error
      }
    },

    async occupancy(names) {
      const counts = new Map<string, number>()
      for (let i = 0; i < names.length; i += OCCUPANCY_CHUNK) {
        for (const room of await rooms.listRooms(names.slice(i, i + OCCUPANCY_CHUNK))) counts.set(room.name, room.numParticipants)
      }
      return counts
    },
  }
}

function joinedAtOf(participant: { joinedAtMs?: bigint; joinedAt?: bigint } | undefined): Date | undefined {
  if (!participant) return undefined
  const ms = Number(participant.joinedAtMs ?? 0n) || Number(participant.joinedAt ?? 0n) * 1000
  return ms > 0 ? new Date(ms) : undefined
}

function isNotFound(error: unknown): boolean {
  return error instanceof TwirpError && (error.status === 404 || error.code === 'not_found')
}

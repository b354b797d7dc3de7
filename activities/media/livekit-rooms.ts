import type { CallRooms } from './call-rooms.js'
import { callIdForRoom, roomNameForCall, type LiveKit } from './livekit.js'

/**
 * The calls' rooms on LiveKit (docs/decisions/060): one room per call, for its two parties only, closed by the platform
 * when the call ends (and by LiveKit if nobody ever comes).
 */

/** A room nobody joined is closed after this long; a call's room is deleted by the platform when the call ends. */
const EMPTY_TIMEOUT_S = 300

export function createCallRooms(liveKit: LiveKit): CallRooms {
  return {
    async open(callId) {
      await liveKit.createRoom(roomNameForCall(callId), { emptyTimeout: EMPTY_TIMEOUT_S, maxParticipants: 2 })
    },
    async close(callId) {
      // Deleting the room disconnects both parties: the media stops at once, whatever the clients do.
      await liveKit.deleteRoom(roomNameForCall(callId))
    },
    async bothPresent(callIds) {
      const occupancy = await liveKit.occupancy(callIds.map(roomNameForCall))
      const present = new Set<string>()
      for (const [room, count] of occupancy) {
        const callId = callIdForRoom(room)
        if (callId && count >= 2) present.add(callId)
      }
      return present
    },
  }
}

/**
 * A call's room on the media server (docs/decisions/060): what the call's workflow and the worker's media monitor
 * need of it, whatever carries the media. activities/media/livekit.ts implements it with LiveKit's server API.
 */
export interface CallRooms {
  /** Creates the call's room for its two parties, idempotently (an existing room is fine). */
  open(callId: string): Promise<void>
  /** Removes both parties and deletes the room, so the media stops whatever either client does. Idempotent. */
  close(callId: string): Promise<void>
  /** Of these calls, those whose room holds both parties now. Throws when the media server cannot be asked. */
  bothPresent(callIds: readonly string[]): Promise<Set<string>>
}

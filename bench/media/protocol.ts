/** What bench/media.ts and its participant processes (./participant-process.ts) say to each other over IPC. */

export interface ParticipantStats {
  id: string
  /** 20-ms audio frames received from the other party so far. */
  framesReceived: number
  /** …of which carried the tone (not decoded silence). */
  audibleFrames: number
  /** Wall-clock ms (Date.now()), comparable with the database's timestamps on one machine. */
  firstFrameAt: number | null
  lastFrameAt: number | null
  /** When the room said it was disconnected (the server deleted it, or the party left). */
  disconnectedAt: number | null
  subscribedAt: number | null
}

export type ParentToChild =
  | { type: 'join'; id: string; url: string; token: string }
  | { type: 'leave'; id: string }
  | { type: 'stats'; requestId: number; ids: string[] }
  | { type: 'quit' }

export type ChildToParent =
  | { type: 'ready'; pid: number }
  | { type: 'joined'; id: string }
  | { type: 'failed'; id: string; error: string }
  | { type: 'left'; id: string }
  | { type: 'stats'; requestId: number; at: number; libraryErrors: number; lastErrors: string[]; participants: ParticipantStats[] }

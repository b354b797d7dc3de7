import { callIdForRoom, createLiveKit, liveKitSettings, LiveKitWebhookError } from '../../../activities/media/livekit.js'
import { connectCallWorkflow, forceEndCallWorkflow } from '../../../temporal/calls.js'
import type { PlatformServices } from '../plugin-api/services.server.js'

/**
 * LiveKit's signed webhooks are the platform's evidence of when a call in its room really started and ended
 * (docs/decisions/060). A verified event is applied once (by its event id, in record_media_presence); its news reaches
 * the call's workflow before the event is recorded as applied, so a failure answers 503 and LiveKit's retry applies it
 * again, while a replay of an applied event changes nothing.
 *
 * - participant_joined, with the other party present: the call starts at the later of the two joins.
 * - participant_left during the call: the call ends at that moment, billed up to it (member_left / operator_left).
 */

const PARTICIPANT_EVENTS = new Set(['participant_joined', 'participant_left'])

interface Presence {
  outcome: 'replayed' | 'unknown_call' | 'unknown_participant' | 'recorded'
  party?: 'member' | 'operator'
  status?: string
  bothPresent?: boolean
  connectedAtMs?: number | null
}

export type WebhookAnswer = { status: number; body: Record<string, unknown> }

export async function receiveMediaWebhook(services: PlatformServices, rawBody: string, authorization: string | null): Promise<WebhookAnswer> {
  let verified
  try {
    verified = await createLiveKit(liveKitSettings(services.config)).verifyWebhook(rawBody, authorization ?? undefined)
  } catch (error) {
    if (error instanceof LiveKitWebhookError) return { status: 401, body: { error: 'invalid_signature', message: error.message } }
    throw error
  }
  const callId = callIdForRoom(verified.roomName)
  const identity = verified.participantIdentity
  if (!PARTICIPANT_EVENTS.has(verified.event) || !callId || !identity) return { status: 200, body: { applied: false } }
  // A join counts from when LiveKit admitted the participant; anything else from when LiveKit reported it.
  const atMs = (verified.event === 'participant_joined' ? (verified.participantJoinedAt ?? verified.createdAt) : verified.createdAt).getTime()
  const event = { id: verified.id, event: verified.event, room: verified.roomName ?? null, atMs }

  const applied = await services.db.$transaction(
    async (tx) => {
      const [row] = await tx.$queryRaw<{ answer: Presence }[]>`
        SELECT record_media_presence(${event.id}, ${event.event}, ${event.room}, ${callId}::uuid, ${identity},
          ${new Date(event.atMs)}::timestamptz) AS answer`
      const presence = row!.answer
      if (presence.outcome !== 'recorded') return presence
      // Told inside the transaction: if the workflow cannot be told, the event is not recorded and LiveKit retries.
      const temporal = await services.temporal()
      if (event.event === 'participant_joined' && presence.status === 'connecting' && presence.bothPresent && presence.connectedAtMs) {
        await connectCallWorkflow(temporal, callId, Number(presence.connectedAtMs), { wait: false })
      }
      if (event.event === 'participant_left' && presence.status === 'active') {
        await forceEndCallWorkflow(temporal, callId, presence.party === 'member' ? 'member_left' : 'operator_left', event.atMs)
      }
      return presence
    },
    { timeout: 15_000 },
  )
  return { status: 200, body: { applied: applied.outcome === 'recorded', outcome: applied.outcome } }
}

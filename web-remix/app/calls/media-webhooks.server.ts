import { callIdForRoom, createLiveKit, liveKitSettings, LiveKitWebhookError } from '../../../activities/media/livekit.js'
import { connectCallWorkflow, forceEndCallWorkflow } from '../../../temporal/calls.js'
import type { PlatformServices } from '../plugin-api/services.server.js'

/**
 * LiveKit's signed webhooks are the platform's evidence of when a call in its room really started and ended
 * (docs/decisions/060). A verified event is applied once (by its event id, in record_media_presence), then its news is
 * handed to the call's workflow; if that fails, the record of the event is taken back and the answer is 5xx, so LiveKit's
 * retry applies it again (what it changed is the same the second time), while a replay of an applied event changes nothing.
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

  // Recorded on its own (the row lock released at once: the call's workflow needs it to start the call), then told
  // to the workflow. If the workflow cannot be told, the record is taken back, so LiveKit's retry applies it again.
  const [row] = await services.db.$queryRaw<{ answer: Presence }[]>`
    SELECT record_media_presence(${event.id}, ${event.event}, ${event.room}, ${callId}::uuid, ${identity},
      ${new Date(event.atMs)}::timestamptz) AS answer`
  const applied = row!.answer
  if (applied.outcome === 'recorded') {
    try {
      const temporal = await services.temporal()
      if (event.event === 'participant_joined' && applied.status === 'connecting' && applied.bothPresent && applied.connectedAtMs) {
        await connectCallWorkflow(temporal, callId, Number(applied.connectedAtMs), { wait: false })
      }
      if (event.event === 'participant_left' && applied.status === 'active') {
        await forceEndCallWorkflow(temporal, callId, applied.party === 'member' ? 'member_left' : 'operator_left', event.atMs)
      }
    } catch (error) {
      await services.db.$executeRaw`DELETE FROM media_webhook_events WHERE id = ${event.id}`
      throw error
    }
  }
  return { status: 200, body: { applied: applied.outcome === 'recorded', outcome: applied.outcome } }
}

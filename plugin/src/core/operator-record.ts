import { join } from 'node:path'
import { z } from 'zod'
import { JsonFile } from './durable-file.js'

/**
 * What the plugin remembers of one operator between runs, on this computer: the calling account they linked, how
 * far they have read their event stream (so a restart resumes it with Last-Event-ID and misses nothing), the call in
 * progress (so a restart recovers it from the platform), and the calls they finished recently (today's list).
 * Nothing in it is a secret; the token lives in the session vault.
 */

const endReason = z.enum([
  'operator_hangup',
  'member_hangup',
  'other',
  'funds_exhausted',
  'heartbeat_lost',
  'prepaid_exhausted',
  'operator_disabled',
  'spending_cap',
  'not_connected',
  'member_left',
  'operator_left',
])

const callingLink = z.object({
  provider: z.enum(['discord', 'sip', 'whatsapp', 'telegram', 'zoom', 'other']),
  handle: z.string().min(1),
})

const member = z.object({ id: z.string().min(1), displayName: z.string(), handle: z.string().nullable() })

/** Where the plugin joins a call's room on the media server, and when the platform gave it that token. */
const callMedia = z.object({
  url: z.string().regex(/^wss?:\/\//i),
  room: z.string().min(1),
  identity: z.string().min(1),
  token: z.string().min(1),
  expiresAt: z.string(),
  iceServers: z
    .array(z.object({ urls: z.union([z.string(), z.array(z.string())]), username: z.string().optional(), credential: z.string().optional() }))
    .nullable()
    .optional(),
  /** This computer's clock when the token arrived: its renewal is timed from here (docs/decisions/063). */
  receivedAtMs: z.number(),
})

/** What the member's card said when the call was accepted: shown beside the call. */
const memberFacts = z.object({
  fundedMinutes: z.number().int().nonnegative(),
  paidCalls: z.number().int().nonnegative(),
  rating: z.object({ average: z.number().nullable(), count: z.number().int().nonnegative() }),
})

/** The call this operator is in (or was, until it is settled and the operator has seen how it ended). */
const storedCall = z.object({
  callId: z.string().min(1),
  member,
  ratePerMinuteCents: z.number().int().nonnegative(),
  /** A prepaid block's size; null for a per-minute call. */
  prepaidMinutes: z.number().int().positive().nullable().default(null),
  /**
   * `starting` is written before the start request goes out, so a crash in between is recovered too; `connecting` once
   * the platform accepted it (nothing is billed); `active` from the moment the platform saw both parties connected.
   */
  phase: z.enum(['starting', 'connecting', 'active', 'ending', 'ended']),
  /** How the call is carried: in the platform's room (audio, video) or on the operator's outside app. */
  channel: z.enum(['audio', 'video', 'outside']).default('outside'),
  /** The join for a call in the platform's room, while it is connecting or running; null otherwise. */
  media: callMedia.nullable().default(null),
  memberFacts: memberFacts.nullable().default(null),
  /** When both parties were connected, by the platform's clock (the meter runs from here); null before. */
  startedAtMs: z.number().nullable(),
  /** Set when the plugin ended it: the meter stops here, whatever the platform bills. */
  endedAtMs: z.number().nullable(),
  endedBy: z.enum(['operator', 'platform']).nullable(),
  endReason: endReason.nullable(),
  settlement: z
    .object({ billedMinutes: z.number().int(), chargedCents: z.number().int(), operatorEarningsCents: z.number().int(), endReason })
    .nullable(),
  /** The operator has seen that it ended (and hung up); it is kept only until its settlement is recorded. */
  dismissed: z.boolean(),
})

const finishedCall = z.object({
  callId: z.string().min(1),
  /** Null for a call this plugin did not start (another device's), whose member it never saw. */
  member: member.nullable(),
  startedAtMs: z.number(),
  endedAtMs: z.number(),
  billedMinutes: z.number().int(),
  chargedCents: z.number().int(),
  operatorEarningsCents: z.number().int(),
  endReason,
})

const operatorRecord = z.object({
  version: z.literal(1),
  link: callingLink.nullable(),
  lastEventId: z.string().nullable(),
  call: storedCall.nullable(),
  /** Newest first, at most RECENT_CALLS. */
  recentCalls: z.array(finishedCall),
  /** Members seen recently, by id: a settled call's event names no handle, so this is where the card finds it. */
  knownMembers: z.array(member),
})

export type StoredCall = z.infer<typeof storedCall>
export type StoredCallMedia = z.infer<typeof callMedia>
export type FinishedCall = z.infer<typeof finishedCall>
export type KnownMember = z.infer<typeof member>
export type OperatorRecordData = z.infer<typeof operatorRecord>

/** Enough for a busy day; older calls are in the operator portal's history. */
export const RECENT_CALLS = 200
const KNOWN_MEMBERS = 500

const empty = (): OperatorRecordData => ({ version: 1, link: null, lastEventId: null, call: null, recentCalls: [], knownMembers: [] })

export class OperatorRecord {
  private constructor(
    private readonly file: JsonFile<OperatorRecordData>,
    private data: OperatorRecordData,
  ) {}

  static async open(dataDir: string, operatorId: string, log: (message: string) => void): Promise<OperatorRecord> {
    // Operator ids are uuids; anything else must not become a path.
    const safeId = operatorId.replace(/[^0-9a-zA-Z-]/g, '_')
    const file = new JsonFile(join(dataDir, 'operators', `${safeId}.json`), operatorRecord, log)
    return new OperatorRecord(file, (await file.read()) ?? empty())
  }

  get link() {
    return this.data.link
  }
  get lastEventId() {
    return this.data.lastEventId
  }
  get call(): StoredCall | null {
    return this.data.call
  }
  get recentCalls(): readonly FinishedCall[] {
    return this.data.recentCalls
  }

  member(id: string): KnownMember | undefined {
    return this.data.knownMembers.find((known) => known.id === id)
  }

  update(change: (data: OperatorRecordData) => OperatorRecordData): Promise<void> {
    this.data = change(this.data)
    return this.file.write(this.data)
  }

  setLink(link: OperatorRecordData['link']) {
    return this.update((data) => ({ ...data, link }))
  }

  setLastEventId(lastEventId: string) {
    return this.update((data) => ({ ...data, lastEventId }))
  }

  setCall(call: StoredCall | null) {
    return this.update((data) => ({ ...data, call }))
  }

  /**
   * Changes the call `callId` as it is now (not as a caller saw it before an await): nothing when the record holds
   * another call or none. Answers the call as it was before the change, or null when nothing changed.
   */
  async updateCall(callId: string, change: (call: StoredCall) => StoredCall | null): Promise<StoredCall | null> {
    const current = this.data.call
    if (current?.callId !== callId) return null
    const next = change(current)
    if (next === current) return null
    await this.setCall(next)
    return current
  }

  rememberMember(known: KnownMember) {
    const previous = this.member(known.id)
    // A member seen without a handle (a website request) keeps the handle seen before.
    const merged = { ...known, handle: known.handle ?? previous?.handle ?? null }
    if (previous && previous.displayName === merged.displayName && previous.handle === merged.handle) return Promise.resolve()
    return this.update((data) => ({
      ...data,
      knownMembers: [merged, ...data.knownMembers.filter((m) => m.id !== known.id)].slice(0, KNOWN_MEMBERS),
    }))
  }

  /** Adds or corrects a finished call (an end's answer first, the settled event's exact times later). */
  recordFinishedCall(call: FinishedCall) {
    return this.update((data) => ({
      ...data,
      recentCalls: [call, ...data.recentCalls.filter((c) => c.callId !== call.callId)]
        .sort((a, b) => b.endedAtMs - a.endedAtMs)
        .slice(0, RECENT_CALLS),
    }))
  }
}

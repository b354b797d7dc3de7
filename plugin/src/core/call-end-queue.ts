import { z } from 'zod'
import { JsonFile } from './durable-file.js'
import type { PluginEndReason } from './platform-api.js'

/**
 * Call ends that the platform has not answered yet, on disk. An end is written here before it is first sent, and
 * removed only once the platform has answered it with the call's settlement, so neither a dropped connection nor a
 * crash nor a quit loses it: whoever runs the plugin next sends it again. The call's id is the request's idempotency
 * key (POST /calls/{callId}/end is idempotent), and the reason first chosen is the one sent every time.
 */

export interface QueuedCallEnd {
  callId: string
  /** Only this operator's session sends it (another operator's token would get 404). */
  operatorId: string
  reason: PluginEndReason
  queuedAtMs: number
  attempts: number
  /** Why the last attempt failed, for the operator's status line. */
  lastError: string | null
  /** The platform has recorded the end (it answered 202) and is settling it. */
  acknowledged: boolean
}

const queuedCallEnd = z.object({
  callId: z.string().min(1),
  operatorId: z.string().min(1),
  reason: z.enum(['operator_hangup', 'member_hangup', 'other']),
  queuedAtMs: z.number(),
  attempts: z.number().int().nonnegative(),
  lastError: z.string().nullable(),
  acknowledged: z.boolean(),
})

const queueFile = z.object({ version: z.literal(1), ends: z.array(queuedCallEnd) })

export class CallEndQueue {
  private constructor(
    private readonly file: JsonFile<z.infer<typeof queueFile>>,
    private ends: QueuedCallEnd[],
  ) {}

  static async open(path: string, log: (message: string) => void): Promise<CallEndQueue> {
    const file = new JsonFile(path, queueFile, log)
    const stored = await file.read()
    return new CallEndQueue(file, stored?.ends ?? [])
  }

  list(operatorId?: string): QueuedCallEnd[] {
    return this.ends.filter((end) => operatorId === undefined || end.operatorId === operatorId).map((end) => ({ ...end }))
  }

  has(callId: string): boolean {
    return this.ends.some((end) => end.callId === callId)
  }

  /** Queues an end; one already queued for the call stays as it is (its first reason is the one that counts). */
  async add(end: Pick<QueuedCallEnd, 'callId' | 'operatorId' | 'reason' | 'queuedAtMs'>): Promise<QueuedCallEnd> {
    const existing = this.ends.find((queued) => queued.callId === end.callId)
    if (existing) return { ...existing }
    const queued: QueuedCallEnd = { ...end, attempts: 0, lastError: null, acknowledged: false }
    this.ends = [...this.ends, queued]
    await this.persist()
    return { ...queued }
  }

  async recordAttempt(callId: string, outcome: { error: string | null; acknowledged?: boolean }): Promise<void> {
    this.ends = this.ends.map((end) =>
      end.callId === callId
        ? { ...end, attempts: end.attempts + 1, lastError: outcome.error, acknowledged: end.acknowledged || outcome.acknowledged === true }
        : end,
    )
    await this.persist()
  }

  async remove(callId: string): Promise<void> {
    if (!this.has(callId)) return
    this.ends = this.ends.filter((end) => end.callId !== callId)
    await this.persist()
  }

  private persist(): Promise<void> {
    return this.file.write({ version: 1, ends: this.ends })
  }
}

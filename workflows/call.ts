import {
  allHandlersFinished,
  condition,
  continueAsNew,
  patched,
  proxyLocalActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow'
import { holdAheadMs, periodStartOffsetMs } from './billing.js'
import {
  awaitCallStart,
  callConnected,
  callState,
  endCall,
  forceEnd,
  heartbeatLost,
  searchAttributeNames,
  type CallActivities,
  type CallInput,
  type CallState,
  type EndReason,
  type Settlement,
  type StartOutcome,
  isPlatformChannel,
} from './definitions.js'

/**
 * One call, from start to settlement. Per billing period it costs one timer and one local activity (the hold);
 * heartbeats never reach it as signals: the hold checks the plugin's last heartbeat, and the worker's heartbeat
 * monitor signals only the calls whose plugin went quiet.
 */

// Local activities: each is idempotent and short, so replaying one after a crash is safe, and they keep the
// history to a marker per period instead of three activity events.
const ledger = proxyLocalActivities<CallActivities>({
  startToCloseTimeout: '10 seconds',
  // Money must always settle: keep retrying transient failures (a database restart, say) with backoff.
  retry: { initialInterval: '200 ms', backoffCoefficient: 2, maximumInterval: '5 seconds' },
  localRetryThreshold: '10 seconds',
})

// Ending a call's media (LiveKit's API) must never keep its money from settling: a few quick tries, then settle anyway.
const media = proxyLocalActivities<Pick<CallActivities, 'closeCallRoom'>>({
  startToCloseTimeout: '5 seconds',
  scheduleToCloseTimeout: '15 seconds',
  retry: { initialInterval: '200 ms', backoffCoefficient: 2, maximumInterval: '2 seconds', maximumAttempts: 5 },
})

/** How long an accepted call waits for both parties when its input does not say (runs recorded without it). */
const DEFAULT_CONNECT_TIMEOUT_MS = 120_000

/** Continue as new after this many periods in one run, to keep the history small on long calls. */
const PERIODS_PER_RUN = 240

export async function callWorkflow(input: CallInput): Promise<Settlement | StartOutcome> {
  const { callId, settings } = input
  let startOutcome: StartOutcome | undefined
  let startedAtMs = input.resume?.startedAtMs ?? null
  let heldPeriods = input.resume?.heldPeriods ?? 0
  let end: { reason: EndReason; atMs: number } | undefined
  let nextHoldAtMs: number | null = null
  // A moment the worker's clock is known to have passed (an activity waited for it), though the workflow's clock,
  // which moves with workflow tasks, may still read earlier.
  let reachedMs = 0
  let settlement: Settlement | undefined = undefined
  // Calls that connect first (docs/decisions/060): when both parties were connected, as the platform saw it, and what
  // the start at that moment decided.
  let acceptedAtMs: number | null = null
  let connectedAtMs: number | undefined
  let connectOutcome: StartOutcome | undefined

  const requestEnd = (reason: EndReason, atMs: number) => {
    // The first end wins; later ones (a duplicate hang-up, a late monitor signal) change nothing.
    if (end === undefined) end = { reason, atMs }
  }

  setHandler(awaitCallStart, async () => {
    await condition(() => startOutcome !== undefined)
    return startOutcome!
  })
  setHandler(
    endCall,
    async ({ reason, requestedAtMs }) => {
      requestEnd(reason, requestedAtMs)
      await condition(() => settlement !== undefined)
      return settlement!
    },
    {
      validator: ({ reason, requestedAtMs }) => {
        if (typeof reason !== 'string' || !Number.isFinite(requestedAtMs)) throw new Error('malformed end request')
      },
    },
  )
  setHandler(
    callConnected,
    async ({ atMs }) => {
      // The first connection counts; one reported after the call ended changes nothing.
      if (connectedAtMs === undefined && end === undefined) connectedAtMs = atMs
      await condition(() => connectOutcome !== undefined || settlement !== undefined)
      return connectOutcome ?? { status: 'ended', callId, requestHash: input.requestHash, endReason: settlement!.endReason }
    },
    {
      validator: ({ atMs }) => {
        if (!Number.isFinite(atMs)) throw new Error('malformed connection')
        if (input.channel === undefined) throw new Error('this call does not wait for a connection')
      },
    },
  )
  setHandler(heartbeatLost, ({ lastHeartbeatAtMs }) => requestEnd('heartbeat_lost', lastHeartbeatAtMs))
  setHandler(forceEnd, ({ reason, requestedAtMs }) => requestEnd(reason, requestedAtMs))
  setHandler(
    callState,
    (): CallState => ({
      callId,
      phase: settlement
        ? 'settled'
        : startOutcome?.status === 'refused'
          ? 'refused'
          : end
            ? 'ending'
            : startedAtMs === null
              ? acceptedAtMs === null
                ? 'opening'
                : 'connecting'
              : 'active',
      startedAtMs,
      heldPeriods,
      nextHoldAtMs: end || settlement ? null : nextHoldAtMs,
      endReason: end?.reason ?? null,
      settlement: settlement ?? null,
    }),
  )

  const platformMedia = isPlatformChannel(input.channel)
  /** Ends the room's media first (so it stops at the boundary), then settles: the call's last steps, whatever ended it. */
  const finish = async (reason: EndReason, endedAtMs: number): Promise<Settlement> => {
    if (platformMedia) await media.closeCallRoom({ callId }).catch(() => undefined)
    settlement = await ledger.settleCall({ callId, endReason: reason, endedAtMs })
    upsertSearchAttributes({ [searchAttributeNames.callStatus]: ['settled'] })
    await condition(allHandlersFinished)
    return settlement
  }

  if (input.resume === undefined && input.channel !== undefined) {
    // Accepted now; billed only from the moment both parties are connected.
    startOutcome = await ledger.acceptCall({ ...input, acceptedAtMs: Date.now() })
    if (startOutcome.status !== 'connecting') {
      upsertSearchAttributes({ [searchAttributeNames.callStatus]: ['refused'] })
      await condition(allHandlersFinished)
      return startOutcome
    }
    acceptedAtMs = startOutcome.acceptedAtMs
    upsertSearchAttributes({ [searchAttributeNames.callStatus]: ['connecting'] })
    const connected = await condition(
      () => connectedAtMs !== undefined || end !== undefined,
      input.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    )
    if (!connected || connectedAtMs === undefined) {
      const reason = end?.reason ?? 'not_connected'
      await finish(reason, acceptedAtMs)
      connectOutcome = { status: 'ended', callId, requestHash: input.requestHash, endReason: reason }
      return settlement!
    }
    // Never before the acceptance, never in the future: the start is a moment the platform has seen.
    const startAt = Math.min(Math.max(connectedAtMs, acceptedAtMs), Date.now())
    connectOutcome = await ledger.startConnectedCall({ callId, startedAtMs: startAt })
    if (connectOutcome.status !== 'active') {
      const reason: EndReason = connectOutcome.status === 'refused' && connectOutcome.reason === 'spending_cap' ? 'spending_cap' : 'funds_exhausted'
      return await finish(reason, acceptedAtMs)
    }
    upsertSearchAttributes({ [searchAttributeNames.callStatus]: ['active'] })
    startedAtMs = connectOutcome.startedAtMs
    heldPeriods = input.mode === 'prepaid' ? input.prepaidMinutes! : 1
  } else if (input.resume === undefined) {
    // A run recorded before calls connected first: it opened at once.
    startedAtMs = Date.now()
    startOutcome = await ledger.openCall({ ...input, startedAtMs })
    if (startOutcome.status !== 'active') {
      upsertSearchAttributes({ [searchAttributeNames.callStatus]: ['refused'] })
      await condition(allHandlersFinished)
      return startOutcome
    }
    startedAtMs = startOutcome.startedAtMs
    heldPeriods = input.mode === 'prepaid' ? input.prepaidMinutes! : 1
  } else {
    // A continued run answers late start requests with what the first run decided.
    startOutcome = {
      status: 'active',
      callId,
      requestHash: input.requestHash,
      startedAtMs: input.resume.startedAtMs,
      ratePerMinuteCents: input.ratePerMinuteCents,
      fundedMinutes: heldPeriods,
    }
    connectOutcome = startOutcome
  }
  const callStart = startedAtMs!
  const periodsAtRunStart = heldPeriods
  // Holds are made a little ahead of their period (billing.ts holdAheadMs, docs/decisions/045); runs that began
  // before that change replay as they ran, holding on the boundary.
  const aheadMs = input.mode === 'per_minute' && patched('hold-ahead') ? holdAheadMs(settings.periodMs) : 0

  while (end === undefined) {
    // The next period begins when the held ones are used up; its hold is made aheadMs before.
    const nextPeriod = heldPeriods + 1
    const boundaryMs = callStart + periodStartOffsetMs(nextPeriod, settings.periodMs)
    nextHoldAtMs = boundaryMs - aheadMs
    const endedBeforeHold = await condition(() => end !== undefined, Math.max(0, nextHoldAtMs - Date.now()))
    nextHoldAtMs = null
    if (endedBeforeHold) break

    if (input.mode === 'prepaid') {
      requestEnd('prepaid_exhausted', boundaryMs)
      break
    }
    let hold = await ledger.holdNextPeriod({ callId, period: nextPeriod })
    if (!hold.held && (hold.reason === 'insufficient_funds' || hold.reason === 'spending_cap') && Date.now() < boundaryMs) {
      // Refused ahead of the period: the member has paid until its boundary and may top up meanwhile. Ask once more
      // on the boundary itself; the activity waits for it on the worker's clock, so a cut-off is not a timer late.
      hold = await ledger.holdNextPeriod({ callId, period: nextPeriod, notBeforeMs: boundaryMs })
      reachedMs = boundaryMs
    }
    if (!hold.held) {
      if (hold.reason === 'insufficient_funds') requestEnd('funds_exhausted', boundaryMs)
      else if (hold.reason === 'spending_cap') requestEnd('spending_cap', boundaryMs)
      else if (hold.reason === 'heartbeat_lost') requestEnd('heartbeat_lost', hold.lastHeartbeatAtMs)
      // Settling again returns the settlement already recorded, whatever end is requested here.
      else requestEnd('other', boundaryMs)
      break
    }
    heldPeriods = hold.heldPeriods

    if (end === undefined && (heldPeriods - periodsAtRunStart >= (input.periodsPerRun ?? PERIODS_PER_RUN) || workflowInfo().continueAsNewSuggested)) {
      // Let in-flight handlers finish first; an end that arrives meanwhile is settled by this run instead.
      await condition(() => allHandlersFinished() || end !== undefined)
      if (end === undefined) {
        return await continueAsNew<typeof callWorkflow>({ ...input, resume: { startedAtMs: callStart, heldPeriods } })
      }
    }
  }

  const { reason, atMs } = end!
  // Never bill past now or before the start, whatever time a request carried.
  const endedAtMs = Math.min(Math.max(atMs, callStart), Math.max(Date.now(), reachedMs))
  return finish(reason, endedAtMs)
}

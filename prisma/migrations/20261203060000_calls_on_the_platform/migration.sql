-- Calls the platform carries (docs/decisions/060-calls-on-the-platform.md).
--
-- A call now begins when the operator accepts the member's request: the call's row is recorded 'connecting', with
-- nothing held, and the member is told to join. It is billed from the moment both people are connected, as the
-- platform saw it: for a call in a LiveKit room (channel audio or video), when LiveKit's signed webhooks said both had
-- joined; for a call on an outside app (channel outside), when the member confirmed on their own page. Only then is
-- the first period (or the prepaid block) held, by start_connected_call. A call that never connects is closed with
-- nothing charged by close_unconnected_call.

ALTER TYPE "CallStatus" ADD VALUE IF NOT EXISTS 'connecting' BEFORE 'active';

CREATE TYPE "CallChannel" AS ENUM ('audio', 'video', 'outside');

-- What the member asked for: a call in the platform's room, with or without video, or on the operator's outside app.
ALTER TABLE "call_requests" ADD COLUMN "channel" "CallChannel" NOT NULL DEFAULT 'audio';

-- How the call is carried, and what the platform saw of its parties. Calls recorded before were on outside apps.
ALTER TABLE "calls"
    ADD COLUMN "channel" "CallChannel" NOT NULL DEFAULT 'outside',
    ADD COLUMN "accepted_at" TIMESTAMPTZ(3),
    ADD COLUMN "member_joined_at" TIMESTAMPTZ(3),
    ADD COLUMN "member_left_at" TIMESTAMPTZ(3),
    ADD COLUMN "operator_joined_at" TIMESTAMPTZ(3),
    ADD COLUMN "operator_left_at" TIMESTAMPTZ(3),
    ADD COLUMN "member_confirmed_at" TIMESTAMPTZ(3);

-- LiveKit's webhook events already applied, by their event id: a replayed delivery changes nothing.
CREATE TABLE "media_webhook_events" (
    "id" TEXT NOT NULL,
    "event" TEXT NOT NULL,
    "room" TEXT,
    "identity" TEXT,
    "occurred_at" TIMESTAMPTZ(3) NOT NULL,
    "received_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "media_webhook_events_pkey" PRIMARY KEY ("id")
);

DROP FUNCTION "call_consent"(UUID, UUID, "CallMode", INTEGER, INTEGER, UUID, UUID, TIMESTAMPTZ);

-- Whether a call of these terms may answer the consent named (as in 20261203010000, now with the channel among the
-- terms). A request the call already answered (accepted with this call's id) still answers it: the call's start
-- comes after its acceptance.
CREATE FUNCTION "call_consent"(
    p_call_id UUID, p_member_id UUID, p_operator_id UUID, p_mode "CallMode", p_prepaid_minutes INTEGER, p_rate INTEGER,
    p_channel "CallChannel", p_request_id UUID, p_scheduled_call_id UUID, p_answered_at TIMESTAMPTZ
) RETURNS JSONB LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    r "call_requests"%ROWTYPE;
    s "scheduled_calls"%ROWTYPE;
BEGIN
    IF p_request_id IS NOT NULL THEN
        SELECT * INTO r FROM "call_requests" WHERE "id" = p_request_id FOR UPDATE;
        IF NOT FOUND OR r."member_id" <> p_member_id OR r."operator_id" <> p_operator_id THEN
            RETURN jsonb_build_object('outcome', 'call_request_not_found');
        END IF;
        IF NOT ((r."status" = 'pending' AND r."expires_at" > p_answered_at)
                OR (r."status" = 'accepted' AND r."call_id" = p_call_id)) THEN
            RETURN jsonb_build_object('outcome', 'call_request_closed');
        END IF;
        IF r."mode" <> p_mode OR r."prepaid_minutes" IS DISTINCT FROM p_prepaid_minutes OR r."rate_per_minute_cents" <> p_rate
           OR (p_channel IS NOT NULL AND r."channel" <> p_channel) THEN
            RETURN jsonb_build_object('outcome', 'call_terms_mismatch');
        END IF;
        RETURN jsonb_build_object('outcome', 'ok');
    END IF;
    IF p_scheduled_call_id IS NOT NULL THEN
        SELECT * INTO s FROM "scheduled_calls" WHERE "id" = p_scheduled_call_id FOR UPDATE;
        IF NOT FOUND OR s."member_id" <> p_member_id OR s."operator_id" <> p_operator_id THEN
            RETURN jsonb_build_object('outcome', 'scheduled_call_not_found');
        END IF;
        IF s."status" <> 'reserved' THEN
            RETURN jsonb_build_object('outcome', 'scheduled_call_not_reserved');
        END IF;
        -- A booked call is a video call in the platform's room: its reservation is what the member agreed to.
        IF p_mode <> 'prepaid' OR p_prepaid_minutes IS DISTINCT FROM s."minutes" OR s."rate_per_minute_cents" <> p_rate
           OR (p_channel IS NOT NULL AND p_channel <> 'video') THEN
            RETURN jsonb_build_object('outcome', 'call_terms_mismatch');
        END IF;
        RETURN jsonb_build_object('outcome', 'ok');
    END IF;
    RETURN jsonb_build_object('outcome', 'call_request_required');
END;
$$;

-- open_call (runs recorded before calls connected first) checks consent as before, without a channel.
CREATE OR REPLACE FUNCTION "open_call"(
    p_call_id UUID, p_member_id UUID, p_operator_id UUID, p_company_id UUID, p_mode "CallMode", p_prepaid_minutes INTEGER,
    p_rate INTEGER, p_period_ms INTEGER, p_grace_ms INTEGER, p_low_balance_periods INTEGER, p_heartbeat_timeout_ms INTEGER,
    p_commission_bps INTEGER, p_company_share_bps INTEGER, p_request_hash TEXT, p_workflow_id TEXT, p_started_at TIMESTAMPTZ,
    p_hold_id TEXT, p_hold_amount BIGINT, p_earnings_account TEXT,
    p_request_id UUID, p_scheduled_call_id UUID, p_answered_at TIMESTAMPTZ
) RETURNS JSONB LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    consent JSONB;
    held JSONB;
    available BIGINT;
    violated TEXT;
BEGIN
    IF EXISTS (SELECT 1 FROM "calls" WHERE "id" = p_call_id) THEN
        RETURN jsonb_build_object('outcome', 'exists');
    END IF;
    IF NOT EXISTS (SELECT 1 FROM "users" WHERE "id" = p_member_id AND "role" = 'member' AND "status" = 'active') THEN
        RETURN jsonb_build_object('outcome', 'member_not_found');
    END IF;
    IF NOT EXISTS (SELECT 1 FROM "operators" o JOIN "users" u ON u."id" = o."user_id"
                   WHERE o."user_id" = p_operator_id AND u."status" = 'active' AND u."email_verified_at" IS NOT NULL) THEN
        RETURN jsonb_build_object('outcome', 'operator_unavailable');
    END IF;
    consent := "call_consent"(p_call_id, p_member_id, p_operator_id, p_mode, p_prepaid_minutes, p_rate, NULL, p_request_id,
                              p_scheduled_call_id, p_answered_at);
    IF consent->>'outcome' <> 'ok' THEN
        RETURN consent;
    END IF;
    BEGIN
        INSERT INTO "calls" ("id", "member_id", "operator_id", "company_id", "mode", "prepaid_minutes", "rate_per_minute_cents",
            "period_ms", "grace_ms", "low_balance_periods", "heartbeat_timeout_ms", "commission_bps", "company_share_bps",
            "request_hash", "workflow_id", "status", "started_at", "last_heartbeat_at", "funded_minutes_at_start", "held_periods")
        VALUES (p_call_id, p_member_id, p_operator_id, p_company_id, p_mode, p_prepaid_minutes, p_rate, p_period_ms, p_grace_ms,
            p_low_balance_periods, p_heartbeat_timeout_ms, p_commission_bps, p_company_share_bps, p_request_hash, p_workflow_id,
            'active', p_started_at, greatest(now(), p_started_at), 0,
            CASE WHEN p_mode = 'prepaid' THEN p_prepaid_minutes ELSE 0 END);
        INSERT INTO "accounts" ("id", "kind", "owner_id") VALUES (p_earnings_account, 'operator_earnings', p_operator_id)
        ON CONFLICT ("id") DO NOTHING;
        IF p_mode = 'prepaid' THEN
            held := "call_hold"(p_call_id, p_hold_id, p_hold_amount, 'call_prepaid_hold');
        ELSE
            held := "hold_call_period"(p_call_id, 1, p_hold_id, FALSE);
        END IF;
        IF held->>'outcome' NOT IN ('created', 'exists', 'held') THEN
            RAISE EXCEPTION USING ERRCODE = 'P0001', MESSAGE = held->>'outcome';
        END IF;
    EXCEPTION
        WHEN unique_violation THEN
            GET STACKED DIAGNOSTICS violated = CONSTRAINT_NAME;
            IF violated = 'calls_one_open_call_per_operator' THEN
                RETURN jsonb_build_object('outcome', 'operator_busy');
            END IF;
            RAISE;
        WHEN raise_exception THEN
            RETURN jsonb_build_object('outcome', SQLERRM);
    END;
    IF p_request_id IS NOT NULL THEN
        UPDATE "call_requests" SET "status" = 'accepted', "call_id" = p_call_id, "answered_at" = p_answered_at
        WHERE "id" = p_request_id;
    END IF;
    PERFORM "emit_outbox_event"('call.started', p_member_id, NULL, p_call_id,
        jsonb_build_object('callId', p_call_id::TEXT, 'requestId', p_request_id::TEXT,
                           'scheduledCallId', p_scheduled_call_id::TEXT, 'operatorId', p_operator_id::TEXT));
    SELECT "credits_posted" - "debits_posted" - "debits_pending" INTO available
    FROM "accounts" WHERE "kind" = 'member_wallet' AND "owner_id" = p_member_id;
    RETURN jsonb_build_object('outcome', 'opened', 'availableAfterCents', available);
END;
$$;

-- The operator accepts the member's request (or booking): the call is recorded 'connecting' under the member's consent,
-- the request marked answered, and the member told to join (call.started), in one statement. Nothing is held yet:
-- the member's available balance must cover the first period (or the block) now, and is checked again, under the
-- ledger's rules, when the call starts. Answers 'accepted', 'exists' (a replay) or why not, as open_call.
CREATE FUNCTION "accept_call"(
    p_call_id UUID, p_member_id UUID, p_operator_id UUID, p_company_id UUID, p_mode "CallMode", p_prepaid_minutes INTEGER,
    p_rate INTEGER, p_channel "CallChannel", p_period_ms INTEGER, p_grace_ms INTEGER, p_low_balance_periods INTEGER,
    p_heartbeat_timeout_ms INTEGER, p_commission_bps INTEGER, p_company_share_bps INTEGER, p_request_hash TEXT,
    p_workflow_id TEXT, p_accepted_at TIMESTAMPTZ, p_required BIGINT, p_earnings_account TEXT,
    p_request_id UUID, p_scheduled_call_id UUID
) RETURNS JSONB LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    consent JSONB;
    available BIGINT;
    violated TEXT;
    caps "spending_caps"%ROWTYPE;
    spent_today BIGINT;
    spent_month BIGINT;
BEGIN
    IF EXISTS (SELECT 1 FROM "calls" WHERE "id" = p_call_id) THEN
        RETURN jsonb_build_object('outcome', 'exists');
    END IF;
    IF NOT EXISTS (SELECT 1 FROM "users" WHERE "id" = p_member_id AND "role" = 'member' AND "status" = 'active') THEN
        RETURN jsonb_build_object('outcome', 'member_not_found');
    END IF;
    IF NOT EXISTS (SELECT 1 FROM "operators" o JOIN "users" u ON u."id" = o."user_id"
                   WHERE o."user_id" = p_operator_id AND u."status" = 'active' AND u."email_verified_at" IS NOT NULL) THEN
        RETURN jsonb_build_object('outcome', 'operator_unavailable');
    END IF;
    consent := "call_consent"(p_call_id, p_member_id, p_operator_id, p_mode, p_prepaid_minutes, p_rate, p_channel,
                              p_request_id, p_scheduled_call_id, p_accepted_at);
    IF consent->>'outcome' <> 'ok' THEN
        RETURN consent;
    END IF;
    SELECT "credits_posted" - "debits_posted" - "debits_pending" INTO available
    FROM "accounts" WHERE "kind" = 'member_wallet' AND "owner_id" = p_member_id;
    -- A booking's money is reserved already; anything else must be affordable now, within the member's own caps
    -- (read here, as call_hold reads them; the first hold at the start checks them again under the accounts' locks).
    IF p_scheduled_call_id IS NULL THEN
        IF coalesce(available, 0) < p_required THEN
            RETURN jsonb_build_object('outcome', 'insufficient_funds');
        END IF;
        SELECT * INTO caps FROM "spending_caps" WHERE "member_id" = p_member_id;
        IF FOUND AND (caps."daily_cents" IS NOT NULL OR caps."monthly_cents" IS NOT NULL) THEN
            SELECT s."today", s."month" INTO spent_today, spent_month FROM "member_call_spending"(p_member_id, now(), caps."time_zone") s;
            IF (caps."daily_cents" IS NOT NULL AND spent_today + p_required > caps."daily_cents")
               OR (caps."monthly_cents" IS NOT NULL AND spent_month + p_required > caps."monthly_cents") THEN
                RETURN jsonb_build_object('outcome', 'spending_cap');
            END IF;
        END IF;
    END IF;
    BEGIN
        INSERT INTO "calls" ("id", "member_id", "operator_id", "company_id", "mode", "prepaid_minutes", "rate_per_minute_cents",
            "channel", "period_ms", "grace_ms", "low_balance_periods", "heartbeat_timeout_ms", "commission_bps",
            "company_share_bps", "request_hash", "workflow_id", "status", "started_at", "accepted_at", "last_heartbeat_at",
            "funded_minutes_at_start", "held_periods")
        VALUES (p_call_id, p_member_id, p_operator_id, p_company_id, p_mode, p_prepaid_minutes, p_rate, p_channel, p_period_ms,
            p_grace_ms, p_low_balance_periods, p_heartbeat_timeout_ms, p_commission_bps, p_company_share_bps, p_request_hash,
            p_workflow_id, 'connecting', p_accepted_at, p_accepted_at, p_accepted_at, 0, 0);
    EXCEPTION
        WHEN unique_violation THEN
            GET STACKED DIAGNOSTICS violated = CONSTRAINT_NAME;
            IF violated = 'calls_one_open_call_per_operator' THEN
                RETURN jsonb_build_object('outcome', 'operator_busy');
            END IF;
            RAISE;
    END;
    INSERT INTO "accounts" ("id", "kind", "owner_id") VALUES (p_earnings_account, 'operator_earnings', p_operator_id)
    ON CONFLICT ("id") DO NOTHING;
    IF p_request_id IS NOT NULL THEN
        UPDATE "call_requests" SET "status" = 'accepted', "call_id" = p_call_id, "answered_at" = p_accepted_at
        WHERE "id" = p_request_id;
    END IF;
    PERFORM "emit_outbox_event"('call.started', p_member_id, NULL, p_call_id,
        jsonb_build_object('callId', p_call_id::TEXT, 'requestId', p_request_id::TEXT,
                           'scheduledCallId', p_scheduled_call_id::TEXT, 'operatorId', p_operator_id::TEXT,
                           'channel', p_channel::TEXT));
    RETURN jsonb_build_object('outcome', 'accepted', 'availableCents', coalesce(available, 0));
END;
$$;

-- Both parties are connected (the moment the platform saw): the connecting call starts then, and its first period (or
-- its prepaid block) is held through the same functions as every other hold, in one statement. A replay answers
-- 'exists'; a hold refused (no money now, the member's cap) leaves the call connecting and answers why, with nothing
-- held. Both sides are told (call.connected).
CREATE FUNCTION "start_connected_call"(p_call_id UUID, p_started_at TIMESTAMPTZ, p_hold_id TEXT, p_hold_amount BIGINT)
RETURNS JSONB LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    c "calls"%ROWTYPE;
    held JSONB;
    available BIGINT;
BEGIN
    SELECT * INTO c FROM "calls" WHERE "id" = p_call_id FOR UPDATE;
    IF NOT FOUND THEN
        RETURN jsonb_build_object('outcome', 'call_not_found');
    END IF;
    IF c."status" <> 'connecting' THEN
        IF c."started_at" = p_started_at THEN
            RETURN jsonb_build_object('outcome', 'exists');
        END IF;
        RETURN jsonb_build_object('outcome', 'not_connecting', 'status', c."status");
    END IF;
    BEGIN
        UPDATE "calls" SET "status" = 'active', "started_at" = p_started_at, "last_heartbeat_at" = greatest(now(), p_started_at),
            "held_periods" = CASE WHEN c."mode" = 'prepaid' THEN c."prepaid_minutes" ELSE 0 END
        WHERE "id" = p_call_id;
        IF c."mode" = 'prepaid' THEN
            held := "call_hold"(p_call_id, p_hold_id, p_hold_amount, 'call_prepaid_hold');
        ELSE
            held := "hold_call_period"(p_call_id, 1, p_hold_id, FALSE);
        END IF;
        IF held->>'outcome' NOT IN ('created', 'exists', 'held') THEN
            RAISE EXCEPTION USING ERRCODE = 'P0001', MESSAGE = held->>'outcome';
        END IF;
    EXCEPTION
        WHEN raise_exception THEN
            RETURN jsonb_build_object('outcome', SQLERRM);
    END;
    PERFORM "emit_outbox_event"('call.connected', c."member_id", c."operator_id", p_call_id,
        jsonb_build_object('callId', p_call_id::TEXT, 'startedAtMs', floor(extract(epoch FROM p_started_at) * 1000)::BIGINT));
    SELECT "credits_posted" - "debits_posted" - "debits_pending" INTO available
    FROM "accounts" WHERE "kind" = 'member_wallet' AND "owner_id" = c."member_id";
    RETURN jsonb_build_object('outcome', 'opened', 'availableAfterCents', available);
END;
$$;

-- A call that never connected (the member did not join in time, someone hung up first, the first period could not be
-- held): settled with nothing charged and nothing moved, and both sides told why. Answers the call's row.
CREATE FUNCTION "close_unconnected_call"(p_call_id UUID, p_end_reason TEXT, p_ending_payload JSONB, p_settled_payload JSONB)
RETURNS JSONB LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    c "calls"%ROWTYPE;
BEGIN
    SELECT * INTO c FROM "calls" WHERE "id" = p_call_id FOR UPDATE;
    IF NOT FOUND THEN
        RETURN jsonb_build_object('outcome', 'call_not_found');
    END IF;
    IF c."status" <> 'connecting' THEN
        RETURN jsonb_build_object('outcome', CASE WHEN c."status" = 'settled' THEN 'already_settled' ELSE 'started' END,
                                  'call', to_jsonb(c));
    END IF;
    UPDATE "calls" SET "status" = 'settled', "ended_at" = c."started_at", "end_reason" = p_end_reason, "billed_minutes" = 0,
        "charged_cents" = 0, "commission_cents" = 0, "company_share_cents" = 0, "operator_earnings_cents" = 0,
        "low_balance" = FALSE, "settled_at" = now()
    WHERE "id" = p_call_id
    RETURNING * INTO c;
    IF p_ending_payload IS NOT NULL THEN
        PERFORM "emit_outbox_event"('call.ending', c."member_id", c."operator_id", c."id", p_ending_payload);
    END IF;
    PERFORM "emit_outbox_event"('call.settled', c."member_id", c."operator_id", c."id",
        p_settled_payload || jsonb_build_object('startedAtMs', floor(extract(epoch FROM c."started_at") * 1000)::BIGINT,
                                                'endedAtMs', floor(extract(epoch FROM c."ended_at") * 1000)::BIGINT));
    RETURN jsonb_build_object('outcome', 'closed', 'call', to_jsonb(c));
END;
$$;

-- What LiveKit saw of a call's parties, from a verified webhook event, once per event id. Answers whether the event
-- was new, whose it was, and the call as it is now: whether both parties are present and since when (the later join).
CREATE FUNCTION "record_media_presence"(
    p_event_id TEXT, p_event TEXT, p_room TEXT, p_call_id UUID, p_identity TEXT, p_at TIMESTAMPTZ
) RETURNS JSONB LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    c "calls"%ROWTYPE;
    party TEXT;
    member_here BOOLEAN;
    operator_here BOOLEAN;
BEGIN
    INSERT INTO "media_webhook_events" ("id", "event", "room", "identity", "occurred_at")
    VALUES (p_event_id, p_event, p_room, p_identity, p_at)
    ON CONFLICT ("id") DO NOTHING;
    IF NOT FOUND THEN
        RETURN jsonb_build_object('outcome', 'replayed');
    END IF;
    SELECT * INTO c FROM "calls" WHERE "id" = p_call_id FOR UPDATE;
    IF NOT FOUND OR c."channel" = 'outside' THEN
        RETURN jsonb_build_object('outcome', 'unknown_call');
    END IF;
    party := CASE WHEN p_identity = c."member_id"::TEXT THEN 'member' WHEN p_identity = c."operator_id"::TEXT THEN 'operator' END;
    IF party IS NULL THEN
        RETURN jsonb_build_object('outcome', 'unknown_participant', 'status', c."status");
    END IF;
    IF p_event = 'participant_joined' THEN
        IF party = 'member' THEN
            UPDATE "calls" SET "member_joined_at" = greatest(coalesce("member_joined_at", p_at), p_at) WHERE "id" = p_call_id RETURNING * INTO c;
        ELSE
            UPDATE "calls" SET "operator_joined_at" = greatest(coalesce("operator_joined_at", p_at), p_at) WHERE "id" = p_call_id RETURNING * INTO c;
        END IF;
    ELSIF p_event = 'participant_left' THEN
        IF party = 'member' THEN
            UPDATE "calls" SET "member_left_at" = greatest(coalesce("member_left_at", p_at), p_at) WHERE "id" = p_call_id RETURNING * INTO c;
        ELSE
            UPDATE "calls" SET "operator_left_at" = greatest(coalesce("operator_left_at", p_at), p_at) WHERE "id" = p_call_id RETURNING * INTO c;
        END IF;
    END IF;
    member_here := c."member_joined_at" IS NOT NULL AND (c."member_left_at" IS NULL OR c."member_left_at" < c."member_joined_at");
    operator_here := c."operator_joined_at" IS NOT NULL AND (c."operator_left_at" IS NULL OR c."operator_left_at" < c."operator_joined_at");
    RETURN jsonb_build_object('outcome', 'recorded', 'party', party, 'status', c."status", 'workflowId', c."workflow_id",
        'bothPresent', member_here AND operator_here,
        'connectedAtMs', CASE WHEN member_here AND operator_here
            THEN floor(extract(epoch FROM greatest(c."member_joined_at", c."operator_joined_at")) * 1000)::BIGINT END);
END;
$$;

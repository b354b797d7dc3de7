-- A call exists only as the answer to the member's own request, at its terms (docs/decisions/046-a-call-answers-the-member.md).
--
-- open_call gains the consent it answers: an open call request of this member to this operator (p_request_id), or
-- their scheduled call whose money is reserved (p_scheduled_call_id). It checks, under the request's (or the
-- booking's) row lock, that it is this pair's, still open when the operator answered (p_answered_at, the platform's
-- clock), and that the call's terms are its terms: mode, prepaid minutes and the price the member agreed to. The
-- request is marked accepted and the member's pages are told (call.started) in the opening's own transaction, so a
-- call never exists without the consent it answers, and a refused opening leaves the request open.
--
-- Operators bill only once their e-mail address is verified: open_call refuses an unverified operator like a
-- disabled one.

DROP FUNCTION "open_call"(UUID, UUID, UUID, UUID, "CallMode", INTEGER, INTEGER, INTEGER, INTEGER, INTEGER, INTEGER,
                          INTEGER, INTEGER, TEXT, TEXT, TIMESTAMPTZ, TEXT, BIGINT, TEXT);

-- Whether a call of these terms may answer the consent named. Answers {"outcome": "ok"} or why not:
-- call_request_required (neither named), call_request_not_found, call_request_closed, scheduled_call_not_found,
-- scheduled_call_not_reserved, call_terms_mismatch. Locks the request's (or the booking's) row.
CREATE FUNCTION "call_consent"(
    p_member_id UUID, p_operator_id UUID, p_mode "CallMode", p_prepaid_minutes INTEGER, p_rate INTEGER,
    p_request_id UUID, p_scheduled_call_id UUID, p_answered_at TIMESTAMPTZ
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
        IF r."status" <> 'pending' OR r."expires_at" <= p_answered_at THEN
            RETURN jsonb_build_object('outcome', 'call_request_closed');
        END IF;
        IF r."mode" <> p_mode OR r."prepaid_minutes" IS DISTINCT FROM p_prepaid_minutes OR r."rate_per_minute_cents" <> p_rate THEN
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
        IF p_mode <> 'prepaid' OR p_prepaid_minutes IS DISTINCT FROM s."minutes" OR s."rate_per_minute_cents" <> p_rate THEN
            RETURN jsonb_build_object('outcome', 'call_terms_mismatch');
        END IF;
        RETURN jsonb_build_object('outcome', 'ok');
    END IF;
    RETURN jsonb_build_object('outcome', 'call_request_required');
END;
$$;

-- Opens a call in one statement: the parties checked, the member's consent checked and answered, the call recorded,
-- the operator's earnings account opened, and the first period (or a prepaid block) held through the same functions
-- as every other hold. A refusal leaves nothing behind (the inner block is rolled back) and answers why:
-- member_not_found, operator_unavailable, operator_busy, insufficient_funds, spending_cap, or a call_consent outcome.
-- A call that exists already answers 'exists' (a replayed start). The caller records how many periods the money
-- covers (workflows/billing.ts fundedPeriods) in the same transaction.
CREATE FUNCTION "open_call"(
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
    consent := "call_consent"(p_member_id, p_operator_id, p_mode, p_prepaid_minutes, p_rate, p_request_id,
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
            -- Undo the call's row with the block: a refused start records nothing.
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

-- A call's settlement in one statement (docs/decisions/030-ledger-writes-as-functions.md): what activities/calls.ts
-- settleCall did in an interactive transaction of about ten round trips, in the same order, so its locks are taken as
-- before (the call's row, then its holds, the shared accounts last) and held only while the function runs.
-- The arithmetic stays in TypeScript (workflows/billing.ts settleAmounts): the caller read the call without a lock,
-- computed the settlement from that row, and passes what it expects the row still to say. If the row moved on
-- meanwhile (a hold landed, say), nothing is done and the answer is 'stale' with the row as it is now, to compute
-- again from. A settled call answers 'already_settled' with its row, so a replay returns the first settlement.
-- A ledger refusal raises and rolls the whole statement back, as the TypeScript helpers' errors rolled back the
-- transaction. The events' payloads come from the caller too: their shapes are defined there.
CREATE FUNCTION "settle_call"(
    p_call_id UUID, p_expected_mode "CallMode", p_expected_prepaid_minutes INTEGER, p_expected_held_periods INTEGER,
    p_ended_at TIMESTAMPTZ, p_end_reason TEXT, p_billed_minutes INTEGER, p_charged BIGINT, p_commission BIGINT,
    p_company_share BIGINT, p_operator_earnings BIGINT,
    p_post_ids TEXT[], p_void_ids TEXT[], p_prepaid_hold_id TEXT,
    p_ending_payload JSONB, p_settled_payload JSONB,
    p_operator_account TEXT, p_platform_account TEXT, p_commission_id TEXT, p_company_account TEXT, p_company_share_id TEXT
) RETURNS JSONB LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    c "calls"%ROWTYPE;
    hold_id TEXT;
    answer JSONB;
BEGIN
    SELECT * INTO c FROM "calls" WHERE "id" = p_call_id FOR UPDATE;
    IF NOT FOUND THEN
        RETURN jsonb_build_object('outcome', 'call_not_found');
    END IF;
    IF c."status" = 'settled' THEN
        RETURN jsonb_build_object('outcome', 'already_settled', 'call', to_jsonb(c));
    END IF;
    IF c."status" NOT IN ('active', 'ending') OR c."mode" <> p_expected_mode
       OR c."prepaid_minutes" IS DISTINCT FROM p_expected_prepaid_minutes OR c."held_periods" <> p_expected_held_periods THEN
        RETURN jsonb_build_object('outcome', 'stale', 'call', to_jsonb(c));
    END IF;

    -- The holds used are posted (a prepaid block in part: posting nothing releases it), the others released.
    IF p_prepaid_hold_id IS NOT NULL THEN
        answer := "ledger_post_pending"(p_prepaid_hold_id, p_charged);
        IF answer->>'outcome' NOT IN ('posted', 'already_posted', 'voided_now') THEN
            RAISE EXCEPTION 'settle_call: cannot post % (%)', p_prepaid_hold_id, answer->>'outcome';
        END IF;
    END IF;
    FOREACH hold_id IN ARRAY p_post_ids LOOP
        answer := "ledger_post_pending"(hold_id, NULL);
        IF answer->>'outcome' NOT IN ('posted', 'already_posted', 'voided_now') THEN
            RAISE EXCEPTION 'settle_call: cannot post % (%)', hold_id, answer->>'outcome';
        END IF;
    END LOOP;
    FOREACH hold_id IN ARRAY p_void_ids LOOP
        answer := "ledger_void_pending"(hold_id);
        IF answer->>'outcome' NOT IN ('voided', 'already_voided') THEN
            RAISE EXCEPTION 'settle_call: cannot void % (%)', hold_id, answer->>'outcome';
        END IF;
    END LOOP;

    UPDATE "calls" SET "status" = 'settled', "ended_at" = p_ended_at, "end_reason" = p_end_reason,
        "billed_minutes" = p_billed_minutes, "charged_cents" = p_charged, "commission_cents" = p_commission,
        "company_share_cents" = p_company_share, "operator_earnings_cents" = p_operator_earnings, "low_balance" = FALSE,
        "settled_at" = now()
    WHERE "id" = p_call_id
    RETURNING * INTO c;
    IF p_ending_payload IS NOT NULL THEN
        PERFORM "emit_outbox_event"('call.ending', c."member_id", c."operator_id", c."id", p_ending_payload);
    END IF;
    PERFORM "emit_outbox_event"('call.settled', c."member_id", c."operator_id", c."id", p_settled_payload);

    -- Shared accounts last: their row locks are then held only for the moment before commit. The posted holds
    -- credited the operator's earnings with the whole charge; the commission and the company's share move out of them.
    IF p_commission > 0 THEN
        answer := "ledger_create_transfer"(p_commission_id, p_operator_account, p_platform_account, p_commission, FALSE,
                                           'call_commission', p_call_id, NULL);
        IF answer->>'outcome' NOT IN ('created', 'exists') THEN
            RAISE EXCEPTION 'settle_call: cannot create % (%)', p_commission_id, answer->>'outcome';
        END IF;
    END IF;
    IF p_company_share > 0 AND c."company_id" IS NOT NULL THEN
        INSERT INTO "accounts" ("id", "kind", "owner_id") VALUES (p_company_account, 'company_earnings', c."company_id")
        ON CONFLICT ("id") DO NOTHING;
        answer := "ledger_create_transfer"(p_company_share_id, p_operator_account, p_company_account, p_company_share, FALSE,
                                           'call_company_share', p_call_id, NULL);
        IF answer->>'outcome' NOT IN ('created', 'exists') THEN
            RAISE EXCEPTION 'settle_call: cannot create % (%)', p_company_share_id, answer->>'outcome';
        END IF;
    END IF;
    RETURN jsonb_build_object('outcome', 'settled', 'call', to_jsonb(c));
END;
$$;

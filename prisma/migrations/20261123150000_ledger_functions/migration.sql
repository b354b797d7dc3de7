-- The ledger's writes as PostgreSQL functions (docs/decisions/030-ledger-writes-as-functions.md).
-- Each is called in one round trip; the rules are those of activities/ledger/transfers.ts before it, unchanged:
-- accounts locked first in id order, the wallet debit conditional on the available balance (and the CHECK
-- constraints of 20261123100000_init behind it), deterministic transfer ids as idempotency keys (a replay with the
-- same fields changes nothing; with other fields it is refused), pending -> posted/voided the only change of a
-- transfer. Ids and amounts come from the application (workflows/billing.ts, activities/ledger/accounts.ts), so the
-- formats and the billing arithmetic still live in one place each. Every function answers a jsonb
-- {"outcome": ..., ...} and never leaves half of a movement behind: an outcome that moved nothing moved nothing.

CREATE FUNCTION "ledger_create_transfer"(
    p_id TEXT, p_debit TEXT, p_credit TEXT, p_amount BIGINT, p_pending BOOLEAN, p_code TEXT, p_call_id UUID, p_memo TEXT
) RETURNS JSONB LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    existing "transfers"%ROWTYPE;
    found_accounts INTEGER;
    debited INTEGER;
    created "transfers"%ROWTYPE;
BEGIN
    IF p_amount IS NULL OR p_amount <= 0 THEN
        RAISE EXCEPTION 'a transfer moves a positive amount (transfer %)', p_id USING ERRCODE = 'check_violation';
    END IF;
    -- Both accounts first, in id order, so that concurrent transfers queue instead of deadlocking. NO KEY UPDATE is
    -- the strength the balance updates take anyway, and it does not block the foreign-key checks of transfer inserts.
    PERFORM 1 FROM "accounts" WHERE "id" IN (p_debit, p_credit) ORDER BY "id" FOR NO KEY UPDATE;

    SELECT * INTO existing FROM "transfers" WHERE "id" = p_id;
    IF FOUND THEN
        IF existing."debit_account_id" = p_debit AND existing."credit_account_id" = p_credit AND existing."amount" = p_amount
           AND existing."code" = p_code AND existing."call_id" IS NOT DISTINCT FROM p_call_id THEN
            RETURN jsonb_build_object('outcome', 'exists', 'transfer', to_jsonb(existing));
        END IF;
        RETURN jsonb_build_object('outcome', 'conflict');
    END IF;

    SELECT count(*) INTO found_accounts FROM "accounts" WHERE "id" IN (p_debit, p_credit);
    IF found_accounts < 2 THEN
        RETURN jsonb_build_object('outcome', 'missing_account');
    END IF;

    -- A member wallet is debited only while its available balance covers the amount.
    IF p_pending THEN
        UPDATE "accounts" SET "debits_pending" = "debits_pending" + p_amount
        WHERE "id" = p_debit AND ("kind" <> 'member_wallet' OR "credits_posted" - "debits_posted" - "debits_pending" >= p_amount);
    ELSE
        UPDATE "accounts" SET "debits_posted" = "debits_posted" + p_amount
        WHERE "id" = p_debit AND ("kind" <> 'member_wallet' OR "credits_posted" - "debits_posted" - "debits_pending" >= p_amount);
    END IF;
    GET DIAGNOSTICS debited = ROW_COUNT;
    IF debited <> 1 THEN
        RETURN jsonb_build_object('outcome', 'insufficient_funds');
    END IF;
    IF p_pending THEN
        UPDATE "accounts" SET "credits_pending" = "credits_pending" + p_amount WHERE "id" = p_credit;
    ELSE
        UPDATE "accounts" SET "credits_posted" = "credits_posted" + p_amount WHERE "id" = p_credit;
    END IF;

    -- The same id inserted meanwhile by a transfer between other accounts fails here (unique violation): never silent.
    INSERT INTO "transfers" ("id", "debit_account_id", "credit_account_id", "amount", "posted_amount", "status", "code",
                             "call_id", "memo", "resolved_at")
    VALUES (p_id, p_debit, p_credit, p_amount, CASE WHEN p_pending THEN NULL ELSE p_amount END,
            CASE WHEN p_pending THEN 'pending'::"TransferStatus" ELSE 'posted'::"TransferStatus" END, p_code,
            p_call_id, p_memo, CASE WHEN p_pending THEN NULL ELSE now() END)
    RETURNING * INTO created;
    RETURN jsonb_build_object('outcome', 'created', 'transfer', to_jsonb(created));
END;
$$;

-- Posts a pending transfer in full (p_amount NULL) or in part, releasing the rest. Posting again with the same amount
-- changes nothing ('already_posted'); a voided transfer, another amount or more than the hold are refused.
CREATE FUNCTION "ledger_post_pending"(p_id TEXT, p_amount BIGINT) RETURNS JSONB LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    t "transfers"%ROWTYPE;
    v_amount BIGINT;
BEGIN
    SELECT * INTO t FROM "transfers" WHERE "id" = p_id FOR UPDATE;
    IF NOT FOUND THEN
        RETURN jsonb_build_object('outcome', 'missing');
    END IF;
    v_amount := coalesce(p_amount, t."amount");
    IF v_amount < 0 OR v_amount > t."amount" THEN
        RETURN jsonb_build_object('outcome', 'out_of_range', 'transfer', to_jsonb(t));
    END IF;
    IF t."status" = 'posted' THEN
        RETURN jsonb_build_object('outcome', CASE WHEN t."posted_amount" = v_amount THEN 'already_posted' ELSE 'posted_other_amount' END,
                                  'transfer', to_jsonb(t));
    END IF;
    IF t."status" = 'voided' THEN
        RETURN jsonb_build_object('outcome', 'voided', 'transfer', to_jsonb(t));
    END IF;
    IF v_amount = 0 THEN
        -- Posting nothing releases the hold.
        RETURN jsonb_set("ledger_void_pending"(p_id), '{outcome}', '"voided_now"');
    END IF;
    PERFORM 1 FROM "accounts" WHERE "id" IN (t."debit_account_id", t."credit_account_id") ORDER BY "id" FOR NO KEY UPDATE;
    UPDATE "accounts" SET "debits_pending" = "debits_pending" - t."amount", "debits_posted" = "debits_posted" + v_amount
    WHERE "id" = t."debit_account_id";
    UPDATE "accounts" SET "credits_pending" = "credits_pending" - t."amount", "credits_posted" = "credits_posted" + v_amount
    WHERE "id" = t."credit_account_id";
    UPDATE "transfers" SET "status" = 'posted', "posted_amount" = v_amount, "resolved_at" = now() WHERE "id" = p_id
    RETURNING * INTO t;
    RETURN jsonb_build_object('outcome', 'posted', 'transfer', to_jsonb(t));
END;
$$;

-- Releases a pending transfer. Voiding it again changes nothing ('already_voided'); a posted one is refused.
CREATE FUNCTION "ledger_void_pending"(p_id TEXT) RETURNS JSONB LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    t "transfers"%ROWTYPE;
BEGIN
    SELECT * INTO t FROM "transfers" WHERE "id" = p_id FOR UPDATE;
    IF NOT FOUND THEN
        RETURN jsonb_build_object('outcome', 'missing');
    END IF;
    IF t."status" = 'voided' THEN
        RETURN jsonb_build_object('outcome', 'already_voided', 'transfer', to_jsonb(t));
    END IF;
    IF t."status" = 'posted' THEN
        RETURN jsonb_build_object('outcome', 'posted', 'transfer', to_jsonb(t));
    END IF;
    PERFORM 1 FROM "accounts" WHERE "id" IN (t."debit_account_id", t."credit_account_id") ORDER BY "id" FOR NO KEY UPDATE;
    UPDATE "accounts" SET "debits_pending" = "debits_pending" - t."amount" WHERE "id" = t."debit_account_id";
    UPDATE "accounts" SET "credits_pending" = "credits_pending" - t."amount" WHERE "id" = t."credit_account_id";
    UPDATE "transfers" SET "status" = 'voided', "posted_amount" = 0, "resolved_at" = now() WHERE "id" = p_id
    RETURNING * INTO t;
    RETURN jsonb_build_object('outcome', 'voided', 'transfer', to_jsonb(t));
END;
$$;

-- The one place where a call reserves a member's money: a pending transfer from the member's wallet to the operator's
-- earnings, under the id and for the amount the application computed (a period, or a prepaid block). Every hold of
-- every call goes through here: the first period at opening, each later period, a prepaid block, settlement's
-- catch-up. A check on a member's spending (a daily or monthly limit) belongs here, before the transfer, answering
-- an outcome of its own so that nothing is reserved.
CREATE FUNCTION "call_hold"(p_call_id UUID, p_transfer_id TEXT, p_amount BIGINT, p_code TEXT) RETURNS JSONB LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    c "calls"%ROWTYPE;
    wallet TEXT;
    earnings TEXT;
BEGIN
    SELECT * INTO c FROM "calls" WHERE "id" = p_call_id;
    IF NOT FOUND THEN
        RETURN jsonb_build_object('outcome', 'call_not_found');
    END IF;
    SELECT "id" INTO wallet FROM "accounts" WHERE "kind" = 'member_wallet' AND "owner_id" = c."member_id";
    SELECT "id" INTO earnings FROM "accounts" WHERE "kind" = 'operator_earnings' AND "owner_id" = c."operator_id";
    IF wallet IS NULL OR earnings IS NULL THEN
        RETURN jsonb_build_object('outcome', 'missing_account');
    END IF;
    RETURN "ledger_create_transfer"(p_transfer_id, wallet, earnings, p_amount, TRUE, p_code, p_call_id, NULL);
END;
$$;

-- Holds period p_period of a per-minute call, in one statement: the call's row locked, a replay answered as the
-- first time, the plugin's heartbeat checked (unless p_check_heartbeat is false: settlement's catch-up bills time
-- already used), the hold made through call_hold, the call's held periods recorded. Answers the wallet's available
-- balance afterwards and the call's low-balance flag, so the caller can apply the warning rule
-- (workflows/billing.ts isLowBalance) without duplicating it here.
CREATE FUNCTION "hold_call_period"(p_call_id UUID, p_period INTEGER, p_transfer_id TEXT, p_check_heartbeat BOOLEAN)
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
    IF c."status" = 'settled' THEN
        RETURN jsonb_build_object('outcome', 'already_settled');
    END IF;
    IF c."held_periods" < p_period THEN
        -- 'ending': the plugin asked to end and the workflow has not heard yet; a hold made now is voided at settlement.
        IF p_period <> c."held_periods" + 1 THEN
            RETURN jsonb_build_object('outcome', 'out_of_order', 'status', c."status", 'heldPeriods', c."held_periods");
        END IF;
        IF p_check_heartbeat AND now() - c."last_heartbeat_at" > make_interval(secs => c."heartbeat_timeout_ms" / 1000.0) THEN
            RETURN jsonb_build_object('outcome', 'heartbeat_lost',
                                      'lastHeartbeatAtMs', floor(extract(epoch FROM c."last_heartbeat_at") * 1000)::BIGINT);
        END IF;
        held := "call_hold"(p_call_id, p_transfer_id, c."rate_per_minute_cents", 'call_hold');
        IF held->>'outcome' NOT IN ('created', 'exists') THEN
            RETURN held;
        END IF;
        UPDATE "calls" SET "held_periods" = p_period WHERE "id" = p_call_id;
        c."held_periods" := p_period;
    END IF;
    SELECT "credits_posted" - "debits_posted" - "debits_pending" INTO available
    FROM "accounts" WHERE "kind" = 'member_wallet' AND "owner_id" = c."member_id";
    RETURN jsonb_build_object('outcome', 'held', 'heldPeriods', c."held_periods", 'availableAfterCents', available,
                              'lowBalance', c."low_balance", 'mode', c."mode", 'ratePerMinuteCents', c."rate_per_minute_cents",
                              'lowBalancePeriods', c."low_balance_periods", 'memberId', c."member_id", 'operatorId', c."operator_id");
END;
$$;

-- Opens a call in one statement: the parties checked, the call recorded, the operator's earnings account opened, and
-- the first period (or a prepaid block) held through the same functions as every other hold. A refusal leaves nothing
-- behind (the inner block is rolled back) and answers why: member_not_found, operator_unavailable, operator_busy,
-- insufficient_funds. A call that exists already answers 'exists' (a replayed start). The caller records how many
-- periods the money covers (workflows/billing.ts fundedPeriods) in the same transaction.
CREATE FUNCTION "open_call"(
    p_call_id UUID, p_member_id UUID, p_operator_id UUID, p_company_id UUID, p_mode "CallMode", p_prepaid_minutes INTEGER,
    p_rate INTEGER, p_period_ms INTEGER, p_grace_ms INTEGER, p_low_balance_periods INTEGER, p_heartbeat_timeout_ms INTEGER,
    p_commission_bps INTEGER, p_company_share_bps INTEGER, p_request_hash TEXT, p_workflow_id TEXT, p_started_at TIMESTAMPTZ,
    p_hold_id TEXT, p_hold_amount BIGINT, p_earnings_account TEXT
) RETURNS JSONB LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
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
                   WHERE o."user_id" = p_operator_id AND u."status" = 'active') THEN
        RETURN jsonb_build_object('outcome', 'operator_unavailable');
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
    SELECT "credits_posted" - "debits_posted" - "debits_pending" INTO available
    FROM "accounts" WHERE "kind" = 'member_wallet' AND "owner_id" = p_member_id;
    RETURN jsonb_build_object('outcome', 'opened', 'availableAfterCents', available);
END;
$$;

-- A member's spending caps (docs/decisions/017-spending-caps.md) hold inside every call hold: at a call's opening,
-- at each period, for a prepaid block and in settlement's catch-up. A hold that would pass a cap reserves nothing and
-- answers 'spending_cap' (with which cap, its limit and what the period already counts), so the call is refused at its
-- start or ended by the platform at that boundary (end reason spending_cap).

-- What a member's wallet has spent on calls in the day and the month that contain p_at, in time zone p_tz: holds for
-- calls (call_hold, call_prepaid_hold) pending at their amount, posted at the part posted, released ones not at all,
-- dated when the hold was made. The one statement of the rule: activities/spending-caps.ts reads it through here too.
CREATE FUNCTION "member_call_spending"(p_member_id UUID, p_at TIMESTAMPTZ, p_tz TEXT)
RETURNS TABLE ("today" BIGINT, "month" BIGINT) LANGUAGE sql STABLE AS $$
    WITH bounds AS (
        SELECT date_trunc('day', p_at, p_tz) AS day_start, date_trunc('month', p_at, p_tz) AS month_start
    )
    SELECT coalesce(sum(CASE t."status" WHEN 'posted' THEN t."posted_amount" WHEN 'pending' THEN t."amount" ELSE 0 END)
                      FILTER (WHERE t."created_at" >= b.day_start), 0)::BIGINT,
           coalesce(sum(CASE t."status" WHEN 'posted' THEN t."posted_amount" WHEN 'pending' THEN t."amount" ELSE 0 END), 0)::BIGINT
    FROM bounds b
    LEFT JOIN "transfers" t ON t."debit_account_id" = 'member_wallet:' || p_member_id::TEXT
        AND t."code" IN ('call_hold', 'call_prepaid_hold') AND t."created_at" >= b.month_start
    GROUP BY b.day_start
$$;

CREATE OR REPLACE FUNCTION "call_hold"(p_call_id UUID, p_transfer_id TEXT, p_amount BIGINT, p_code TEXT) RETURNS JSONB LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    c "calls"%ROWTYPE;
    wallet TEXT;
    earnings TEXT;
    caps "spending_caps"%ROWTYPE;
    spent_today BIGINT;
    spent_month BIGINT;
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
    -- A replayed hold answers as the first time, whatever the caps say now.
    SELECT * INTO caps FROM "spending_caps" WHERE "member_id" = c."member_id";
    IF FOUND AND (caps."daily_cents" IS NOT NULL OR caps."monthly_cents" IS NOT NULL)
       AND NOT EXISTS (SELECT 1 FROM "transfers" WHERE "id" = p_transfer_id) THEN
        -- The accounts' locks first, in the order every transfer takes them: two holds of one member are then checked
        -- one after the other, each seeing what the other committed.
        PERFORM 1 FROM "accounts" WHERE "id" IN (wallet, earnings) ORDER BY "id" FOR NO KEY UPDATE;
        SELECT s."today", s."month" INTO spent_today, spent_month FROM "member_call_spending"(c."member_id", now(), caps."time_zone") s;
        -- Reaching a cap exactly is allowed; passing it is refused. The daily cap is checked first.
        IF caps."daily_cents" IS NOT NULL AND spent_today + p_amount > caps."daily_cents" THEN
            RETURN jsonb_build_object('outcome', 'spending_cap', 'cap', 'daily', 'limitCents', caps."daily_cents", 'usedCents', spent_today);
        END IF;
        IF caps."monthly_cents" IS NOT NULL AND spent_month + p_amount > caps."monthly_cents" THEN
            RETURN jsonb_build_object('outcome', 'spending_cap', 'cap', 'monthly', 'limitCents', caps."monthly_cents", 'usedCents', spent_month);
        END IF;
    END IF;
    RETURN "ledger_create_transfer"(p_transfer_id, wallet, earnings, p_amount, TRUE, p_code, p_call_id, NULL);
END;
$$;

-- Throttles that decide and record in one step (docs/decisions/050-atomic-throttles.md). Before, a request counted
-- the recent failures, verified the password (tens of milliseconds of argon2id) and only then wrote its attempt, so
-- forty requests at once all counted the same few rows and all got through. Now one function call takes an advisory
-- lock per key, counts, and records the attempt before the caller verifies anything; concurrent attempts on the same
-- key wait for it and see its row.

-- CreateTable
CREATE TABLE "throttle_hits" (
    "id" BIGSERIAL NOT NULL,
    "bucket" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "throttle_hits_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "throttle_hits_bucket_created_at_idx" ON "throttle_hits"("bucket", "created_at");

-- A log-in attempt (portal, plugin sign-in) or a second-factor attempt, claimed before the secret is checked.
-- p_key is the account's key in login_attempts.email (the normalised e-mail, or "second-factor:<user id>"). Refused
-- when the key has p_key_limit failures since its last success within the window, or (unless p_address_limit is
-- null) the address has p_address_limit failures within it. Allowed: a row is written as a failure at once, and the
-- caller marks it succeeded when the secret was right. Answers {"attemptId": text|null, "retryAfterMs": n,
-- "scope": "account"|"address"|null}.
CREATE FUNCTION "claim_login_attempt"(p_key TEXT, p_client_address TEXT, p_key_limit INTEGER, p_address_limit INTEGER, p_window_ms INTEGER)
RETURNS JSONB LANGUAGE plpgsql AS $$
DECLARE
    v_lock BIGINT;
    v_now TIMESTAMPTZ;
    v_window_start TIMESTAMPTZ;
    v_last_success TIMESTAMPTZ;
    v_nth TIMESTAMPTZ;
    v_key_wait BIGINT := 0;
    v_address_wait BIGINT := 0;
    v_id BIGINT;
BEGIN
    -- Locks in the order of their ids, whoever asks, so that two claims never wait on each other in a circle.
    FOR v_lock IN
        SELECT l FROM unnest(ARRAY[
            hashtextextended('login_attempts:key:' || p_key, 0),
            CASE WHEN p_address_limit IS NOT NULL THEN hashtextextended('login_attempts:address:' || p_client_address, 0) END
        ]) AS l WHERE l IS NOT NULL ORDER BY l
    LOOP
        PERFORM pg_advisory_xact_lock(v_lock);
    END LOOP;
    -- Read after the locks are held: each statement below sees the rows of the claims that went before.
    v_now := clock_timestamp();
    v_window_start := v_now - p_window_ms * INTERVAL '1 millisecond';

    SELECT max("created_at") INTO v_last_success FROM "login_attempts"
    WHERE "email" = p_key AND "succeeded" AND "created_at" > v_window_start;
    -- The limit-th most recent failure is the first to leave the window among those that keep the door shut.
    SELECT "created_at" INTO v_nth FROM "login_attempts"
    WHERE "email" = p_key AND NOT "succeeded" AND "created_at" > coalesce(v_last_success, v_window_start)
    ORDER BY "created_at" DESC OFFSET p_key_limit - 1 LIMIT 1;
    IF v_nth IS NOT NULL THEN
        v_key_wait := greatest(1, ceil(extract(epoch FROM (v_nth + p_window_ms * INTERVAL '1 millisecond' - v_now)) * 1000)::BIGINT);
    END IF;

    IF p_address_limit IS NOT NULL THEN
        v_nth := NULL;
        SELECT "created_at" INTO v_nth FROM "login_attempts"
        WHERE "client_address" = p_client_address AND NOT "succeeded" AND "created_at" > v_window_start
        ORDER BY "created_at" DESC OFFSET p_address_limit - 1 LIMIT 1;
        IF v_nth IS NOT NULL THEN
            v_address_wait := greatest(1, ceil(extract(epoch FROM (v_nth + p_window_ms * INTERVAL '1 millisecond' - v_now)) * 1000)::BIGINT);
        END IF;
    END IF;

    IF v_key_wait > 0 OR v_address_wait > 0 THEN
        RETURN jsonb_build_object(
            'attemptId', NULL,
            'retryAfterMs', greatest(v_key_wait, v_address_wait),
            'scope', CASE WHEN v_key_wait >= v_address_wait THEN 'account' ELSE 'address' END
        );
    END IF;

    INSERT INTO "login_attempts" ("email", "client_address", "succeeded", "created_at")
    VALUES (p_key, p_client_address, FALSE, v_now)
    RETURNING "id" INTO v_id;
    RETURN jsonb_build_object('attemptId', v_id::TEXT, 'retryAfterMs', 0, 'scope', NULL);
END;
$$;

-- A request that sends mail (sign-up, password reset, a new confirmation link), counted in every bucket it belongs to
-- ("mail-form-address:<address>", "mail-recipient:<e-mail>"). Refused, and counted nowhere, when any bucket already
-- has its limit of hits within the window; otherwise one hit is written in each. Hits older than the window are
-- removed from these buckets on the way. Answers {"retryAfterMs": n, "bucket": text|null} (the bucket that waits
-- longest).
CREATE FUNCTION "claim_throttle"(p_buckets TEXT[], p_limits INTEGER[], p_window_ms INTEGER)
RETURNS JSONB LANGUAGE plpgsql AS $$
DECLARE
    v_lock BIGINT;
    v_now TIMESTAMPTZ;
    v_window_start TIMESTAMPTZ;
    v_nth TIMESTAMPTZ;
    v_wait BIGINT;
    v_longest BIGINT := 0;
    v_blocking TEXT;
BEGIN
    IF coalesce(array_length(p_buckets, 1), 0) = 0 OR array_length(p_buckets, 1) <> array_length(p_limits, 1) THEN
        RAISE EXCEPTION 'claim_throttle: one limit per bucket';
    END IF;
    FOR v_lock IN SELECT DISTINCT hashtextextended('throttle_hits:' || b, 0) AS l FROM unnest(p_buckets) AS b ORDER BY l LOOP
        PERFORM pg_advisory_xact_lock(v_lock);
    END LOOP;
    v_now := clock_timestamp();
    v_window_start := v_now - p_window_ms * INTERVAL '1 millisecond';

    DELETE FROM "throttle_hits" WHERE "bucket" = ANY (p_buckets) AND "created_at" <= v_window_start;
    FOR i IN 1 .. array_length(p_buckets, 1) LOOP
        v_nth := NULL;
        SELECT "created_at" INTO v_nth FROM "throttle_hits"
        WHERE "bucket" = p_buckets[i] AND "created_at" > v_window_start
        ORDER BY "created_at" DESC OFFSET p_limits[i] - 1 LIMIT 1;
        IF v_nth IS NOT NULL THEN
            v_wait := greatest(1, ceil(extract(epoch FROM (v_nth + p_window_ms * INTERVAL '1 millisecond' - v_now)) * 1000)::BIGINT);
            IF v_wait > v_longest THEN
                v_longest := v_wait;
                v_blocking := p_buckets[i];
            END IF;
        END IF;
    END LOOP;
    IF v_longest > 0 THEN
        RETURN jsonb_build_object('retryAfterMs', v_longest, 'bucket', v_blocking);
    END IF;

    INSERT INTO "throttle_hits" ("bucket", "created_at") SELECT b, v_now FROM unnest(p_buckets) AS b;
    RETURN jsonb_build_object('retryAfterMs', 0, 'bucket', NULL);
END;
$$;

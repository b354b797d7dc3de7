-- Text chat in a call (docs/decisions/065-call-chat.md): the messages the member and the operator write each other
-- during a call, kept with the call, and shown to the operator again the next time that member calls.

CREATE TABLE "call_messages" (
    "id" UUID NOT NULL,
    "call_id" UUID NOT NULL,
    "author_id" UUID NOT NULL,
    "body" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "call_messages_pkey" PRIMARY KEY ("id")
);

CREATE INDEX "call_messages_call_id_created_at_idx" ON "call_messages"("call_id", "created_at");

ALTER TABLE "call_messages" ADD CONSTRAINT "call_messages_call_id_fkey" FOREIGN KEY ("call_id") REFERENCES "calls"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "call_messages" ADD CONSTRAINT "call_messages_author_id_fkey" FOREIGN KEY ("author_id") REFERENCES "users"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- Stored trimmed, never blank, at most 1000 characters (the API refuses more before it gets here).
ALTER TABLE "call_messages" ADD CONSTRAINT "call_messages_body_length"
    CHECK ("body" = btrim("body") AND char_length("body") BETWEEN 1 AND 1000);

-- A message in one statement: the author must be the call's member or its operator, the call not yet settled
-- (connecting, running or ending: the last words while the bill is settled still reach the other side), and the
-- author within p_per_minute messages on this call in the last minute. The message and its call.message event (to
-- both sides' streams) are written together. Answers 'sent' with the message, or 'call_not_found' (not a party to
-- this call, which is the same as no such call), 'call_ended', 'rate_limited' (with retryAfterSeconds) or 'blank'.
CREATE FUNCTION "send_call_message"(p_call_id UUID, p_author_id UUID, p_body TEXT, p_per_minute INTEGER)
RETURNS JSONB LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    c "calls"%ROWTYPE;
    trimmed TEXT := btrim(p_body, E' \t\r\n');
    recent INTEGER;
    oldest TIMESTAMPTZ;
    new_id UUID := gen_random_uuid();
    sent_at TIMESTAMPTZ(3) := now();
    author TEXT;
    message JSONB;
BEGIN
    -- A plain read: the call's row is the money path's, and a message never waits on (or holds) its lock.
    SELECT * INTO c FROM "calls" WHERE "id" = p_call_id;
    IF NOT FOUND OR p_author_id NOT IN (c."member_id", c."operator_id") THEN
        RETURN jsonb_build_object('outcome', 'call_not_found');
    END IF;
    IF c."status" = 'settled' THEN
        RETURN jsonb_build_object('outcome', 'call_ended');
    END IF;
    IF trimmed IS NULL OR char_length(trimmed) = 0 OR char_length(trimmed) > 1000 THEN
        RETURN jsonb_build_object('outcome', 'blank');
    END IF;
    -- One author's messages on one call are counted one at a time, so two at once cannot both pass the limit.
    PERFORM pg_advisory_xact_lock(hashtextextended('call_messages:' || p_call_id::TEXT || ':' || p_author_id::TEXT, 0));
    SELECT count(*), min("created_at") INTO recent, oldest FROM "call_messages"
    WHERE "call_id" = p_call_id AND "author_id" = p_author_id AND "created_at" > sent_at - interval '1 minute';
    IF recent >= p_per_minute THEN
        RETURN jsonb_build_object('outcome', 'rate_limited',
            'retryAfterSeconds', greatest(1, ceil(extract(epoch FROM (oldest + interval '1 minute' - sent_at)))::INTEGER));
    END IF;
    INSERT INTO "call_messages" ("id", "call_id", "author_id", "body", "created_at")
    VALUES (new_id, p_call_id, p_author_id, trimmed, sent_at);
    author := CASE WHEN p_author_id = c."member_id" THEN 'member' ELSE 'operator' END;
    message := jsonb_build_object('id', new_id::TEXT, 'callId', p_call_id::TEXT, 'from', author, 'body', trimmed,
        'sentAt', to_char(sent_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'));
    PERFORM "emit_outbox_event"('call.message', c."member_id", c."operator_id", p_call_id, message);
    RETURN jsonb_build_object('outcome', 'sent', 'message', message);
END;
$$;

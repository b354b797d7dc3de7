-- An outbox event in one statement (activities/outbox.ts): the row and the NOTIFY that wakes the web servers'
-- event streams, so a transaction that reports a change spends one round trip on it, not two. Under load every round
-- trip of an open transaction is time its connection sits idle while its process does other work.
-- The NOTIFY payload is activities/outbox.ts's OutboxNotification; the channel is its OUTBOX_CHANNEL.
CREATE FUNCTION "emit_outbox_event"(p_type TEXT, p_member_id UUID, p_operator_id UUID, p_call_id UUID, p_payload JSONB)
RETURNS BIGINT LANGUAGE plpgsql AS $$
DECLARE
    new_id BIGINT;
BEGIN
    INSERT INTO "outbox_events" ("type", "member_id", "operator_id", "call_id", "payload")
    VALUES (p_type, p_member_id, p_operator_id, p_call_id, p_payload)
    RETURNING "id" INTO new_id;
    PERFORM pg_notify('outbox_events', json_build_object('id', new_id::TEXT, 'memberId', p_member_id, 'operatorId', p_operator_id)::TEXT);
    RETURN new_id;
END;
$$;

-- Plugin tokens get a name to be listed and revoked by (id), the device they were issued to, an expiry, and the token
-- a renewal replaced them with (docs/decisions/053-session-and-token-lifetimes.md). Tokens issued before have no
-- expiry to keep: they get the default lifetime (PLUGIN_TOKEN_TTL_DAYS, 30 days) from now.
ALTER TABLE "plugin_tokens" ADD COLUMN "id" UUID;
UPDATE "plugin_tokens" SET "id" = gen_random_uuid();
ALTER TABLE "plugin_tokens" ALTER COLUMN "id" SET NOT NULL;
CREATE UNIQUE INDEX "plugin_tokens_id_key" ON "plugin_tokens"("id");

ALTER TABLE "plugin_tokens" ADD COLUMN "expires_at" TIMESTAMPTZ(3);
UPDATE "plugin_tokens" SET "expires_at" = now() + interval '30 days';
ALTER TABLE "plugin_tokens" ALTER COLUMN "expires_at" SET NOT NULL;

ALTER TABLE "plugin_tokens" ADD COLUMN "device_name" TEXT;
ALTER TABLE "plugin_tokens" ADD COLUMN "replaced_by" TEXT;
CREATE UNIQUE INDEX "plugin_tokens_replaced_by_key" ON "plugin_tokens"("replaced_by");

-- One-time links (e-mail verification, password reset) do not outlive their delivery in the outbox
-- (docs/decisions/054-secrets-at-rest.md): mail already delivered, or refused for good, loses them now.
UPDATE "mail_outbox"
SET "text_body" = regexp_replace("text_body", '([?&]token=)[A-Za-z0-9_-]+', '\1removed', 'g'),
    "html_body" = regexp_replace("html_body", '([?&](amp;)?token=)[A-Za-z0-9_-]+', '\1removed', 'g')
WHERE "status" IN ('sent', 'failed');

-- Recovery codes were kept as plain SHA-256; they are now an HMAC under a server key, which the old rows cannot be
-- turned into without the codes. They are dropped: an admin signs in with the authenticator app and is handed a new set.
DELETE FROM "admin_recovery_codes";

-- The back office: platform settings, payouts (with the sandbox provider's own record), the admins' second factor,
-- and an audit log that can only grow.

CREATE TYPE "PayoutStatus" AS ENUM ('requested', 'approved', 'paid', 'rejected');

-- Settings an admin changed; a setting without a row takes its default from the configuration.
CREATE TABLE "platform_settings" (
    "key" TEXT NOT NULL,
    "value" BIGINT NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_by" UUID,

    CONSTRAINT "platform_settings_pkey" PRIMARY KEY ("key")
);

CREATE TABLE "payouts" (
    "id" UUID NOT NULL,
    "account_id" TEXT NOT NULL,
    "operator_id" UUID,
    "company_id" UUID,
    "requested_by" UUID NOT NULL,
    "amount_cents" BIGINT NOT NULL,
    "status" "PayoutStatus" NOT NULL DEFAULT 'requested',
    "workflow_id" TEXT NOT NULL,
    "provider" TEXT,
    "provider_reference" TEXT,
    "decided_by" UUID,
    "decision_reason" TEXT,
    "requested_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "decided_at" TIMESTAMPTZ(3),
    "paid_at" TIMESTAMPTZ(3),

    CONSTRAINT "payouts_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "payouts_amount_positive" CHECK ("amount_cents" > 0),
    CONSTRAINT "payouts_one_payee" CHECK (("operator_id" IS NULL) <> ("company_id" IS NULL))
);

CREATE UNIQUE INDEX "payouts_workflow_id_key" ON "payouts"("workflow_id");
CREATE INDEX "payouts_status_requested_at_idx" ON "payouts"("status", "requested_at");
CREATE INDEX "payouts_account_id_requested_at_idx" ON "payouts"("account_id", "requested_at");

ALTER TABLE "payouts" ADD CONSTRAINT "payouts_account_id_fkey" FOREIGN KEY ("account_id") REFERENCES "accounts"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "payouts" ADD CONSTRAINT "payouts_requested_by_fkey" FOREIGN KEY ("requested_by") REFERENCES "users"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- What the sandbox payout provider "sent": one row per idempotency key, so a repeated request pays once.
CREATE TABLE "sandbox_payout_transfers" (
    "idempotency_key" TEXT NOT NULL,
    "reference" TEXT NOT NULL,
    "amount_cents" BIGINT NOT NULL,
    "payee" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "sandbox_payout_transfers_pkey" PRIMARY KEY ("idempotency_key")
);

-- An admin's TOTP secret; enrolled once the first code from the authenticator app was accepted.
CREATE TABLE "admin_second_factors" (
    "user_id" UUID NOT NULL,
    "secret" TEXT NOT NULL,
    "enrolled_at" TIMESTAMPTZ(3),
    "last_used_step" BIGINT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "admin_second_factors_pkey" PRIMARY KEY ("user_id")
);

ALTER TABLE "admin_second_factors" ADD CONSTRAINT "admin_second_factors_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Single-use recovery codes, stored as SHA-256.
CREATE TABLE "admin_recovery_codes" (
    "code_hash" TEXT NOT NULL,
    "user_id" UUID NOT NULL,
    "used_at" TIMESTAMPTZ(3),

    CONSTRAINT "admin_recovery_codes_pkey" PRIMARY KEY ("code_hash")
);

CREATE INDEX "admin_recovery_codes_user_id_idx" ON "admin_recovery_codes"("user_id");
ALTER TABLE "admin_recovery_codes" ADD CONSTRAINT "admin_recovery_codes_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- The browser sessions that passed the second factor.
CREATE TABLE "session_second_factors" (
    "session_id_hash" TEXT NOT NULL,
    "verified_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "session_second_factors_pkey" PRIMARY KEY ("session_id_hash")
);

ALTER TABLE "session_second_factors" ADD CONSTRAINT "session_second_factors_session_id_hash_fkey" FOREIGN KEY ("session_id_hash") REFERENCES "web_sessions"("id_hash") ON DELETE CASCADE ON UPDATE CASCADE;

-- The audit log only grows: no entry is deleted, and none is rewritten (forgetting a deleted actor is the one change
-- allowed, which the foreign key's ON DELETE SET NULL makes).
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    RAISE EXCEPTION 'the audit log is append-only: entries cannot be deleted';
  END IF;
  IF NEW.id IS DISTINCT FROM OLD.id OR NEW.channel IS DISTINCT FROM OLD.channel OR NEW.action IS DISTINCT FROM OLD.action
     OR NEW.subject IS DISTINCT FROM OLD.subject OR NEW.details IS DISTINCT FROM OLD.details
     OR NEW.created_at IS DISTINCT FROM OLD.created_at OR NEW.actor_id IS NOT NULL THEN
    RAISE EXCEPTION 'the audit log is append-only: entries cannot be changed';
  END IF;
  RETURN NEW;
END;
$$;

CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON "audit_log"
  FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

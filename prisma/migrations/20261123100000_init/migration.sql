-- CreateEnum
CREATE TYPE "Role" AS ENUM ('member', 'operator', 'company', 'admin');

-- CreateEnum
CREATE TYPE "UserStatus" AS ENUM ('active', 'disabled');

-- CreateEnum
CREATE TYPE "AccountKind" AS ENUM ('member_wallet', 'operator_earnings', 'company_earnings', 'platform_revenue', 'payment_clearing', 'payout_clearing', 'adjustments');

-- CreateEnum
CREATE TYPE "TransferStatus" AS ENUM ('pending', 'posted', 'voided');

-- CreateEnum
CREATE TYPE "CallMode" AS ENUM ('per_minute', 'prepaid');

-- CreateEnum
CREATE TYPE "CallStatus" AS ENUM ('active', 'ending', 'settled');

-- CreateEnum
CREATE TYPE "PresenceStatus" AS ENUM ('online', 'busy', 'offline');

-- CreateTable
CREATE TABLE "users" (
    "id" UUID NOT NULL,
    "email" TEXT NOT NULL,
    "password_hash" TEXT NOT NULL,
    "role" "Role" NOT NULL,
    "status" "UserStatus" NOT NULL DEFAULT 'active',
    "display_name" TEXT NOT NULL,
    "calling_provider" TEXT,
    "calling_handle" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "users_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "companies" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "owner_user_id" UUID NOT NULL,
    "share_bps" INTEGER NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "companies_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "operators" (
    "user_id" UUID NOT NULL,
    "company_id" UUID,
    "rate_per_minute_cents" INTEGER NOT NULL,
    "presence" "PresenceStatus" NOT NULL DEFAULT 'offline',
    "presence_expires_at" TIMESTAMPTZ(3),
    "headline" TEXT NOT NULL DEFAULT '',
    "tags" TEXT[] DEFAULT ARRAY[]::TEXT[],

    CONSTRAINT "operators_pkey" PRIMARY KEY ("user_id")
);

-- CreateTable
CREATE TABLE "plugin_tokens" (
    "token_hash" TEXT NOT NULL,
    "user_id" UUID NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_used_at" TIMESTAMPTZ(3),
    "revoked_at" TIMESTAMPTZ(3),

    CONSTRAINT "plugin_tokens_pkey" PRIMARY KEY ("token_hash")
);

-- CreateTable
CREATE TABLE "accounts" (
    "id" TEXT NOT NULL,
    "kind" "AccountKind" NOT NULL,
    "owner_id" UUID,
    "debits_posted" BIGINT NOT NULL DEFAULT 0,
    "credits_posted" BIGINT NOT NULL DEFAULT 0,
    "debits_pending" BIGINT NOT NULL DEFAULT 0,
    "credits_pending" BIGINT NOT NULL DEFAULT 0,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "accounts_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "transfers" (
    "id" TEXT NOT NULL,
    "debit_account_id" TEXT NOT NULL,
    "credit_account_id" TEXT NOT NULL,
    "amount" BIGINT NOT NULL,
    "posted_amount" BIGINT,
    "status" "TransferStatus" NOT NULL,
    "code" TEXT NOT NULL,
    "call_id" UUID,
    "memo" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "resolved_at" TIMESTAMPTZ(3),

    CONSTRAINT "transfers_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "calls" (
    "id" UUID NOT NULL,
    "member_id" UUID NOT NULL,
    "operator_id" UUID NOT NULL,
    "company_id" UUID,
    "mode" "CallMode" NOT NULL,
    "prepaid_minutes" INTEGER,
    "rate_per_minute_cents" INTEGER NOT NULL,
    "period_ms" INTEGER NOT NULL,
    "grace_ms" INTEGER NOT NULL,
    "low_balance_periods" INTEGER NOT NULL,
    "heartbeat_timeout_ms" INTEGER NOT NULL,
    "commission_bps" INTEGER NOT NULL,
    "company_share_bps" INTEGER NOT NULL,
    "request_hash" TEXT NOT NULL,
    "workflow_id" TEXT NOT NULL,
    "status" "CallStatus" NOT NULL DEFAULT 'active',
    "started_at" TIMESTAMPTZ(3) NOT NULL,
    "last_heartbeat_at" TIMESTAMPTZ(3) NOT NULL,
    "end_requested_at" TIMESTAMPTZ(3),
    "end_request_reason" TEXT,
    "ended_at" TIMESTAMPTZ(3),
    "end_reason" TEXT,
    "funded_minutes_at_start" INTEGER NOT NULL,
    "held_periods" INTEGER NOT NULL DEFAULT 0,
    "low_balance" BOOLEAN NOT NULL DEFAULT false,
    "billed_minutes" INTEGER,
    "charged_cents" BIGINT,
    "commission_cents" BIGINT,
    "company_share_cents" BIGINT,
    "operator_earnings_cents" BIGINT,
    "settled_at" TIMESTAMPTZ(3),

    CONSTRAINT "calls_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "outbox_events" (
    "id" BIGSERIAL NOT NULL,
    "type" TEXT NOT NULL,
    "member_id" UUID,
    "operator_id" UUID,
    "call_id" UUID,
    "payload" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "outbox_events_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "audit_log" (
    "id" BIGSERIAL NOT NULL,
    "actor_id" UUID,
    "channel" TEXT NOT NULL,
    "action" TEXT NOT NULL,
    "subject" TEXT NOT NULL,
    "details" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "audit_log_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "users_email_key" ON "users"("email");

-- CreateIndex
CREATE UNIQUE INDEX "users_calling_handle_key" ON "users"("calling_handle");

-- CreateIndex
CREATE UNIQUE INDEX "companies_owner_user_id_key" ON "companies"("owner_user_id");

-- CreateIndex
CREATE INDEX "operators_company_id_idx" ON "operators"("company_id");

-- CreateIndex
CREATE INDEX "plugin_tokens_user_id_idx" ON "plugin_tokens"("user_id");

-- CreateIndex
CREATE UNIQUE INDEX "accounts_kind_owner_id_key" ON "accounts"("kind", "owner_id");

-- CreateIndex
CREATE INDEX "transfers_call_id_idx" ON "transfers"("call_id");

-- CreateIndex
CREATE INDEX "transfers_debit_account_id_idx" ON "transfers"("debit_account_id");

-- CreateIndex
CREATE INDEX "transfers_credit_account_id_idx" ON "transfers"("credit_account_id");

-- CreateIndex
CREATE UNIQUE INDEX "calls_workflow_id_key" ON "calls"("workflow_id");

-- CreateIndex
CREATE INDEX "calls_member_id_started_at_idx" ON "calls"("member_id", "started_at");

-- CreateIndex
CREATE INDEX "calls_operator_id_started_at_idx" ON "calls"("operator_id", "started_at");

-- CreateIndex
CREATE INDEX "calls_status_last_heartbeat_at_idx" ON "calls"("status", "last_heartbeat_at");

-- CreateIndex
CREATE INDEX "outbox_events_operator_id_id_idx" ON "outbox_events"("operator_id", "id");

-- CreateIndex
CREATE INDEX "outbox_events_member_id_id_idx" ON "outbox_events"("member_id", "id");

-- CreateIndex
CREATE INDEX "audit_log_created_at_idx" ON "audit_log"("created_at");

-- AddForeignKey
ALTER TABLE "companies" ADD CONSTRAINT "companies_owner_user_id_fkey" FOREIGN KEY ("owner_user_id") REFERENCES "users"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "operators" ADD CONSTRAINT "operators_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "operators" ADD CONSTRAINT "operators_company_id_fkey" FOREIGN KEY ("company_id") REFERENCES "companies"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "plugin_tokens" ADD CONSTRAINT "plugin_tokens_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "transfers" ADD CONSTRAINT "transfers_debit_account_id_fkey" FOREIGN KEY ("debit_account_id") REFERENCES "accounts"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "transfers" ADD CONSTRAINT "transfers_credit_account_id_fkey" FOREIGN KEY ("credit_account_id") REFERENCES "accounts"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "transfers" ADD CONSTRAINT "transfers_call_id_fkey" FOREIGN KEY ("call_id") REFERENCES "calls"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "calls" ADD CONSTRAINT "calls_member_id_fkey" FOREIGN KEY ("member_id") REFERENCES "users"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "calls" ADD CONSTRAINT "calls_operator_id_fkey" FOREIGN KEY ("operator_id") REFERENCES "operators"("user_id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "outbox_events" ADD CONSTRAINT "outbox_events_call_id_fkey" FOREIGN KEY ("call_id") REFERENCES "calls"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "audit_log" ADD CONSTRAINT "audit_log_actor_id_fkey" FOREIGN KEY ("actor_id") REFERENCES "users"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- Ledger rules Prisma's schema language cannot state; the database enforces them under any concurrency.
-- Amounts are positive; a posted part never exceeds the hold; a member wallet never goes below zero.
ALTER TABLE "transfers" ADD CONSTRAINT "transfers_amount_positive" CHECK ("amount" > 0);
ALTER TABLE "transfers" ADD CONSTRAINT "transfers_posted_amount_within_hold"
    CHECK ("posted_amount" IS NULL OR ("posted_amount" >= 0 AND "posted_amount" <= "amount"));
ALTER TABLE "transfers" ADD CONSTRAINT "transfers_distinct_accounts" CHECK ("debit_account_id" <> "credit_account_id");
ALTER TABLE "accounts" ADD CONSTRAINT "accounts_totals_non_negative"
    CHECK ("debits_posted" >= 0 AND "credits_posted" >= 0 AND "debits_pending" >= 0 AND "credits_pending" >= 0);
ALTER TABLE "accounts" ADD CONSTRAINT "accounts_member_wallet_never_negative"
    CHECK ("kind" <> 'member_wallet' OR "credits_posted" - "debits_posted" - "debits_pending" >= 0);
ALTER TABLE "calls" ADD CONSTRAINT "calls_rate_positive" CHECK ("rate_per_minute_cents" > 0);

-- An operator takes one call at a time: at most one call of theirs is not yet settled.
CREATE UNIQUE INDEX "calls_one_open_call_per_operator" ON "calls"("operator_id") WHERE "status" <> 'settled';

-- Transfers are immutable: only pending -> posted/voided may change a row, and no row is ever deleted.
CREATE FUNCTION "transfers_guard"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'transfers are never deleted (transfer %)', OLD."id" USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF OLD."status" <> 'pending' OR NEW."status" = 'pending'
       OR NEW."id" <> OLD."id" OR NEW."amount" <> OLD."amount"
       OR NEW."debit_account_id" <> OLD."debit_account_id" OR NEW."credit_account_id" <> OLD."credit_account_id"
       OR NEW."code" IS DISTINCT FROM OLD."code" OR NEW."call_id" IS DISTINCT FROM OLD."call_id" THEN
        RAISE EXCEPTION 'transfer % may only change from pending to posted or voided', OLD."id"
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER "transfers_immutable" BEFORE UPDATE OR DELETE ON "transfers"
    FOR EACH ROW EXECUTE FUNCTION "transfers_guard"();

-- CreateEnum
CREATE TYPE "TopUpStatus" AS ENUM ('open', 'succeeded', 'declined', 'expired');

-- CreateTable
CREATE TABLE "topups" (
    "id" UUID NOT NULL,
    "member_id" UUID NOT NULL,
    "amount_cents" BIGINT NOT NULL,
    "idempotency_key" TEXT NOT NULL,
    "provider" TEXT NOT NULL,
    "provider_session_id" TEXT,
    "checkout_url" TEXT,
    "provider_payment_id" TEXT,
    "status" "TopUpStatus" NOT NULL DEFAULT 'open',
    "decline_reason" TEXT,
    "confirmed_by" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "completed_at" TIMESTAMPTZ(3),

    CONSTRAINT "topups_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "spending_caps" (
    "member_id" UUID NOT NULL,
    "daily_cents" BIGINT,
    "monthly_cents" BIGINT,
    "time_zone" TEXT NOT NULL DEFAULT 'UTC',
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "spending_caps_pkey" PRIMARY KEY ("member_id")
);

-- CreateTable
CREATE TABLE "sandbox_pay_sessions" (
    "id" TEXT NOT NULL,
    "idempotency_key" TEXT NOT NULL,
    "merchant_reference" TEXT NOT NULL,
    "customer_reference" TEXT NOT NULL,
    "amount_cents" BIGINT NOT NULL,
    "description" TEXT NOT NULL,
    "return_url" TEXT NOT NULL,
    "webhook_url" TEXT NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'open',
    "decline_reason" TEXT,
    "payment_id" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "completed_at" TIMESTAMPTZ(3),

    CONSTRAINT "sandbox_pay_sessions_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "topups_member_id_created_at_idx" ON "topups"("member_id", "created_at");

-- CreateIndex
CREATE UNIQUE INDEX "topups_member_id_idempotency_key_key" ON "topups"("member_id", "idempotency_key");

-- CreateIndex
CREATE UNIQUE INDEX "topups_provider_provider_session_id_key" ON "topups"("provider", "provider_session_id");

-- CreateIndex
CREATE UNIQUE INDEX "sandbox_pay_sessions_idempotency_key_key" ON "sandbox_pay_sessions"("idempotency_key");

-- CreateIndex
CREATE UNIQUE INDEX "sandbox_pay_sessions_payment_id_key" ON "sandbox_pay_sessions"("payment_id");

-- AddForeignKey
ALTER TABLE "topups" ADD CONSTRAINT "topups_member_id_fkey" FOREIGN KEY ("member_id") REFERENCES "users"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "spending_caps" ADD CONSTRAINT "spending_caps_member_id_fkey" FOREIGN KEY ("member_id") REFERENCES "users"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- Rules Prisma's schema language cannot state.
ALTER TABLE "topups" ADD CONSTRAINT "topups_amount_positive" CHECK ("amount_cents" > 0);
-- A finished top-up says when it finished; a declined one says why.
ALTER TABLE "topups" ADD CONSTRAINT "topups_completion_recorded"
    CHECK (("status" = 'open') = ("completed_at" IS NULL) AND ("status" <> 'declined' OR "decline_reason" IS NOT NULL));
ALTER TABLE "spending_caps" ADD CONSTRAINT "spending_caps_positive"
    CHECK (("daily_cents" IS NULL OR "daily_cents" > 0) AND ("monthly_cents" IS NULL OR "monthly_cents" > 0));
ALTER TABLE "sandbox_pay_sessions" ADD CONSTRAINT "sandbox_pay_sessions_amount_positive" CHECK ("amount_cents" > 0);
ALTER TABLE "sandbox_pay_sessions" ADD CONSTRAINT "sandbox_pay_sessions_status_known"
    CHECK ("status" IN ('open', 'requires_action', 'succeeded', 'declined', 'expired'));

-- A member's request for a call ("call now", or a prepaid block), shown to the operator in the plugin until the
-- operator starts the call, declines, or it expires.

-- CreateEnum
CREATE TYPE "CallRequestStatus" AS ENUM ('pending', 'accepted', 'declined', 'cancelled');

-- CreateTable
CREATE TABLE "call_requests" (
    "id" UUID NOT NULL,
    "member_id" UUID NOT NULL,
    "operator_id" UUID NOT NULL,
    "mode" "CallMode" NOT NULL,
    "prepaid_minutes" INTEGER,
    "rate_per_minute_cents" INTEGER NOT NULL,
    "status" "CallRequestStatus" NOT NULL DEFAULT 'pending',
    "call_id" UUID,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "answered_at" TIMESTAMPTZ(3),

    CONSTRAINT "call_requests_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "call_requests_mode_minutes_check" CHECK (("mode" = 'prepaid') = ("prepaid_minutes" IS NOT NULL)),
    CONSTRAINT "call_requests_prepaid_minutes_check" CHECK ("prepaid_minutes" IS NULL OR "prepaid_minutes" BETWEEN 1 AND 1440),
    CONSTRAINT "call_requests_rate_check" CHECK ("rate_per_minute_cents" > 0)
);

-- CreateIndex
CREATE UNIQUE INDEX "call_requests_call_id_key" ON "call_requests"("call_id");

-- CreateIndex
CREATE INDEX "call_requests_operator_id_status_idx" ON "call_requests"("operator_id", "status");

-- CreateIndex
CREATE INDEX "call_requests_member_id_created_at_idx" ON "call_requests"("member_id", "created_at");

-- AddForeignKey
ALTER TABLE "call_requests" ADD CONSTRAINT "call_requests_member_id_fkey" FOREIGN KEY ("member_id") REFERENCES "users"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "call_requests" ADD CONSTRAINT "call_requests_operator_id_fkey" FOREIGN KEY ("operator_id") REFERENCES "operators"("user_id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- The storefront (profiles, images, weekly availability), ratings in both directions, and scheduled calls.
-- See docs/decisions/010-storefront-profiles-and-listing.md, 011-presence-stream.md, 012-ratings.md and
-- 013-scheduled-calls.md.

-- CreateEnum
CREATE TYPE "ScheduledCallStatus" AS ENUM ('proposed', 'accepted', 'declined', 'cancelled', 'expired', 'reserved', 'started', 'member_no_show', 'operator_no_show');

-- AlterTable
ALTER TABLE "operators" ADD COLUMN "bio_markdown" TEXT NOT NULL DEFAULT '',
ADD COLUMN "time_zone" TEXT NOT NULL DEFAULT 'UTC',
ADD COLUMN "video_url" TEXT,
ADD COLUMN "video_captions_url" TEXT;

-- CreateTable
CREATE TABLE "operator_images" (
    "id" UUID NOT NULL,
    "operator_id" UUID NOT NULL,
    "url" TEXT NOT NULL,
    "alt_text" TEXT NOT NULL,
    "position" INTEGER NOT NULL,

    CONSTRAINT "operator_images_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "operator_availability" (
    "id" UUID NOT NULL,
    "operator_id" UUID NOT NULL,
    "weekday" INTEGER NOT NULL,
    "start_minute" INTEGER NOT NULL,
    "end_minute" INTEGER NOT NULL,

    CONSTRAINT "operator_availability_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ratings" (
    "id" UUID NOT NULL,
    "call_id" UUID NOT NULL,
    "member_id" UUID NOT NULL,
    "operator_id" UUID NOT NULL,
    "stars" INTEGER NOT NULL,
    "comment" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ratings_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "member_ratings" (
    "id" UUID NOT NULL,
    "call_id" UUID NOT NULL,
    "operator_id" UUID NOT NULL,
    "member_id" UUID NOT NULL,
    "stars" INTEGER NOT NULL,
    "comment" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "member_ratings_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "scheduled_calls" (
    "id" UUID NOT NULL,
    "member_id" UUID NOT NULL,
    "operator_id" UUID NOT NULL,
    "starts_at" TIMESTAMPTZ(3) NOT NULL,
    "minutes" INTEGER NOT NULL,
    "member_time_zone" TEXT NOT NULL,
    "rate_per_minute_cents" INTEGER NOT NULL,
    "company_id" UUID,
    "commission_bps" INTEGER NOT NULL,
    "company_share_bps" INTEGER NOT NULL,
    "note" TEXT,
    "status" "ScheduledCallStatus" NOT NULL DEFAULT 'proposed',
    "status_reason" TEXT,
    "workflow_id" TEXT NOT NULL,
    "call_id" UUID,
    "no_show_fee_cents" BIGINT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "decided_at" TIMESTAMPTZ(3),
    "reserved_at" TIMESTAMPTZ(3),
    "resolved_at" TIMESTAMPTZ(3),

    CONSTRAINT "scheduled_calls_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "operator_images_operator_id_position_key" ON "operator_images"("operator_id", "position");

-- CreateIndex
CREATE INDEX "operator_availability_operator_id_idx" ON "operator_availability"("operator_id");

-- CreateIndex
CREATE UNIQUE INDEX "ratings_call_id_key" ON "ratings"("call_id");

-- CreateIndex
CREATE INDEX "ratings_operator_id_created_at_idx" ON "ratings"("operator_id", "created_at");

-- CreateIndex
CREATE UNIQUE INDEX "member_ratings_call_id_key" ON "member_ratings"("call_id");

-- CreateIndex
CREATE INDEX "member_ratings_member_id_idx" ON "member_ratings"("member_id");

-- CreateIndex
CREATE UNIQUE INDEX "scheduled_calls_workflow_id_key" ON "scheduled_calls"("workflow_id");

-- CreateIndex
CREATE UNIQUE INDEX "scheduled_calls_call_id_key" ON "scheduled_calls"("call_id");

-- CreateIndex
CREATE INDEX "scheduled_calls_operator_id_starts_at_idx" ON "scheduled_calls"("operator_id", "starts_at");

-- CreateIndex
CREATE INDEX "scheduled_calls_member_id_starts_at_idx" ON "scheduled_calls"("member_id", "starts_at");

-- AddForeignKey
ALTER TABLE "operator_images" ADD CONSTRAINT "operator_images_operator_id_fkey" FOREIGN KEY ("operator_id") REFERENCES "operators"("user_id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "operator_availability" ADD CONSTRAINT "operator_availability_operator_id_fkey" FOREIGN KEY ("operator_id") REFERENCES "operators"("user_id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ratings" ADD CONSTRAINT "ratings_call_id_fkey" FOREIGN KEY ("call_id") REFERENCES "calls"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ratings" ADD CONSTRAINT "ratings_member_id_fkey" FOREIGN KEY ("member_id") REFERENCES "users"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ratings" ADD CONSTRAINT "ratings_operator_id_fkey" FOREIGN KEY ("operator_id") REFERENCES "operators"("user_id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "member_ratings" ADD CONSTRAINT "member_ratings_call_id_fkey" FOREIGN KEY ("call_id") REFERENCES "calls"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "member_ratings" ADD CONSTRAINT "member_ratings_operator_id_fkey" FOREIGN KEY ("operator_id") REFERENCES "operators"("user_id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "member_ratings" ADD CONSTRAINT "member_ratings_member_id_fkey" FOREIGN KEY ("member_id") REFERENCES "users"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "scheduled_calls" ADD CONSTRAINT "scheduled_calls_member_id_fkey" FOREIGN KEY ("member_id") REFERENCES "users"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "scheduled_calls" ADD CONSTRAINT "scheduled_calls_operator_id_fkey" FOREIGN KEY ("operator_id") REFERENCES "operators"("user_id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "scheduled_calls" ADD CONSTRAINT "scheduled_calls_call_id_fkey" FOREIGN KEY ("call_id") REFERENCES "calls"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- Rules Prisma's schema language cannot state.
ALTER TABLE "operator_availability" ADD CONSTRAINT "operator_availability_window_valid"
    CHECK ("weekday" BETWEEN 1 AND 7 AND "start_minute" >= 0 AND "start_minute" < "end_minute" AND "end_minute" <= 1440);
ALTER TABLE "ratings" ADD CONSTRAINT "ratings_stars_range" CHECK ("stars" BETWEEN 1 AND 5);
ALTER TABLE "ratings" ADD CONSTRAINT "ratings_comment_length" CHECK ("comment" IS NULL OR char_length("comment") <= 1000);
ALTER TABLE "member_ratings" ADD CONSTRAINT "member_ratings_stars_range" CHECK ("stars" BETWEEN 1 AND 5);
ALTER TABLE "member_ratings" ADD CONSTRAINT "member_ratings_comment_length" CHECK ("comment" IS NULL OR char_length("comment") <= 1000);
ALTER TABLE "scheduled_calls" ADD CONSTRAINT "scheduled_calls_minutes_range" CHECK ("minutes" BETWEEN 1 AND 240);
ALTER TABLE "scheduled_calls" ADD CONSTRAINT "scheduled_calls_rate_positive" CHECK ("rate_per_minute_cents" > 0);
ALTER TABLE "scheduled_calls" ADD CONSTRAINT "scheduled_calls_note_length" CHECK ("note" IS NULL OR char_length("note") <= 500);

-- A member has at most one reservation with an operator at a time: a call between the two consumes it.
CREATE UNIQUE INDEX "scheduled_calls_one_reservation_per_pair" ON "scheduled_calls"("member_id", "operator_id") WHERE "status" = 'reserved';

-- Presence changes, announced to the web servers that stream them to the listing (docs/decisions/011). The payload
-- is only the operator's id: a listener reads what the listing shows from the tables. Renewals of a presence that
-- has not expired stay silent, so the plugin's report every 20-30 s costs no notification.
CREATE FUNCTION "notify_operator_presence"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'operators' THEN
        PERFORM pg_notify('operator_presence', NEW."user_id"::text);
    ELSE
        PERFORM pg_notify('operator_presence', NEW."operator_id"::text);
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER "operators_presence_changed" AFTER UPDATE OF "presence", "presence_expires_at" ON "operators"
    FOR EACH ROW
    WHEN (OLD."presence" IS DISTINCT FROM NEW."presence" OR OLD."presence_expires_at" IS NULL OR OLD."presence_expires_at" <= now())
    EXECUTE FUNCTION "notify_operator_presence"();

-- A call opening or settling turns an online operator busy or back.
CREATE TRIGGER "calls_opened_presence" AFTER INSERT ON "calls"
    FOR EACH ROW EXECUTE FUNCTION "notify_operator_presence"();
CREATE TRIGGER "calls_settled_presence" AFTER UPDATE OF "status" ON "calls"
    FOR EACH ROW WHEN (OLD."status" IS DISTINCT FROM NEW."status" AND NEW."status" = 'settled')
    EXECUTE FUNCTION "notify_operator_presence"();

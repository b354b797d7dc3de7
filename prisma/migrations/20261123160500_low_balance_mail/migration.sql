-- Members choose whether a call's low-balance warning also reaches them by e-mail (on by default).
ALTER TABLE "users" ADD COLUMN "low_balance_mail" BOOLEAN NOT NULL DEFAULT true;

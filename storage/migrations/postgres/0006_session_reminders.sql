-- When the session's current question was asked, and whether its reminder has gone, so that
-- reminders and expiry are worked out from stored times and survive a restart.
ALTER TABLE sessions ADD COLUMN asked_at timestamptz;
ALTER TABLE sessions ADD COLUMN reminded_at timestamptz;
UPDATE sessions SET asked_at = updated_at;

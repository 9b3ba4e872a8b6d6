-- Which queued messages go first: a safeguarding alert (2) before a resident's own file (1)
-- before digests, reminders and broadcasts (0). Within a priority, the order they were queued.
ALTER TABLE outbox ADD COLUMN priority integer NOT NULL DEFAULT 0;

-- Buttons to send with a queued message (a reminder asks its question again, with its buttons),
-- as Telegram's inline keyboard in JSON.
ALTER TABLE outbox ADD COLUMN markup text;

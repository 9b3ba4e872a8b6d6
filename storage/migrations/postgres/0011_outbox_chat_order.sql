-- A message waits while an earlier one to the same chat (of the same or higher priority) has not
-- gone out: this index finds such an earlier message at once.
CREATE INDEX outbox_chat_waiting ON outbox (chat_id, id) WHERE sent_at IS NULL AND failed_at IS NULL;

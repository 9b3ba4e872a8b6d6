-- An admin trying a draft as residents will see it. Their answers stay here, apart from
-- residents' answers, and never reach a digest.
CREATE TABLE previews (
    telegram_user_id bigint PRIMARY KEY,
    flow_id text NOT NULL,
    source text NOT NULL,
    state text NOT NULL,
    answers jsonb NOT NULL DEFAULT '[]',
    started_at timestamptz NOT NULL
);

-- The resident an outbox message is for, if any: checked again when it is sent, so that a
-- /stop or a block after queuing is still honoured.
ALTER TABLE outbox ADD COLUMN resident_id bigint REFERENCES residents(id) ON DELETE CASCADE;

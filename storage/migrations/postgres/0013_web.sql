-- PostgreSQL twin of ../0013_web.sql.
-- The web dashboard's sign-in: one-time links the bot sends to staff, and the sessions they open.
-- Only a SHA-256 hash of each link's token and each session's cookie is kept, so a copy of the
-- database signs nobody in.
CREATE TABLE web_links (
    token_hash text PRIMARY KEY,
    telegram_user_id bigint NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at timestamptz
);

CREATE TABLE web_sessions (
    token_hash text PRIMARY KEY,
    telegram_user_id bigint NOT NULL,
    started_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    ended_at timestamptz
);
CREATE INDEX web_sessions_by_user ON web_sessions (telegram_user_id);

-- The dashboard's weekly figures walk each week's answers by time and read only their tone and
-- resident (and id, to find their themes): this index covers that walk.
CREATE INDEX answers_by_time_tone ON answers (answered_at, tone, resident_id);

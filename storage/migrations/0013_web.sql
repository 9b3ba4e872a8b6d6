-- The web dashboard's sign-in: one-time links the bot sends to staff, and the sessions they open.
-- Only a SHA-256 hash of each link's token and each session's cookie is kept, so a copy of the
-- database signs nobody in.
CREATE TABLE web_links (
    token_hash TEXT PRIMARY KEY,
    telegram_user_id INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at TEXT
);

CREATE TABLE web_sessions (
    token_hash TEXT PRIMARY KEY,
    telegram_user_id INTEGER NOT NULL,
    started_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    ended_at TEXT
);
CREATE INDEX web_sessions_by_user ON web_sessions (telegram_user_id);


-- The dashboard's weekly figures walk each week's answers by time and read only their tone and
-- resident (and id, to find their themes): this index covers that walk, so the table itself is
-- not read. Measured in bench/web.py over 100,000 answers.
CREATE INDEX answers_by_time_tone ON answers (answered_at, tone, resident_id);

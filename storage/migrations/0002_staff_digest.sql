-- Staff who receive the digest. They joined with an invite code from an admin.
CREATE TABLE staff (
    id INTEGER PRIMARY KEY,
    telegram_user_id INTEGER NOT NULL UNIQUE,
    chat_id INTEGER NOT NULL,
    -- How admins recognise a colleague in /staff (their Telegram first name); staff, not residents.
    name TEXT NOT NULL,
    joined_at TEXT NOT NULL,
    invite_code TEXT,
    safeguarding INTEGER NOT NULL DEFAULT 0,
    blocked_at TEXT
);

-- One-time invite codes; a code is spent by the first /join that uses it.
CREATE TABLE invites (
    code TEXT PRIMARY KEY,
    created_by INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_by INTEGER,
    used_at TEXT
);

-- Each digest built, one per period, so a schedule and a restart never make two.
CREATE TABLE digests (
    id INTEGER PRIMARY KEY,
    period_start TEXT NOT NULL,
    period_end TEXT NOT NULL,
    created_at TEXT NOT NULL,
    -- Set once every message of it is in the outbox.
    queued_at TEXT,
    UNIQUE (period_start, period_end)
);

-- Messages that must go out exactly once and survive restarts.
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY,
    -- What this message is, e.g. digest:3:staff:5:part:0 — queuing it twice is a no-op.
    key TEXT NOT NULL UNIQUE,
    chat_id INTEGER NOT NULL,
    method TEXT NOT NULL,
    text TEXT NOT NULL,
    filename TEXT,
    attachment BLOB,
    created_at TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    not_before TEXT NOT NULL,
    -- A sender (the bot, or `whatmatters digest send`) holds a message while it sends it.
    claimed_until TEXT,
    sent_at TEXT,
    failed_at TEXT,
    error TEXT
);
CREATE INDEX outbox_due ON outbox (sent_at, failed_at, not_before);

-- What admins did, and when.
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    actor INTEGER NOT NULL,
    action TEXT NOT NULL,
    detail TEXT NOT NULL
);

-- What the analysis found in each answer when it arrived, so a digest only aggregates.
ALTER TABLE answers ADD COLUMN tone TEXT;
ALTER TABLE answers ADD COLUMN key_phrases TEXT;
ALTER TABLE answers ADD COLUMN asks_for TEXT;
ALTER TABLE answers ADD COLUMN kind TEXT;

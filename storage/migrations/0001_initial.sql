-- Residents are known by a pseudonym; their Telegram name is never stored.
CREATE TABLE residents (
    id INTEGER PRIMARY KEY,
    telegram_user_id INTEGER NOT NULL UNIQUE,
    chat_id INTEGER NOT NULL,
    pseudonym TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    stopped_at TEXT,
    blocked_at TEXT,
    follow_up_consent INTEGER
);

-- Every published version of every flow, as the YAML the admin wrote.
CREATE TABLE flow_versions (
    flow_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    source TEXT NOT NULL,
    published_at TEXT NOT NULL,
    PRIMARY KEY (flow_id, version)
);

-- A resident's way through one version of one flow; `state` is the engine's state as JSON.
CREATE TABLE sessions (
    id INTEGER PRIMARY KEY,
    resident_id INTEGER NOT NULL REFERENCES residents(id) ON DELETE CASCADE,
    flow_id TEXT NOT NULL,
    flow_version INTEGER NOT NULL,
    step_id TEXT,
    status TEXT NOT NULL,
    state TEXT NOT NULL,
    started_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX sessions_by_resident ON sessions (resident_id, status);

-- Answers are keyed by flow id + version + step id, so analysis survives edits of a flow.
CREATE TABLE answers (
    id INTEGER PRIMARY KEY,
    resident_id INTEGER NOT NULL REFERENCES residents(id) ON DELETE CASCADE,
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    flow_id TEXT NOT NULL,
    flow_version INTEGER NOT NULL,
    step_id TEXT NOT NULL,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    number REAL,
    answered_at TEXT NOT NULL,
    -- The Telegram update that carried it: one update can never store two answers.
    update_id INTEGER UNIQUE,
    themes TEXT,
    sentiment REAL
);
CREATE INDEX answers_by_time ON answers (answered_at);

-- The raw updates as Telegram sent them; processing is idempotent on update_id.
CREATE TABLE updates (
    update_id INTEGER PRIMARY KEY,
    received_at TEXT NOT NULL,
    payload TEXT NOT NULL,
    processed_at TEXT,
    -- What the bot answered, kept so that a reply lost in a crash can be sent again.
    replies TEXT,
    replied_at TEXT
);

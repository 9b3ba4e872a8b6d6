-- "You said, we did": what the service is doing about a theme residents raised.
CREATE TABLE actions (
    id INTEGER PRIMARY KEY,
    theme TEXT NOT NULL,
    text TEXT NOT NULL,
    -- heard, planned, in progress, done, not possible (with a reason)
    status TEXT NOT NULL,
    reason TEXT,
    -- The Telegram id of the member of staff who wrote it; 0 for the command line.
    created_by INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_by INTEGER NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX actions_by_theme ON actions (theme);

-- Every version of every action: its history, and how many residents each change was told to.
CREATE TABLE action_changes (
    id INTEGER PRIMARY KEY,
    action_id INTEGER NOT NULL REFERENCES actions(id) ON DELETE CASCADE,
    status TEXT NOT NULL,
    text TEXT NOT NULL,
    reason TEXT,
    changed_by INTEGER NOT NULL,
    changed_at TEXT NOT NULL,
    told INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX action_changes_by_action ON action_changes (action_id, id);

-- Who was told of which action at which status: never twice for the same (action, status).
-- A resident's reply with no question waiting goes to the latest action they were told of.
CREATE TABLE action_recipients (
    action_id INTEGER NOT NULL REFERENCES actions(id) ON DELETE CASCADE,
    resident_id INTEGER NOT NULL REFERENCES residents(id) ON DELETE CASCADE,
    status TEXT NOT NULL,
    told_at TEXT NOT NULL,
    PRIMARY KEY (action_id, resident_id, status)
) WITHOUT ROWID;
CREATE INDEX action_recipients_by_resident ON action_recipients (resident_id, told_at);

-- Reactions and replies are answers of the flow `you-said-we-did` (step `action-<id>`); finding
-- a resident's answers on a theme, and an action's reactions, must not read every answer.
CREATE INDEX answers_by_resident ON answers (resident_id, answered_at);
CREATE INDEX answers_by_flow_step ON answers (flow_id, step_id);

-- A member of staff part-way through writing or updating an action in Telegram (`/yousaid`,
-- `/actions`): kept in the database so that a restart does not lose it.
CREATE TABLE action_drafts (
    telegram_user_id INTEGER PRIMARY KEY,
    action_id INTEGER,
    theme TEXT NOT NULL,
    stage TEXT NOT NULL,
    text TEXT,
    status TEXT,
    reason TEXT,
    started_at TEXT NOT NULL
);

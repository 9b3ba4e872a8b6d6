-- A safeguarding contact writing to a resident through the bot (`/respond`, or the alert's
-- "Write to this resident" button): one open thread per resident, and per contact, until either
-- side sends /done. /forgetme ends it (the rows go with the resident).
CREATE TABLE safeguarding_threads (
    resident_id INTEGER PRIMARY KEY REFERENCES residents(id) ON DELETE CASCADE,
    contact_user_id INTEGER NOT NULL UNIQUE,
    contact_chat_id INTEGER NOT NULL,
    opened_at TEXT NOT NULL
);

-- What was said in such threads, kept for the resident's /mydata (the audit log keeps who and
-- when, never the words).
CREATE TABLE thread_messages (
    id INTEGER PRIMARY KEY,
    resident_id INTEGER NOT NULL REFERENCES residents(id) ON DELETE CASCADE,
    from_service INTEGER NOT NULL,
    contact_user_id INTEGER NOT NULL,
    text TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX thread_messages_by_resident ON thread_messages (resident_id, id);

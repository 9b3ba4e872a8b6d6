-- Several processes on one database (issue 11): each says it is alive, and holds claims.
--
-- A worker's heartbeat moves `alive_until` (unix seconds) ahead; a worker whose heartbeat lapsed
-- is dead, and its claims are anyone's. A claim is a name ("chat:<sender>", "lead") held by one
-- live worker: each sender's updates are handled by one worker at a time, in order, and the
-- scheduled jobs run on the one that leads. Neither table is copied by `db copy`: both are about
-- the processes running now.
CREATE TABLE workers (
    id TEXT PRIMARY KEY,
    alive_until REAL NOT NULL
);
CREATE TABLE claims (
    name TEXT PRIMARY KEY,
    worker TEXT NOT NULL
);
CREATE INDEX claims_by_worker ON claims (worker);

-- Which worker claimed an outbox message: a dead worker's claims are handed back at once, a
-- live one's are left alone (until now a start-up handed back every claim: one sender only).
ALTER TABLE outbox ADD COLUMN claimed_by TEXT;

-- Who sent an update, as PostgreSQL has had since 0001: each sender's unfinished updates are
-- found, oldest first, through the partial index.
ALTER TABLE updates ADD COLUMN sent_by INTEGER GENERATED ALWAYS AS (COALESCE(
    json_extract(payload, '$.message.from.id'),
    json_extract(payload, '$.edited_message.from.id'),
    json_extract(payload, '$.callback_query.from.id'),
    json_extract(payload, '$.my_chat_member.from.id')
)) VIRTUAL;
CREATE INDEX updates_unfinished ON updates (sent_by, update_id)
    WHERE processed_at IS NULL OR (replied_at IS NULL AND replies IS NOT NULL);

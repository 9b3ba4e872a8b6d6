-- PostgreSQL twin of ../0016_workers.sql.
-- Several processes on one database (issue 11): each says it is alive, and holds claims.
--
-- A worker's heartbeat moves `alive_until` ahead (the server's clock, so machines whose clocks
-- differ agree); a worker whose heartbeat lapsed is dead, and its claims are anyone's. A claim is
-- a name ("chat:<sender>", "lead") held by one live worker: each sender's updates are handled by
-- one worker at a time, in order, and the scheduled jobs run on the one that leads. Neither table
-- is copied by `db copy`: both are about the processes running now.
CREATE TABLE workers (
    id text PRIMARY KEY,
    alive_until timestamptz NOT NULL
);
CREATE TABLE claims (
    name text PRIMARY KEY,
    worker text NOT NULL
);
CREATE INDEX claims_by_worker ON claims (worker);

-- Which worker claimed an outbox message: a dead worker's claims are handed back at once, a
-- live one's are left alone (until now a start-up handed back every claim: one sender only).
ALTER TABLE outbox ADD COLUMN claimed_by text;

-- Each sender's unfinished updates, oldest first.
CREATE INDEX updates_unfinished ON updates (sent_by, update_id)
    WHERE processed_at IS NULL OR (replied_at IS NULL AND replies IS NOT NULL);

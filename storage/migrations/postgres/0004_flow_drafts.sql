-- A flow's draft: an admin's edited YAML, checked but not yet live.
CREATE TABLE flow_drafts (
    flow_id text PRIMARY KEY,
    source text NOT NULL,
    saved_at timestamptz NOT NULL,
    saved_by bigint
);

-- Which version of each flow new sessions start on: the newest, unless rolled back.
CREATE TABLE live_flows (
    flow_id text PRIMARY KEY,
    version integer NOT NULL,
    changed_at timestamptz NOT NULL,
    FOREIGN KEY (flow_id, version) REFERENCES flow_versions (flow_id, version)
);
INSERT INTO live_flows (flow_id, version, changed_at)
SELECT flow_id, MAX(version), MAX(published_at) FROM flow_versions GROUP BY flow_id;

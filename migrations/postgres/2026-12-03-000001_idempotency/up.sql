-- The first answer to each Idempotency-Key, per caller, for 24 hours: a
-- retry that reaches any server gets it again instead of acting twice.
-- status is NULL while the first request is still running. The path and
-- body are kept only as digests under a server secret (a body may hold a
-- password).
CREATE TABLE idempotency_keys (
    caller_id TEXT NOT NULL,
    key TEXT NOT NULL,
    method TEXT NOT NULL,
    target_digest TEXT NOT NULL,
    body_digest TEXT NOT NULL,
    status INTEGER,
    headers TEXT NOT NULL DEFAULT '',
    body BYTEA,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (caller_id, key)
);
-- Keys past their day are swept by age.
CREATE INDEX idempotency_keys_created_at_idx ON idempotency_keys (created_at);

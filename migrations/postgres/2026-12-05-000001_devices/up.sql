-- Trainers' devices: a hall's tablet or a phone paired with a one-time
-- code, acting for the trainer who paired it with a token of its own.
-- Codes and tokens are kept only as SHA-256 digests; a revoked device
-- keeps its row, so that the marks it took still name it.
CREATE TABLE devices (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id),
    name TEXT NOT NULL,
    pairing_code_hash TEXT UNIQUE,
    pairing_expires_at TIMESTAMP,
    token_hash TEXT UNIQUE,
    created_at TIMESTAMP NOT NULL,
    paired_at TIMESTAMP,
    last_seen_at TIMESTAMP,
    revoked_at TIMESTAMP
);
CREATE INDEX devices_by_user ON devices (user_id, created_at);

-- Wrong pairing codes, per client address, to refuse guessing.
CREATE TABLE pairing_failures (
    id TEXT PRIMARY KEY,
    subject_hash TEXT NOT NULL,
    failed_at TIMESTAMP NOT NULL
);
CREATE INDEX pairing_failures_by_subject ON pairing_failures (subject_hash, failed_at);

-- The device a mark, a change of it or an audited write came from.
ALTER TABLE attendance_marks ADD COLUMN device_id TEXT REFERENCES devices (id);
ALTER TABLE attendance_changes ADD COLUMN device_id TEXT REFERENCES devices (id);
ALTER TABLE audit_events ADD COLUMN device_id TEXT REFERENCES devices (id);

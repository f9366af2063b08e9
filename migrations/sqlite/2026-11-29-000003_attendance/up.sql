-- The current mark of each enrolled place. `recorded_at` is when the mark
-- was taken (a trainer's phone may send it later); between two marks for
-- the same place, the one recorded later wins.
CREATE TABLE attendance_marks (
    enrolment_id   TEXT PRIMARY KEY NOT NULL REFERENCES enrolments (id),
    session_id     TEXT NOT NULL REFERENCES sessions (id),
    participant_id TEXT NOT NULL REFERENCES participants (id),
    status         TEXT NOT NULL CHECK (status IN ('present', 'late', 'excused', 'absent')),
    note           TEXT,
    source         TEXT NOT NULL CHECK (source IN ('trainer', 'self_check_in', 'offline_sync')),
    marked_by      TEXT REFERENCES users (id),
    recorded_at    TIMESTAMP NOT NULL,
    marked_at      TIMESTAMP NOT NULL
);
CREATE INDEX attendance_marks_session_idx ON attendance_marks (session_id);

-- Every change of a mark, and every offline mark that arrived after a
-- later one (`superseded`), so that nothing a trainer recorded is lost.
CREATE TABLE attendance_changes (
    id             TEXT PRIMARY KEY NOT NULL,
    enrolment_id   TEXT NOT NULL REFERENCES enrolments (id),
    session_id     TEXT NOT NULL REFERENCES sessions (id),
    participant_id TEXT NOT NULL REFERENCES participants (id),
    from_status    TEXT,
    to_status      TEXT NOT NULL,
    note           TEXT,
    source         TEXT NOT NULL,
    changed_by     TEXT REFERENCES users (id),
    recorded_at    TIMESTAMP NOT NULL,
    changed_at     TIMESTAMP NOT NULL,
    superseded     BOOLEAN NOT NULL
);
CREATE INDEX attendance_changes_session_idx ON attendance_changes (session_id, id);

-- Offline marks already received, by the account that sent them and the
-- id its app gave them: the same mark sent twice is answered `duplicate`
-- and changes nothing.
CREATE TABLE offline_marks (
    received_by    TEXT NOT NULL REFERENCES users (id),
    client_mark_id TEXT NOT NULL,
    outcome        TEXT NOT NULL,
    received_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (received_by, client_mark_id)
);

-- The open self check-in code of a session (one at a time), stored as a
-- SHA-256 of the session id and the code.
CREATE TABLE check_in_codes (
    session_id TEXT PRIMARY KEY NOT NULL REFERENCES sessions (id),
    code_hash  TEXT NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    created_by TEXT REFERENCES users (id),
    created_at TIMESTAMP NOT NULL
);

-- Wrong check-in codes, keyed by a SHA-256 of "user:<id>" or
-- "session:<id>", to limit guessing.
CREATE TABLE check_in_failures (
    id           TEXT PRIMARY KEY NOT NULL,
    subject_hash TEXT NOT NULL,
    failed_at    TIMESTAMP NOT NULL
);
CREATE INDEX check_in_failures_subject_idx ON check_in_failures (subject_hash, failed_at);

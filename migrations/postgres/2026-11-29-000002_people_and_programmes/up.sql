-- The participant's name folded for search (lower case, no Vietnamese
-- diacritics, one space between words, a space in front), filled by the
-- application; see participants::search.
ALTER TABLE participants ADD COLUMN search_name TEXT NOT NULL DEFAULT '';
-- Set when an admin erased the profile's personal data.
ALTER TABLE participants ADD COLUMN anonymized_at TIMESTAMP;
CREATE INDEX participants_category_idx ON participants (category);

CREATE TABLE programmes (
    id         TEXT PRIMARY KEY NOT NULL,
    name       TEXT NOT NULL,
    theme      TEXT,
    starts_on  DATE NOT NULL,
    ends_on    DATE NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    CHECK (ends_on >= starts_on)
);

-- `topics` and `target_categories` are lists stored one item per line.
CREATE TABLE courses (
    id                TEXT PRIMARY KEY NOT NULL,
    title             TEXT NOT NULL,
    summary           TEXT,
    topics            TEXT NOT NULL,
    target_categories TEXT NOT NULL,
    duration_minutes  INTEGER NOT NULL CHECK (duration_minutes > 0),
    programme_id      TEXT REFERENCES programmes (id),
    created_at        TIMESTAMP NOT NULL,
    updated_at        TIMESTAMP NOT NULL
);
CREATE INDEX courses_programme_idx ON courses (programme_id);

-- `eligible_categories` NULL means the course's target categories.
-- `enrolled_count` and `waitlisted_count` are kept by the enrolment
-- transactions, so that capacity is checked on one row.
CREATE TABLE sessions (
    id                  TEXT PRIMARY KEY NOT NULL,
    course_id           TEXT NOT NULL REFERENCES courses (id),
    starts_at           TIMESTAMP NOT NULL,
    ends_at             TIMESTAMP NOT NULL,
    venue               TEXT NOT NULL,
    capacity            INTEGER NOT NULL CHECK (capacity >= 1),
    status              TEXT NOT NULL CHECK (status IN ('scheduled', 'cancelled', 'completed')),
    enrolment_opens_at  TIMESTAMP,
    enrolment_closes_at TIMESTAMP,
    eligible_categories TEXT,
    waitlist            BOOLEAN NOT NULL DEFAULT FALSE,
    enrolled_count      INTEGER NOT NULL DEFAULT 0,
    waitlisted_count    INTEGER NOT NULL DEFAULT 0,
    created_at          TIMESTAMP NOT NULL,
    updated_at          TIMESTAMP NOT NULL,
    CHECK (ends_at > starts_at)
);
CREATE INDEX sessions_starts_at_idx ON sessions (starts_at);
CREATE INDEX sessions_course_idx ON sessions (course_id);

CREATE TABLE session_trainers (
    session_id TEXT NOT NULL REFERENCES sessions (id),
    user_id    TEXT NOT NULL REFERENCES users (id),
    PRIMARY KEY (session_id, user_id)
);
CREATE INDEX session_trainers_user_idx ON session_trainers (user_id);

-- A person's place in a session. Cancelled rows stay; at most one row per
-- person and session is active.
CREATE TABLE enrolments (
    id                TEXT PRIMARY KEY NOT NULL,
    session_id        TEXT NOT NULL REFERENCES sessions (id),
    participant_id    TEXT NOT NULL REFERENCES participants (id),
    status            TEXT NOT NULL CHECK (status IN ('enrolled', 'waitlisted', 'cancelled')),
    waitlist_position INTEGER,
    source            TEXT NOT NULL CHECK (source IN ('self', 'coordinator', 'admin', 'walk_in', 'import')),
    created_by        TEXT REFERENCES users (id),
    created_at        TIMESTAMP NOT NULL,
    updated_at        TIMESTAMP NOT NULL,
    cancelled_at      TIMESTAMP
);
CREATE UNIQUE INDEX enrolments_active_idx ON enrolments (session_id, participant_id)
    WHERE status <> 'cancelled';
CREATE INDEX enrolments_participant_idx ON enrolments (participant_id);

-- Every write through the API: who (NULL for the system itself), when,
-- which entity, and what changed (a JSON list of {field, from?, to?};
-- personal fields are named without their values, so that anonymising a
-- person leaves nothing of them here).
CREATE TABLE audit_events (
    id          TEXT PRIMARY KEY NOT NULL,
    occurred_at TIMESTAMP NOT NULL,
    actor_id    TEXT REFERENCES users (id),
    action      TEXT NOT NULL,
    entity_type TEXT NOT NULL,
    entity_id   TEXT NOT NULL,
    changes     TEXT NOT NULL
);
CREATE INDEX audit_events_entity_idx ON audit_events (entity_type, entity_id);
CREATE INDEX audit_events_actor_idx ON audit_events (actor_id);
CREATE INDEX audit_events_time_idx ON audit_events (occurred_at);

-- Ids are UUIDv7 strings; times are UTC, stored as diesel's TIMESTAMP text.

CREATE TABLE app_settings (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);

CREATE TABLE organizations (
    id         TEXT PRIMARY KEY NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('school', 'hamlet', 'agency', 'association', 'enterprise', 'other')),
    name       TEXT NOT NULL,
    code       TEXT UNIQUE,
    parent_id  TEXT REFERENCES organizations (id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE users (
    id              TEXT PRIMARY KEY NOT NULL,
    email           TEXT NOT NULL UNIQUE,
    password_hash   TEXT NOT NULL,
    full_name       TEXT NOT NULL,
    role            TEXT NOT NULL CHECK (role IN ('admin', 'coordinator', 'trainer', 'participant')),
    organization_id TEXT REFERENCES organizations (id),
    active          BOOLEAN NOT NULL DEFAULT 1,
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL,
    CHECK (role <> 'coordinator' OR organization_id IS NOT NULL)
);
CREATE INDEX users_role_idx ON users (role, active);

CREATE TABLE participants (
    id              TEXT PRIMARY KEY NOT NULL,
    full_name       TEXT NOT NULL,
    category        TEXT NOT NULL CHECK (category IN ('student', 'learner', 'parent', 'official', 'worker', 'other')),
    organization_id TEXT REFERENCES organizations (id),
    gender          TEXT NOT NULL DEFAULT 'unspecified' CHECK (gender IN ('female', 'male', 'other', 'unspecified')),
    birth_date      DATE,
    phone           TEXT,
    email           TEXT,
    guardian_id     TEXT REFERENCES participants (id),
    user_id         TEXT UNIQUE REFERENCES users (id),
    created_by      TEXT REFERENCES users (id),
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL
);
CREATE INDEX participants_organization_idx ON participants (organization_id);
CREATE INDEX participants_guardian_idx ON participants (guardian_id);

-- One row per login: every refresh token rotated from it belongs to it, and
-- revoking it ends the whole family (logout, reuse of a rotated token,
-- password change, deactivation).
CREATE TABLE login_sessions (
    id         TEXT PRIMARY KEY NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP
);
CREATE INDEX login_sessions_user_idx ON login_sessions (user_id);

-- Only a SHA-256 of each refresh token is stored, never the token itself.
CREATE TABLE refresh_tokens (
    id               TEXT PRIMARY KEY NOT NULL,
    login_session_id TEXT NOT NULL REFERENCES login_sessions (id),
    token_hash       TEXT NOT NULL UNIQUE,
    expires_at       TIMESTAMP NOT NULL,
    used_at          TIMESTAMP,
    created_at       TIMESTAMP NOT NULL
);
CREATE INDEX refresh_tokens_session_idx ON refresh_tokens (login_session_id);

-- Login attempts for throttling, keyed by a SHA-256 of "account:<email>" or
-- "address:<ip>" so that no email or address is kept in clear. An attempt
-- is `pending` while its password is being checked, then a failure (or
-- deleted, when the password was right).
CREATE TABLE login_attempts (
    id           TEXT PRIMARY KEY NOT NULL,
    subject_hash TEXT NOT NULL,
    attempted_at TIMESTAMP NOT NULL,
    pending      BOOLEAN NOT NULL
);
CREATE INDEX login_attempts_subject_idx ON login_attempts (subject_hash, attempted_at);
CREATE INDEX login_attempts_time_idx ON login_attempts (attempted_at);

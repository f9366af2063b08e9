-- The day each session falls on in the local zone (LOPHOC_TIMEZONE), kept
-- beside its UTC start: statistics group and filter by it, and SQLite has
-- no time-zone arithmetic. lophoc writes it with the session, and rewrites
-- every session's at start-up when the configured zone has changed.
ALTER TABLE sessions ADD COLUMN local_day DATE;
CREATE INDEX sessions_local_day_idx ON sessions (local_day);

-- Statistics and exports read all of a session's places, cancelled ones
-- too, which the partial enrolments_active_idx leaves out. With `id`, an
-- export reads each session's places in a stable order without sorting.
CREATE INDEX enrolments_session_idx ON enrolments (session_id, id);

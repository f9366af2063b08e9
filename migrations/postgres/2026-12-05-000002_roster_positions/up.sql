-- Where each row a trainer's offline rosters show was last changed, for
-- GET /me/rosters?since=: a client sends back the position it was given and
-- gets the rows changed at or after it. Triggers keep the positions, so
-- that no write, from any part of lophoc, can forget one.
--
-- On PostgreSQL a position is the id of the transaction that wrote the row.
-- A reader's token is the oldest transaction still running when its
-- snapshot was taken: every row below it was committed and read, and rows
-- at or above it come again next time, so a write that commits late is
-- never missed. Sessions, people, courses and units move only when what a
-- roster shows of them changes, not with every enrolment's counters.
CREATE FUNCTION stamp_sync_position() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.sync_position := pg_current_xact_id()::text::bigint;
    RETURN NEW;
END
$$;

ALTER TABLE sessions ADD COLUMN sync_position BIGINT NOT NULL DEFAULT 0;
CREATE TRIGGER sessions_stamp_insert BEFORE INSERT ON sessions
    FOR EACH ROW EXECUTE FUNCTION stamp_sync_position();
CREATE TRIGGER sessions_stamp_update BEFORE UPDATE ON sessions
    FOR EACH ROW
    WHEN (OLD.course_id IS DISTINCT FROM NEW.course_id OR OLD.starts_at IS DISTINCT FROM NEW.starts_at OR OLD.ends_at IS DISTINCT FROM NEW.ends_at OR OLD.venue IS DISTINCT FROM NEW.venue OR OLD.capacity IS DISTINCT FROM NEW.capacity OR OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION stamp_sync_position();
ALTER TABLE enrolments ADD COLUMN sync_position BIGINT NOT NULL DEFAULT 0;
CREATE TRIGGER enrolments_stamp_insert BEFORE INSERT ON enrolments
    FOR EACH ROW EXECUTE FUNCTION stamp_sync_position();
CREATE TRIGGER enrolments_stamp_update BEFORE UPDATE ON enrolments
    FOR EACH ROW
    EXECUTE FUNCTION stamp_sync_position();
ALTER TABLE attendance_marks ADD COLUMN sync_position BIGINT NOT NULL DEFAULT 0;
CREATE TRIGGER attendance_marks_stamp_insert BEFORE INSERT ON attendance_marks
    FOR EACH ROW EXECUTE FUNCTION stamp_sync_position();
CREATE TRIGGER attendance_marks_stamp_update BEFORE UPDATE ON attendance_marks
    FOR EACH ROW
    EXECUTE FUNCTION stamp_sync_position();
ALTER TABLE participants ADD COLUMN sync_position BIGINT NOT NULL DEFAULT 0;
CREATE TRIGGER participants_stamp_insert BEFORE INSERT ON participants
    FOR EACH ROW EXECUTE FUNCTION stamp_sync_position();
CREATE TRIGGER participants_stamp_update BEFORE UPDATE ON participants
    FOR EACH ROW
    WHEN (OLD.full_name IS DISTINCT FROM NEW.full_name OR OLD.category IS DISTINCT FROM NEW.category OR OLD.organization_id IS DISTINCT FROM NEW.organization_id)
    EXECUTE FUNCTION stamp_sync_position();
ALTER TABLE session_trainers ADD COLUMN sync_position BIGINT NOT NULL DEFAULT 0;
CREATE TRIGGER session_trainers_stamp_insert BEFORE INSERT ON session_trainers
    FOR EACH ROW EXECUTE FUNCTION stamp_sync_position();

ALTER TABLE courses ADD COLUMN sync_position BIGINT NOT NULL DEFAULT 0;
CREATE TRIGGER courses_stamp_insert BEFORE INSERT ON courses
    FOR EACH ROW EXECUTE FUNCTION stamp_sync_position();
CREATE TRIGGER courses_stamp_update BEFORE UPDATE ON courses
    FOR EACH ROW
    WHEN (OLD.title IS DISTINCT FROM NEW.title)
    EXECUTE FUNCTION stamp_sync_position();
ALTER TABLE organizations ADD COLUMN sync_position BIGINT NOT NULL DEFAULT 0;
CREATE TRIGGER organizations_stamp_insert BEFORE INSERT ON organizations
    FOR EACH ROW EXECUTE FUNCTION stamp_sync_position();
CREATE TRIGGER organizations_stamp_update BEFORE UPDATE ON organizations
    FOR EACH ROW
    WHEN (OLD.name IS DISTINCT FROM NEW.name)
    EXECUTE FUNCTION stamp_sync_position();

-- The rows of a session changed since a position; the people changed since.
CREATE INDEX enrolments_by_session_position ON enrolments (session_id, sync_position);
CREATE INDEX attendance_marks_by_session_position ON attendance_marks (session_id, sync_position);
CREATE INDEX participants_by_position ON participants (sync_position);

-- Trainers taken off a session, so that their devices drop its roster.
CREATE TABLE roster_departures (
    session_id TEXT NOT NULL REFERENCES sessions (id),
    user_id TEXT NOT NULL REFERENCES users (id),
    sync_position BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX roster_departures_by_user ON roster_departures (user_id, sync_position);
CREATE TRIGGER roster_departures_stamp_insert BEFORE INSERT ON roster_departures
    FOR EACH ROW EXECUTE FUNCTION stamp_sync_position();
CREATE FUNCTION record_roster_departure() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO roster_departures (session_id, user_id) VALUES (OLD.session_id, OLD.user_id);
    RETURN OLD;
END
$$;
CREATE TRIGGER session_trainers_departure AFTER DELETE ON session_trainers
    FOR EACH ROW EXECUTE FUNCTION record_roster_departure();

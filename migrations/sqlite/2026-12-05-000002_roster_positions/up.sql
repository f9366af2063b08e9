-- Where each row a trainer's offline rosters show was last changed, for
-- GET /me/rosters?since=: a client sends back the position it was given and
-- gets the rows changed at or after it. Triggers keep the positions, so
-- that no write, from any part of lophoc, can forget one.
--
-- SQLite writes one transaction at a time, so a counter bumped by each
-- written row orders them as they commit; a reader's token is the counter
-- it saw, plus one. Sessions, people, courses and units move only when what a
-- roster shows of them changes, not with every enrolment's counters.
CREATE TABLE sync_clock (position INTEGER NOT NULL);
INSERT INTO sync_clock (position) VALUES (0);

ALTER TABLE sessions ADD COLUMN sync_position BIGINT NOT NULL DEFAULT 0;
CREATE TRIGGER sessions_stamp_insert AFTER INSERT ON sessions
BEGIN
    UPDATE sync_clock SET position = position + 1;
    UPDATE sessions SET sync_position = (SELECT position FROM sync_clock) WHERE id = NEW.id;
END;
CREATE TRIGGER sessions_stamp_update AFTER UPDATE ON sessions
    WHEN NEW.sync_position IS OLD.sync_position
    AND (OLD.course_id IS NOT NEW.course_id OR OLD.starts_at IS NOT NEW.starts_at OR OLD.ends_at IS NOT NEW.ends_at OR OLD.venue IS NOT NEW.venue OR OLD.capacity IS NOT NEW.capacity OR OLD.status IS NOT NEW.status)
BEGIN
    UPDATE sync_clock SET position = position + 1;
    UPDATE sessions SET sync_position = (SELECT position FROM sync_clock) WHERE id = NEW.id;
END;
ALTER TABLE enrolments ADD COLUMN sync_position BIGINT NOT NULL DEFAULT 0;
CREATE TRIGGER enrolments_stamp_insert AFTER INSERT ON enrolments
BEGIN
    UPDATE sync_clock SET position = position + 1;
    UPDATE enrolments SET sync_position = (SELECT position FROM sync_clock) WHERE id = NEW.id;
END;
CREATE TRIGGER enrolments_stamp_update AFTER UPDATE ON enrolments
    WHEN NEW.sync_position IS OLD.sync_position
BEGIN
    UPDATE sync_clock SET position = position + 1;
    UPDATE enrolments SET sync_position = (SELECT position FROM sync_clock) WHERE id = NEW.id;
END;
ALTER TABLE attendance_marks ADD COLUMN sync_position BIGINT NOT NULL DEFAULT 0;
CREATE TRIGGER attendance_marks_stamp_insert AFTER INSERT ON attendance_marks
BEGIN
    UPDATE sync_clock SET position = position + 1;
    UPDATE attendance_marks SET sync_position = (SELECT position FROM sync_clock) WHERE enrolment_id = NEW.enrolment_id;
END;
CREATE TRIGGER attendance_marks_stamp_update AFTER UPDATE ON attendance_marks
    WHEN NEW.sync_position IS OLD.sync_position
BEGIN
    UPDATE sync_clock SET position = position + 1;
    UPDATE attendance_marks SET sync_position = (SELECT position FROM sync_clock) WHERE enrolment_id = NEW.enrolment_id;
END;
ALTER TABLE participants ADD COLUMN sync_position BIGINT NOT NULL DEFAULT 0;
CREATE TRIGGER participants_stamp_insert AFTER INSERT ON participants
BEGIN
    UPDATE sync_clock SET position = position + 1;
    UPDATE participants SET sync_position = (SELECT position FROM sync_clock) WHERE id = NEW.id;
END;
CREATE TRIGGER participants_stamp_update AFTER UPDATE ON participants
    WHEN NEW.sync_position IS OLD.sync_position
    AND (OLD.full_name IS NOT NEW.full_name OR OLD.category IS NOT NEW.category OR OLD.organization_id IS NOT NEW.organization_id)
BEGIN
    UPDATE sync_clock SET position = position + 1;
    UPDATE participants SET sync_position = (SELECT position FROM sync_clock) WHERE id = NEW.id;
END;
ALTER TABLE session_trainers ADD COLUMN sync_position BIGINT NOT NULL DEFAULT 0;
CREATE TRIGGER session_trainers_stamp_insert AFTER INSERT ON session_trainers
BEGIN
    UPDATE sync_clock SET position = position + 1;
    UPDATE session_trainers SET sync_position = (SELECT position FROM sync_clock) WHERE session_id = NEW.session_id AND user_id = NEW.user_id;
END;

ALTER TABLE courses ADD COLUMN sync_position BIGINT NOT NULL DEFAULT 0;
CREATE TRIGGER courses_stamp_insert AFTER INSERT ON courses
BEGIN
    UPDATE sync_clock SET position = position + 1;
    UPDATE courses SET sync_position = (SELECT position FROM sync_clock) WHERE id = NEW.id;
END;
CREATE TRIGGER courses_stamp_update AFTER UPDATE ON courses
    WHEN NEW.sync_position IS OLD.sync_position
    AND OLD.title IS NOT NEW.title
BEGIN
    UPDATE sync_clock SET position = position + 1;
    UPDATE courses SET sync_position = (SELECT position FROM sync_clock) WHERE id = NEW.id;
END;
ALTER TABLE organizations ADD COLUMN sync_position BIGINT NOT NULL DEFAULT 0;
CREATE TRIGGER organizations_stamp_insert AFTER INSERT ON organizations
BEGIN
    UPDATE sync_clock SET position = position + 1;
    UPDATE organizations SET sync_position = (SELECT position FROM sync_clock) WHERE id = NEW.id;
END;
CREATE TRIGGER organizations_stamp_update AFTER UPDATE ON organizations
    WHEN NEW.sync_position IS OLD.sync_position
    AND OLD.name IS NOT NEW.name
BEGIN
    UPDATE sync_clock SET position = position + 1;
    UPDATE organizations SET sync_position = (SELECT position FROM sync_clock) WHERE id = NEW.id;
END;

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
CREATE TRIGGER session_trainers_departure AFTER DELETE ON session_trainers
BEGIN
    UPDATE sync_clock SET position = position + 1;
    INSERT INTO roster_departures (session_id, user_id, sync_position)
        VALUES (OLD.session_id, OLD.user_id, (SELECT position FROM sync_clock));
END;

DROP INDEX enrolments_session_idx;
DROP INDEX sessions_local_day_idx;
ALTER TABLE sessions DROP COLUMN local_day;

DROP TABLE audit_events;
DROP TABLE enrolments;
DROP TABLE session_trainers;
DROP TABLE sessions;
DROP TABLE courses;
DROP TABLE programmes;
DROP INDEX participants_category_idx;
ALTER TABLE participants DROP COLUMN anonymized_at;
ALTER TABLE participants DROP COLUMN search_name;

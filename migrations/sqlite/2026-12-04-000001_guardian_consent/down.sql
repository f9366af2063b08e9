ALTER TABLE participants DROP COLUMN consent_withdrawn_at;
ALTER TABLE participants DROP COLUMN consent_recorded_at;
ALTER TABLE participants DROP COLUMN consent_recorded_by;
ALTER TABLE participants DROP COLUMN consent_method;
ALTER TABLE participants DROP COLUMN consent_guardian_id;

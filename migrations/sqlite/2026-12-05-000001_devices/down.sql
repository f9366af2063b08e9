ALTER TABLE audit_events DROP COLUMN device_id;
ALTER TABLE attendance_changes DROP COLUMN device_id;
ALTER TABLE attendance_marks DROP COLUMN device_id;
DROP TABLE pairing_failures;
DROP TABLE devices;

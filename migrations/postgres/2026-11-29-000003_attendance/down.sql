DROP TABLE check_in_failures;
DROP TABLE check_in_codes;
DROP TABLE offline_marks;
DROP TABLE attendance_changes;
DROP TABLE attendance_marks;

-- A guardian's consent to processing a child's personal data (Decree
-- 13/2023/NĐ-CP, Art. 20), on the child's profile: which guardian gave it,
-- how, who recorded it and when, and when it was withdrawn. The profile
-- holds the latest consent; the audit trail records each change of these
-- columns (the guardian's id and the recorder's redacted).
ALTER TABLE participants ADD COLUMN consent_guardian_id TEXT REFERENCES participants (id);
ALTER TABLE participants ADD COLUMN consent_method TEXT CHECK (consent_method IN ('paper', 'sms', 'in_app'));
ALTER TABLE participants ADD COLUMN consent_recorded_by TEXT REFERENCES users (id);
ALTER TABLE participants ADD COLUMN consent_recorded_at TIMESTAMP;
ALTER TABLE participants ADD COLUMN consent_withdrawn_at TIMESTAMP;

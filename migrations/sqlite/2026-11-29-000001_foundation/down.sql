DROP TABLE login_attempts;
DROP TABLE refresh_tokens;
DROP TABLE login_sessions;
DROP TABLE participants;
DROP TABLE users;
DROP TABLE organizations;
DROP TABLE app_settings;

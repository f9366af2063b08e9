//! The integration tests: one binary, each test against a freshly started
//! application and a fresh database (SQLite by default, PostgreSQL when
//! `TEST_DATABASE_URL` is set).

mod attendance;
mod audit;
mod auth;
mod calendars;
mod catalog;
mod consent;
mod conventions;
mod demo;
mod devices;
mod enrolments;
mod errors;
mod helpers;
mod imports;
mod notifications;
mod operations;
mod organizations;
mod participants;
mod province;
mod receivers;
mod reports;
mod retries;
mod rosters;
mod sign_in_sheet;
mod users;

//! lophoc: the API behind a commune learning centre's internet-skills
//! classes. See README.md for the architecture.

pub mod access;
pub mod attendance;
pub mod audit;
pub mod auth;
pub mod bootstrap;
pub mod config;
pub mod courses;
pub mod crypto;
pub mod db;
pub mod demo;
pub mod enrolments;
pub mod error;
pub mod health;
pub mod http;
pub mod id;
pub mod idempotency;
pub mod lang;
pub mod local_time;
pub mod openapi;
pub mod operations;
pub mod organizations;
pub mod paging;
pub mod participants;
pub mod programmes;
pub mod reports;
pub mod routes;
pub mod rows;
pub mod sessions;
pub mod sheets;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod users;
pub mod validation;
pub mod vocab;

//! Enrolments: a participant's place in a session (enrolled, waitlisted or
//! cancelled), with the capacity, waitlist and refusal rules.

pub mod api;
pub mod model;
pub mod views;

pub use model::Enrolment;

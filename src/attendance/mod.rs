//! Attendance: trainers' roll-call, self check-in with a short code,
//! walk-ins, offline batches from trainers' phones, and the history of
//! every mark.

pub mod api;
pub mod model;
pub mod sheet;
pub mod views;

pub use model::AttendanceMark;

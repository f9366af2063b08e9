//! Sessions: one meeting of a course, at a time and place, with trainers,
//! a capacity and an enrolment window.

pub mod api;
pub mod model;
pub mod views;

pub use model::Session;

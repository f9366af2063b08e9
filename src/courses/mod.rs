//! Courses: what is taught (searching, judging and using information on the
//! internet safely), for which audiences, optionally under a programme.

pub mod api;
pub mod model;

pub use model::Course;

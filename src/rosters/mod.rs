//! Trainers' offline rosters: the sessions they teach in the coming days,
//! with places and marks, whole or as the changes since the last download.

pub mod api;
pub mod model;

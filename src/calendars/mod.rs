//! Calendars: the sessions a person attends or teaches, as iCalendar files
//! and a secret feed that a phone's calendar subscribes to.

pub mod api;
pub mod ics;
pub mod model;

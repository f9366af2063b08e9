//! The outbox of events that people and other systems hear about (see
//! `model`); `notify` delivers them.

pub mod model;

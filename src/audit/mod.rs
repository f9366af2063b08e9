//! The audit trail: every write through the API appends who made it, when,
//! to which entity, and what changed, in the same transaction as the write.

pub mod api;
pub mod model;

pub use model::{Action, Actor, EntityType, FieldChange, record};

//! People who attend classes. A profile is separate from a login account:
//! many participants have none, and a profile may be linked to one.

pub mod api;
pub mod consent;
pub mod imports;
pub mod model;
pub mod search;

pub use model::Participant;

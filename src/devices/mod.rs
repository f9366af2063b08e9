//! Trainers' devices: pairing a hall's tablet without a password, and the
//! token it then works with.

pub mod api;
pub mod model;
pub mod scope;

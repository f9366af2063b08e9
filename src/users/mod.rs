//! Login accounts: their roles, and admin management of them.

pub mod api;
pub mod model;

pub use model::User;

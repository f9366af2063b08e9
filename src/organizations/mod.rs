//! Units: schools, hamlets, agencies, associations and enterprises that
//! take part, each with coordinators and participants.

pub mod api;
pub mod model;

pub use model::Organization;

//! Webhooks: other systems (a district's, a province's) subscribe to
//! events and get each one as a signed `POST`.

pub mod address;
pub mod api;
pub mod model;
pub mod send;

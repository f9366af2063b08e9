//! Programmes: campaigns such as the commune's Lifelong Learning Week, under
//! which courses fall.

pub mod api;
pub mod model;

pub use model::Programme;

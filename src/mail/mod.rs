//! Email to participants, or their guardians: what each event says
//! (`compose`), the messages waiting to go (`model`), and SMTP (`smtp`).

pub mod compose;
pub mod model;
pub mod smtp;

//! Work that spans resources: each operation changes the tables of more
//! than one model, in the order the models' locks require, and owns that
//! order. Every function takes the caller's connection and runs in the
//! write transaction it is given, so that what it does commits or rolls
//! back with the rest of the request.
//!
//! Models below write only their own tables (and the audit trail);
//! handlers above call an operation when a request reaches further.

pub mod accounts;
pub mod imports;
pub mod people;
pub mod sessions;
pub mod walk_ins;

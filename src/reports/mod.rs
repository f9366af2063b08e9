//! Statistics and exports (PRODUCT.md, "Statistics and exports"): the
//! figures every unit reports, as JSON, CSV or XLSX, and every enrolment as
//! a file. Both are computed in the database, and limited to the caller's
//! reach in one place ([`filter::ReportFilter::for_caller`]).

pub mod api;
pub mod cache;
pub mod export;
pub mod export_turns;
pub mod filter;
mod sql;
pub mod stats;

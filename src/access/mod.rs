//! Who may see and do what: the one place that decides it (PRODUCT.md,
//! "People and roles" and "Privacy and access").
//!
//! - [`ParticipantScope`]: which profiles a caller sees and changes, and
//!   where they may put new ones; lists and single reads go through it.
//! - [`check_marker`], [`corrects_marks`], [`Marker`], [`roster_unit`],
//!   [`sees_place_in`]: who takes a session's roll-call (in person or on a
//!   paired device), who corrects marks after its window, and who sees
//!   which rows of its roster.
//! - [`enrolment_source`]: who may enrol people, and how it is recorded.
//! - [`report_unit`]: who reads statistics and exports, for which unit.
//!
//! What a caller may not see answers 404, as if it did not exist; what
//! they see but may not do answers 403. Handlers name the role they need
//! with the extractors of [`crate::auth`] (`Admin`, `Enroller`,
//! `ReportReader`), which ask these rules.

mod classes;
mod profiles;
mod reports;

pub use classes::{
    MARKING_ROLES, Marker, check_marker, corrects_marks, enrolment_source, roster_unit,
    sees_place_in, takes_roll_calls,
};
pub use profiles::{EligibilityFields, ParticipantScope, Placement, linked_profile};
pub use reports::report_unit;

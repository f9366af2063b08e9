//! The product's closed vocabularies: roles, audiences, statuses, sources
//! and kinds, each a set of lowercase codes that travel in JSON and are
//! stored as TEXT, with the words files show for them ([`Label`]). A leaf:
//! every other module may use these, and they use none of the resources.

mod classes;
mod labels;
mod people;
pub(crate) mod text_enum;
mod units;

pub use classes::{AttendanceStatus, EnrolmentSource, EnrolmentStatus, MarkSource, SessionStatus};
pub use labels::Label;
pub use people::{Category, ConsentMethod, Gender, Role};
pub use units::OrganizationKind;

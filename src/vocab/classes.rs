//! The states of a class and of the people in it: a session's status, a
//! place's status and who made it, an attendance mark and how it came.

use super::text_enum::{text_conversions, text_enum};

text_enum! {
    pub enum SessionStatus {
        Scheduled => "scheduled",
        Cancelled => "cancelled",
        Completed => "completed",
    }
}

text_enum! {
    pub enum EnrolmentStatus {
        Enrolled => "enrolled",
        Waitlisted => "waitlisted",
        Cancelled => "cancelled",
    }
}

/// Who made an enrolment: the participant (or their guardian), a
/// coordinator, an admin, a trainer adding a walk-in, or an import.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    utoipa::ToSchema,
    diesel::deserialize::FromSqlRow,
    diesel::expression::AsExpression,
)]
#[diesel(sql_type = diesel::sql_types::Text)]
#[serde(rename_all = "snake_case")]
pub enum EnrolmentSource {
    #[serde(rename = "self")]
    SelfService,
    Coordinator,
    Admin,
    WalkIn,
    Import,
}

text_conversions!(EnrolmentSource {
    SelfService => "self",
    Coordinator => "coordinator",
    Admin => "admin",
    WalkIn => "walk_in",
    Import => "import",
});

text_enum! {
    pub enum AttendanceStatus {
        Present => "present",
        Late => "late",
        Excused => "excused",
        Absent => "absent",
    }
}

text_enum! {
    pub enum MarkSource {
        Trainer => "trainer",
        SelfCheckIn => "self_check_in",
        OfflineSync => "offline_sync",
    }
}

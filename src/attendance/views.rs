//! How a mark appears in answers, here and in a person's own places.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::AttendanceMark;
use crate::http::utc::utc;
use crate::id::Id;
use crate::vocab::{AttendanceStatus, MarkSource};

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MarkResponse {
    pub enrolment_id: Id,
    pub participant_id: Id,
    pub status: AttendanceStatus,
    #[schema(required = true)]
    pub note: Option<String>,
    pub source: MarkSource,
    /// The account that marked it.
    #[schema(required = true)]
    pub marked_by: Option<Id>,
    /// The paired device it was marked on; `null` for anything else.
    #[schema(required = true)]
    pub device_id: Option<Id>,
    /// When the mark was taken (on a trainer's phone, for offline marks).
    #[serde(serialize_with = "utc")]
    pub recorded_at: DateTime<Utc>,
    /// When the server stored it.
    #[serde(serialize_with = "utc")]
    pub marked_at: DateTime<Utc>,
}

impl From<AttendanceMark> for MarkResponse {
    fn from(m: AttendanceMark) -> Self {
        Self {
            enrolment_id: m.enrolment_id,
            participant_id: m.participant_id,
            status: m.status,
            note: m.note,
            source: m.source,
            marked_by: m.marked_by,
            device_id: m.device_id,
            recorded_at: m.recorded_at.and_utc(),
            marked_at: m.marked_at.and_utc(),
        }
    }
}

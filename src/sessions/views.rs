//! How a session appears inside other answers: a person's places, a
//! trainer's offline rosters.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::model::SessionOutline;
use crate::http::utc::utc;
use crate::id::Id;
use crate::vocab::SessionStatus;

/// A session in outline: its course, time, venue and status.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SessionSummary {
    pub id: Id,
    pub course_id: Id,
    pub course_title: String,
    #[serde(serialize_with = "utc")]
    pub starts_at: DateTime<Utc>,
    #[serde(serialize_with = "utc")]
    pub ends_at: DateTime<Utc>,
    pub venue: String,
    pub status: SessionStatus,
}

impl From<SessionOutline> for SessionSummary {
    fn from(s: SessionOutline) -> Self {
        Self {
            id: s.id,
            course_id: s.course_id,
            course_title: s.course_title,
            starts_at: s.starts_at.and_utc(),
            ends_at: s.ends_at.and_utc(),
            venue: s.venue,
            status: s.status,
        }
    }
}

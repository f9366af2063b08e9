//! How places and their people appear in answers, here and in the
//! attendance endpoints (a walk-in's place).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::Enrolment;
use crate::http::utc::{utc, utc_or_null};
use crate::id::Id;
use crate::participants::Participant;
use crate::vocab::{Category, EnrolmentSource, EnrolmentStatus};

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EnrolmentResponse {
    pub id: Id,
    pub session_id: Id,
    pub participant_id: Id,
    pub status: EnrolmentStatus,
    /// 1, 2, 3 … while waitlisted; `null` otherwise.
    #[schema(required = true)]
    pub waitlist_position: Option<i32>,
    pub source: EnrolmentSource,
    /// The account that made it.
    #[schema(required = true)]
    pub created_by: Option<Id>,
    #[serde(serialize_with = "utc")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "utc")]
    pub updated_at: DateTime<Utc>,
    #[schema(required = true)]
    #[serde(serialize_with = "utc_or_null")]
    pub cancelled_at: Option<DateTime<Utc>>,
}

impl From<Enrolment> for EnrolmentResponse {
    fn from(e: Enrolment) -> Self {
        Self {
            id: e.id,
            session_id: e.session_id,
            participant_id: e.participant_id,
            status: e.status,
            waitlist_position: e.waitlist_position,
            source: e.source,
            created_by: e.created_by,
            created_at: e.created_at.and_utc(),
            updated_at: e.updated_at.and_utc(),
            cancelled_at: e.cancelled_at.map(|t| t.and_utc()),
        }
    }
}

/// Who holds a place, as a roster shows them to trainers too: name,
/// category and unit only.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct RosterPerson {
    pub id: Id,
    pub full_name: String,
    pub category: Category,
    #[schema(required = true)]
    pub organization_id: Option<Id>,
}

impl From<Participant> for RosterPerson {
    fn from(p: Participant) -> Self {
        Self {
            id: p.id,
            full_name: p.full_name,
            category: p.category,
            organization_id: p.organization_id,
        }
    }
}

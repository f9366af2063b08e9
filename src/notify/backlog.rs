//! What waits to be told, for `/health/ready` and `/metrics`.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::QueryResult;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::DbConnection;
use crate::http::utc::utc_or_null;
use crate::mail::model as mail;
use crate::outbox::model as outbox;
use crate::webhooks::model as webhooks;

/// What waits to be told: events due and not yet fanned out, webhook
/// deliveries and emails not yet sent, each with the oldest's time.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Backlog {
    pub events: i64,
    /// When the oldest waiting event fell due.
    #[serde(serialize_with = "utc_or_null")]
    #[schema(required = true)]
    pub oldest_event_at: Option<DateTime<Utc>>,
    pub webhook_deliveries: i64,
    #[serde(serialize_with = "utc_or_null")]
    #[schema(required = true)]
    pub oldest_delivery_at: Option<DateTime<Utc>>,
    pub emails: i64,
    #[serde(serialize_with = "utc_or_null")]
    #[schema(required = true)]
    pub oldest_email_at: Option<DateTime<Utc>>,
}

pub fn backlog(conn: &mut DbConnection) -> QueryResult<Backlog> {
    let utc = |at: Option<NaiveDateTime>| at.map(|at| at.and_utc());
    let (events, oldest_event_at) = outbox::backlog(conn)?;
    let (webhook_deliveries, oldest_delivery_at) = webhooks::backlog(conn)?;
    let (emails, oldest_email_at) = mail::backlog(conn)?;
    Ok(Backlog {
        events,
        oldest_event_at: utc(oldest_event_at),
        webhook_deliveries,
        oldest_delivery_at: utc(oldest_delivery_at),
        emails,
        oldest_email_at: utc(oldest_email_at),
    })
}

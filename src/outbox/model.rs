//! The outbox: each event that someone should hear about is written here
//! in the transaction of the change that causes it, so that a change rolled
//! back announces nothing and one committed is never lost. A dispatcher
//! (`notify::dispatcher`) claims due events, turns each into the webhook
//! deliveries and emails it makes, and deletes it in one transaction.
//!
//! An event's `data` carries ids and the facts of the change, never names
//! or contact details: it travels to other systems as it is.

use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::schema::outbox_events;
use crate::db::{self, DbConnection};
use crate::id::Id;
use crate::vocab::text_enum::text_conversions;
use crate::vocab::{AttendanceStatus, EnrolmentStatus, SessionStatus};

/// How long before a session its reminder goes out.
pub const REMINDER_BEFORE_START: TimeDelta = TimeDelta::hours(24);

/// How long a webhook delivery or an email claimed by a server is left to
/// it before another may try: twice what a try may take (a receiver's
/// answer within 10 seconds; an email within 30), and a claim holds only
/// what goes at once (`notify::dispatcher`).
pub const CLAIM_LEASE: TimeDelta = TimeDelta::seconds(60);

/// What happened. A webhook subscribes to some of these.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    ToSchema,
    diesel::deserialize::FromSqlRow,
    diesel::expression::AsExpression,
)]
#[diesel(sql_type = diesel::sql_types::Text)]
pub enum EventType {
    /// A person got a seat.
    #[serde(rename = "enrolment.created")]
    EnrolmentCreated,
    /// A person joined the waitlist.
    #[serde(rename = "enrolment.waitlisted")]
    EnrolmentWaitlisted,
    /// A waitlisted person moved into a seat.
    #[serde(rename = "enrolment.promoted")]
    EnrolmentPromoted,
    /// A place was cancelled: by its person, for them, or with its session.
    #[serde(rename = "enrolment.cancelled")]
    EnrolmentCancelled,
    /// A session's time or venue changed.
    #[serde(rename = "session.changed")]
    SessionChanged,
    #[serde(rename = "session.cancelled")]
    SessionCancelled,
    /// 24 hours before a session starts.
    #[serde(rename = "session.reminder")]
    SessionReminder,
    /// An attendance mark was recorded or changed.
    #[serde(rename = "attendance.marked")]
    AttendanceMarked,
}

text_conversions!(EventType {
    EnrolmentCreated => "enrolment.created",
    EnrolmentWaitlisted => "enrolment.waitlisted",
    EnrolmentPromoted => "enrolment.promoted",
    EnrolmentCancelled => "enrolment.cancelled",
    SessionChanged => "session.changed",
    SessionCancelled => "session.cancelled",
    SessionReminder => "session.reminder",
    AttendanceMarked => "attendance.marked",
});

/// The `data` of an `enrolment.*` event: the place as it is after the
/// change.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PlaceData {
    pub enrolment_id: Id,
    pub session_id: Id,
    pub participant_id: Id,
    pub status: EnrolmentStatus,
    /// 1, 2, 3 … on the waitlist; `null` otherwise.
    pub waitlist_position: Option<i32>,
}

/// A session's time and place.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SessionPlan {
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub venue: String,
}

/// The `data` of a `session.*` event: the session as it is after the
/// change, and, for `session.changed`, its time and place before.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SessionData {
    pub session_id: Id,
    pub course_id: Id,
    pub status: SessionStatus,
    #[serde(flatten)]
    pub plan: SessionPlan,
    pub previous: Option<SessionPlan>,
}

/// The `data` of an `attendance.marked` event.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MarkData {
    pub enrolment_id: Id,
    pub session_id: Id,
    pub participant_id: Id,
    pub status: AttendanceStatus,
}

/// An event's `data`, one shape per kind of event.
#[derive(Clone, Debug, PartialEq)]
pub enum EventData {
    Place(PlaceData),
    Session(SessionData),
    Mark(MarkData),
}

impl EventData {
    fn session_id(&self) -> Id {
        match self {
            Self::Place(place) => place.session_id,
            Self::Session(session) => session.session_id,
            Self::Mark(mark) => mark.session_id,
        }
    }

    fn to_json(&self) -> String {
        let json = match self {
            Self::Place(place) => serde_json::to_string(place),
            Self::Session(session) => serde_json::to_string(session),
            Self::Mark(mark) => serde_json::to_string(mark),
        };
        // Plain structs of ids, enums, times and text always serialize.
        json.unwrap_or_default()
    }

    /// Reads back what [`EventData::to_json`] wrote for an event of `kind`.
    pub fn parse(kind: EventType, json: &str) -> serde_json::Result<Self> {
        Ok(match kind {
            EventType::EnrolmentCreated
            | EventType::EnrolmentWaitlisted
            | EventType::EnrolmentPromoted
            | EventType::EnrolmentCancelled => Self::Place(serde_json::from_str(json)?),
            EventType::SessionChanged
            | EventType::SessionCancelled
            | EventType::SessionReminder => Self::Session(serde_json::from_str(json)?),
            EventType::AttendanceMarked => Self::Mark(serde_json::from_str(json)?),
        })
    }
}

/// An event waiting to be fanned out.
#[derive(Clone, Debug, Queryable, Insertable)]
#[diesel(table_name = outbox_events)]
pub struct OutboxEvent {
    pub id: Id,
    pub event_type: EventType,
    pub occurred_at: NaiveDateTime,
    pub due_at: NaiveDateTime,
    pub session_id: Option<Id>,
    pub data: String,
}

impl OutboxEvent {
    /// A reminder taken only after its session started (its dispatcher
    /// was away): too late to remind anyone.
    pub fn is_late_reminder(&self, data: &EventData) -> bool {
        matches!(data, EventData::Session(session)
            if self.event_type == EventType::SessionReminder
                && session.plan.starts_at.naive_utc() <= db::now())
    }
}

/// Writes an event due now. Call inside the transaction of the change.
pub fn record(conn: &mut DbConnection, kind: EventType, data: &EventData) -> QueryResult<()> {
    let now = db::now();
    insert(conn, kind, data, now, now)
}

fn insert(
    conn: &mut DbConnection,
    kind: EventType,
    data: &EventData,
    occurred_at: NaiveDateTime,
    due_at: NaiveDateTime,
) -> QueryResult<()> {
    let event = OutboxEvent {
        id: Id::new(),
        event_type: kind,
        occurred_at,
        due_at,
        session_id: Some(data.session_id()),
        data: data.to_json(),
    };
    diesel::insert_into(outbox_events::table).values(&event).execute(conn).map(drop)
}

/// Schedules the session's reminder for 24 hours before it starts, in
/// place of any it had: a session that moves takes its reminder along. A
/// session that starts sooner than that gets none (its people heard of it
/// when they enrolled). Call inside the transaction that writes the session.
pub fn schedule_reminder(conn: &mut DbConnection, session: &SessionData) -> QueryResult<()> {
    cancel_reminder(conn, session.session_id)?;
    let due_at = (session.plan.starts_at - REMINDER_BEFORE_START).naive_utc();
    let now = db::now();
    if due_at <= now {
        return Ok(());
    }
    let reminder = SessionData { previous: None, ..session.clone() };
    // It happens when it falls due, as its `occurred_at` says.
    insert(conn, EventType::SessionReminder, &EventData::Session(reminder), due_at, due_at)
}

/// Drops the session's reminder not yet sent, if any.
pub fn cancel_reminder(conn: &mut DbConnection, session_id: Id) -> QueryResult<()> {
    diesel::delete(
        outbox_events::table
            .filter(outbox_events::session_id.eq(session_id))
            .filter(outbox_events::event_type.eq(EventType::SessionReminder)),
    )
    .execute(conn)
    .map(drop)
}

/// Drops every event of these sessions not yet fanned out (the demo's).
pub fn discard_for_sessions(conn: &mut DbConnection, session_ids: &[Id]) -> QueryResult<()> {
    diesel::delete(outbox_events::table.filter(outbox_events::session_id.eq_any(session_ids)))
        .execute(conn)
        .map(drop)
}

/// Up to `limit` events due by now, oldest first, for the caller's write
/// transaction to fan out and [`remove`]. On PostgreSQL the rows are
/// locked, and rows another server has locked are skipped: two servers
/// never take the same event. On SQLite the write transaction already
/// admits one writer.
pub fn claim_due(conn: &mut DbConnection, limit: i64) -> QueryResult<Vec<OutboxEvent>> {
    let due = outbox_events::table
        .filter(outbox_events::due_at.le(db::now()))
        .order((outbox_events::due_at.asc(), outbox_events::id.asc()))
        .limit(limit);
    match conn {
        DbConnection::Sqlite(inner) => due.load(inner),
        DbConnection::Postgresql(inner) => due.for_update().skip_locked().load(inner),
    }
}

/// Whether any event is due: a read, so that an idle dispatcher takes no
/// write lock.
pub fn any_due(conn: &mut DbConnection) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        outbox_events::table.filter(outbox_events::due_at.le(db::now())),
    ))
    .get_result(conn)
}

/// Deletes events once fanned out; how many went.
pub fn remove(conn: &mut DbConnection, ids: &[Id]) -> QueryResult<usize> {
    diesel::delete(outbox_events::table.filter(outbox_events::id.eq_any(ids))).execute(conn)
}

/// Events due and not yet fanned out, and when the oldest of them fell due.
pub fn backlog(conn: &mut DbConnection) -> QueryResult<(i64, Option<NaiveDateTime>)> {
    outbox_events::table
        .filter(outbox_events::due_at.le(db::now()))
        .select((diesel::dsl::count_star(), diesel::dsl::min(outbox_events::due_at)))
        .first(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reminder_is_late_once_its_session_started() {
        let session = |starts_in: TimeDelta| SessionData {
            session_id: Id::new(),
            course_id: Id::new(),
            status: SessionStatus::Scheduled,
            plan: SessionPlan {
                starts_at: (db::now() + starts_in).and_utc(),
                ends_at: (db::now() + starts_in + TimeDelta::hours(2)).and_utc(),
                venue: "Hội trường xã".into(),
            },
            previous: None,
        };
        let event = |kind, data: &EventData| OutboxEvent {
            id: Id::new(),
            event_type: kind,
            occurred_at: db::now(),
            due_at: db::now(),
            session_id: None,
            data: data.to_json(),
        };
        let started = EventData::Session(session(-TimeDelta::minutes(5)));
        let coming = EventData::Session(session(TimeDelta::hours(24)));
        assert!(event(EventType::SessionReminder, &started).is_late_reminder(&started));
        assert!(!event(EventType::SessionReminder, &coming).is_late_reminder(&coming));
        assert!(!event(EventType::SessionChanged, &started).is_late_reminder(&started));
        // What is written reads back the same.
        let json = event(EventType::SessionReminder, &coming).data;
        assert_eq!(EventData::parse(EventType::SessionReminder, &json).unwrap(), coming);
    }
}

use std::collections::HashMap;

use chrono::NaiveDateTime;
use chrono_tz::Tz;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, QueryFragment};
use serde::Serialize;

use crate::audit::{self, Action, Actor, EntityType, FieldChange};
use crate::auth::logins::holds_live_session;
use crate::db::schema::{courses, session_trainers, sessions, users};
use crate::db::{self, DbBackend, DbConnection, settings};
use crate::error::{AppError, Conflict, FieldIssue};
use crate::id::Id;
use crate::local_time::local_day;
use crate::on_own_connection;
use crate::outbox::model::{self as outbox, EventData, EventType, SessionData, SessionPlan};
use crate::paging::{PageRequest, Paged};
use crate::validation::Validator;
use crate::vocab::{Category, Role, SessionStatus};

/// A session as stored. `enrolled_count` and `waitlisted_count` belong to
/// the enrolment transactions: nothing here writes them.
/// Its `local_day` column is not here: it follows from `starts_at` and the
/// configured zone, and is written beside the session (see [`create`]).
#[derive(Clone, Debug, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = sessions, treat_none_as_default_value = false)]
pub struct Session {
    pub id: Id,
    pub course_id: Id,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    pub venue: String,
    pub capacity: i32,
    pub status: SessionStatus,
    pub enrolment_opens_at: Option<NaiveDateTime>,
    pub enrolment_closes_at: Option<NaiveDateTime>,
    /// `None`: the course's target categories.
    pub eligible_categories: Option<String>,
    pub waitlist: bool,
    #[serde(skip)]
    pub enrolled_count: i32,
    #[serde(skip)]
    pub waitlisted_count: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// What a change to a session writes: every planned field, never the
/// enrolment counters.
#[derive(AsChangeset)]
#[diesel(table_name = sessions, treat_none_as_null = true)]
struct SessionChanges<'a> {
    course_id: Id,
    starts_at: NaiveDateTime,
    ends_at: NaiveDateTime,
    venue: &'a str,
    capacity: i32,
    status: SessionStatus,
    enrolment_opens_at: Option<NaiveDateTime>,
    enrolment_closes_at: Option<NaiveDateTime>,
    eligible_categories: Option<&'a str>,
    waitlist: bool,
    updated_at: NaiveDateTime,
}

impl<'a> From<&'a Session> for SessionChanges<'a> {
    fn from(s: &'a Session) -> Self {
        Self {
            course_id: s.course_id,
            starts_at: s.starts_at,
            ends_at: s.ends_at,
            venue: &s.venue,
            capacity: s.capacity,
            status: s.status,
            enrolment_opens_at: s.enrolment_opens_at,
            enrolment_closes_at: s.enrolment_closes_at,
            eligible_categories: s.eligible_categories.as_deref(),
            waitlist: s.waitlist,
            updated_at: s.updated_at,
        }
    }
}

/// A session with what a reader needs from elsewhere: its trainers, and
/// from its course the programme and the default eligible categories.
#[derive(Clone, Debug)]
pub struct SessionDetails {
    pub session: Session,
    pub trainer_ids: Vec<Id>,
    pub programme_id: Option<Id>,
    pub course_targets: String,
}

impl SessionDetails {
    /// The categories that may enrol: the session's own, or its course's.
    pub fn eligible_categories(&self) -> Vec<Category> {
        Category::split(self.session.eligible_categories.as_deref().unwrap_or(&self.course_targets))
    }

    pub fn seats_left(&self) -> i32 {
        (self.session.capacity - self.session.enrolled_count).max(0)
    }
}

/// The rules a session keeps on its own fields: it ends after it starts,
/// and its enrolment window closes after it opens.
fn check(session: &Session) -> Result<(), AppError> {
    let mut v = Validator::new();
    if session.ends_at <= session.starts_at {
        v.add("ends_at", FieldIssue::NotAfter("starts_at"));
    }
    if let (Some(opens), Some(closes)) = (session.enrolment_opens_at, session.enrolment_closes_at)
        && closes <= opens
    {
        v.add("enrolment_closes_at", FieldIssue::NotAfter("enrolment_opens_at"));
    }
    v.finish()
}

/// The course's programme and target categories, or 422 on `course_id`.
fn course_of(conn: &mut DbConnection, course_id: Id) -> Result<(Option<Id>, String), AppError> {
    courses::table
        .find(course_id)
        .select((courses::programme_id, courses::target_categories))
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::validation("course_id", FieldIssue::UnknownReference))
}

/// Checks that every id names an active trainer's account (422 naming each
/// one that does not); gives them sorted, without duplicates, as they are
/// read back.
fn check_trainers(conn: &mut DbConnection, ids: &[Id]) -> Result<Vec<Id>, AppError> {
    let trainers: Vec<Id> = users::table
        .filter(users::id.eq_any(ids))
        .filter(users::role.eq(Role::Trainer))
        .filter(users::active.eq(true))
        .select(users::id)
        .load(conn)?;
    let mut v = Validator::new();
    let mut unique = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        if !trainers.contains(id) {
            v.add(&format!("trainer_ids[{i}]"), FieldIssue::NotATrainer);
        } else if !unique.contains(id) {
            unique.push(*id);
        }
    }
    v.finish()?;
    unique.sort();
    Ok(unique)
}

fn set_trainers(conn: &mut DbConnection, session_id: Id, ids: &[Id]) -> QueryResult<()> {
    diesel::delete(session_trainers::table.filter(session_trainers::session_id.eq(session_id)))
        .execute(conn)?;
    // One row at a time: multi-row inserts do not compile through the
    // MultiConnection enum, and a session has few trainers.
    for id in ids {
        diesel::insert_into(session_trainers::table)
            .values((session_trainers::session_id.eq(session_id), session_trainers::user_id.eq(id)))
            .execute(conn)?;
    }
    Ok(())
}

/// How the audit trail sees a session: its planned fields and trainers.
fn snapshot(session: &Session, trainer_ids: &[Id]) -> serde_json::Value {
    let mut value = serde_json::to_value(session).unwrap_or_default();
    value["trainer_ids"] = serde_json::json!(trainer_ids);
    value
}

/// Adds a session, with the day it falls on in `zone` (see
/// [`fill_local_days`]).
pub fn create(
    conn: &mut DbConnection,
    actor: &Actor,
    session: Session,
    trainer_ids: &[Id],
    zone: Tz,
) -> Result<SessionDetails, AppError> {
    check(&session)?;
    let (programme_id, course_targets) = course_of(conn, session.course_id)?;
    let trainer_ids = check_trainers(conn, trainer_ids)?;
    let local_day = sessions::local_day.eq(local_day(session.starts_at, zone));
    diesel::insert_into(sessions::table).values((&session, local_day)).execute(conn)?;
    set_trainers(conn, session.id, &trainer_ids)?;
    let changes = FieldChange::diff(None::<&()>, &snapshot(&session, &trainer_ids), &[]);
    audit::record(conn, actor, Action::Create, EntityType::Session, session.id, changes)?;
    if session.status != SessionStatus::Cancelled {
        outbox::schedule_reminder(conn, &event_data(&session, None))?;
    }
    Ok(SessionDetails { session, trainer_ids, programme_id, course_targets })
}

/// A change to a session; `None` leaves a field as it is, `Some(None)`
/// clears a nullable one (for `eligible_categories`: back to the course's).
#[derive(Debug, Default)]
pub struct SessionUpdate {
    pub course_id: Option<Id>,
    pub starts_at: Option<NaiveDateTime>,
    pub ends_at: Option<NaiveDateTime>,
    pub venue: Option<String>,
    pub capacity: Option<i32>,
    pub status: Option<SessionStatus>,
    pub enrolment_opens_at: Option<Option<NaiveDateTime>>,
    pub enrolment_closes_at: Option<Option<NaiveDateTime>>,
    pub eligible_categories: Option<Option<String>>,
    pub waitlist: Option<bool>,
    pub trainer_ids: Option<Vec<Id>>,
}

/// A session before and after a change.
pub struct SessionChanged {
    pub before: Session,
    pub after: SessionDetails,
}

/// Changes a session. The row is locked first, so that two changes cannot
/// undo each other. A lowered capacity may not drop below the places
/// already taken: the update itself carries that condition. What a change means
/// for the places (a cancelled session's, new seats for people waiting) is
/// [`crate::operations::sessions::change_session`]'s, under this lock.
pub fn update(
    conn: &mut DbConnection,
    actor: &Actor,
    id: Id,
    expected: impl FnOnce(&mut DbConnection, &SessionDetails) -> Result<(), AppError>,
    update: SessionUpdate,
    zone: Tz,
) -> Result<SessionChanged, AppError> {
    db::lock_row(conn, db::Table::Sessions, id)?;
    let current = find(conn, id)?.ok_or(AppError::NotFound)?;
    expected(conn, &current)?;
    let mut next = current.session.clone();
    next.course_id = update.course_id.unwrap_or(next.course_id);
    next.starts_at = update.starts_at.unwrap_or(next.starts_at);
    next.ends_at = update.ends_at.unwrap_or(next.ends_at);
    next.venue = update.venue.unwrap_or(next.venue);
    next.capacity = update.capacity.unwrap_or(next.capacity);
    next.status = update.status.unwrap_or(next.status);
    next.waitlist = update.waitlist.unwrap_or(next.waitlist);
    if let Some(opens) = update.enrolment_opens_at {
        next.enrolment_opens_at = opens;
    }
    if let Some(closes) = update.enrolment_closes_at {
        next.enrolment_closes_at = closes;
    }
    if let Some(categories) = update.eligible_categories {
        next.eligible_categories = categories;
    }
    check(&next)?;
    course_of(conn, next.course_id)?;
    let trainer_ids = match update.trainer_ids {
        Some(ids) => check_trainers(conn, &ids)?,
        None => current.trainer_ids.clone(),
    };
    let changes = FieldChange::diff(
        Some(&snapshot(&current.session, &current.trainer_ids)),
        &snapshot(&next, &trainer_ids),
        &[],
    );
    if changes.is_empty() {
        return Ok(SessionChanged { before: current.session.clone(), after: current });
    }
    next.updated_at = db::now();
    // Only a capacity lowered is held to the places taken: walk-ins fill a
    // session beyond its seats, and it must still move or be cancelled.
    let at_most = if next.capacity < current.session.capacity { next.capacity } else { i32::MAX };
    let written =
        diesel::update(sessions::table.find(id).filter(sessions::enrolled_count.le(at_most)))
            .set((
                SessionChanges::from(&next),
                sessions::local_day.eq(local_day(next.starts_at, zone)),
            ))
            .execute(conn)?;
    if written == 0 {
        return Err(AppError::Conflict(Conflict::CapacityBelowEnrolled));
    }
    if trainer_ids != current.trainer_ids {
        set_trainers(conn, id, &trainer_ids)?;
    }
    audit::record(conn, actor, Action::Update, EntityType::Session, id, changes)?;
    announce_change(conn, &current.session, &next)?;
    let after = find(conn, id)?.ok_or(AppError::NotFound)?;
    Ok(SessionChanged { before: current.session, after })
}

/// Writes the outbox events of a change to a session, and moves or drops
/// its reminder: `session.cancelled` when it is newly cancelled,
/// `session.changed` when its time or venue moved.
fn announce_change(conn: &mut DbConnection, before: &Session, after: &Session) -> QueryResult<()> {
    let was_cancelled = before.status == SessionStatus::Cancelled;
    if after.status == SessionStatus::Cancelled {
        if !was_cancelled {
            outbox::cancel_reminder(conn, after.id)?;
            let data = EventData::Session(event_data(after, None));
            outbox::record(conn, EventType::SessionCancelled, &data)?;
        }
        return Ok(());
    }
    let plan_before = plan(before);
    let moved = plan_before != plan(after);
    if moved {
        let data = EventData::Session(event_data(after, Some(plan_before)));
        outbox::record(conn, EventType::SessionChanged, &data)?;
    }
    // The reminder tells the time and place as they are when it is sent.
    if moved || was_cancelled {
        outbox::schedule_reminder(conn, &event_data(after, None))?;
    }
    Ok(())
}

fn plan(session: &Session) -> SessionPlan {
    SessionPlan {
        starts_at: session.starts_at.and_utc(),
        ends_at: session.ends_at.and_utc(),
        venue: session.venue.clone(),
    }
}

/// A session as its outbox events tell it.
fn event_data(session: &Session, previous: Option<SessionPlan>) -> SessionData {
    SessionData {
        session_id: session.id,
        course_id: session.course_id,
        status: session.status,
        plan: plan(session),
        previous,
    }
}

/// The `app_settings` key naming the zone that `sessions.local_day` was
/// computed in.
const LOCAL_DAY_ZONE: &str = "sessions_local_day_zone";

/// Brings every session's `local_day` into `zone`, once per database and
/// again whenever the configured zone changes (or when sessions written
/// before the column existed have none). Run at start-up, before serving:
/// every write after that stores the day with the session.
pub fn fill_local_days(conn: &mut DbConnection, zone: Tz) -> QueryResult<usize> {
    let in_zone = |conn: &mut DbConnection| {
        Ok::<_, diesel::result::Error>(
            settings::get(conn, LOCAL_DAY_ZONE)?.as_deref() == Some(zone.name()),
        )
    };
    // The usual start: nothing to do, and no write lock taken to see it.
    if in_zone(conn)? {
        return Ok(0);
    }
    db::write_transaction(conn, |conn| {
        // Two servers starting at once rewrite the days one after the other;
        // the second finds the work done.
        db::serialize_with_others(conn, db::LockKey::LocalDays)?;
        if in_zone(conn)? {
            return Ok(0);
        }
        let starts: Vec<(String, NaiveDateTime)> =
            sessions::table.select((sessions::id, sessions::starts_at)).load(conn)?;
        for (id, starts_at) in &starts {
            diesel::update(sessions::table.find(id))
                .set(sessions::local_day.eq(local_day(*starts_at, zone)))
                .execute(conn)?;
        }
        settings::put(conn, LOCAL_DAY_ZONE, zone.name())?;
        Ok(starts.len())
    })
}

#[derive(Debug, Default)]
pub struct SessionFilter {
    /// Sessions starting at or after this time.
    pub from: Option<NaiveDateTime>,
    /// Sessions starting before this time.
    pub to: Option<NaiveDateTime>,
    pub course_id: Option<Id>,
    pub programme_id: Option<Id>,
    pub trainer_id: Option<Id>,
    pub status: Option<SessionStatus>,
    /// `true`: only sessions with a free seat; `false`: only full ones.
    pub has_seats: Option<bool>,
}

// A read of one session is a query of a type known at compile time, so
// that diesel finds its prepared statement by that type, where a boxed one
// (the list's) is written out as SQL to be looked up by its text; and it
// runs on the backend's own connection (see `on_own_connection!`).

pub fn find(conn: &mut DbConnection, id: Id) -> QueryResult<Option<SessionDetails>> {
    let rows =
        on_own_connection!(conn, |conn| { with_details().filter(sessions::id.eq(id)).load(conn)? });
    Ok(details(rows)?.pop())
}

/// [`find`] for a caller whose login the same statement checks: `None`
/// also when the login has ended.
pub fn find_for(
    conn: &mut DbConnection,
    id: Id,
    caller: holds_live_session,
) -> QueryResult<Option<SessionDetails>> {
    let rows = on_own_connection!(conn, |conn| {
        with_details().filter(sessions::id.eq(id)).filter(caller).load(conn)?
    });
    Ok(details(rows)?.pop())
}

/// A page of sessions, for a caller whose login the same statement checks:
/// empty also when the login has ended.
pub fn list(
    conn: &mut DbConnection,
    filter: &SessionFilter,
    page: &PageRequest,
    caller: holds_live_session,
) -> QueryResult<Vec<SessionDetails>> {
    let mut query = with_details().into_boxed().filter(caller);
    if let Some(from) = filter.from {
        query = query.filter(sessions::starts_at.ge(from));
    }
    if let Some(to) = filter.to {
        query = query.filter(sessions::starts_at.lt(to));
    }
    if let Some(course) = filter.course_id {
        query = query.filter(sessions::course_id.eq(course));
    }
    if let Some(programme) = filter.programme_id {
        query = query.filter(courses::programme_id.eq(programme));
    }
    if let Some(trainer) = filter.trainer_id {
        query = query.filter(sessions::id.eq_any(taught_by(trainer)));
    }
    if let Some(status) = filter.status {
        query = query.filter(sessions::status.eq(status));
    }
    match filter.has_seats {
        Some(true) => query = query.filter(sessions::enrolled_count.lt(sessions::capacity)),
        Some(false) => query = query.filter(sessions::enrolled_count.ge(sessions::capacity)),
        None => {}
    }
    details(query.page(sessions::id, page).load(conn)?)
}

/// The ids of the sessions `trainer` teaches, as a subquery.
#[diesel::dsl::auto_type]
pub fn taught_by(trainer: Id) -> _ {
    session_trainers::table
        .filter(session_trainers::user_id.eq(trainer))
        .select(session_trainers::session_id)
}

/// The sessions `trainer` teaches that end after `from` and start before
/// `to`, by start time: what their offline rosters hold.
pub fn taught_between(
    conn: &mut DbConnection,
    trainer: Id,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> QueryResult<Vec<SessionDetails>> {
    let query = with_details()
        .into_boxed()
        .filter(sessions::id.eq_any(taught_by(trainer)))
        .filter(sessions::ends_at.gt(from))
        .filter(sessions::starts_at.lt(to))
        .order((sessions::starts_at.asc(), sessions::id.asc()));
    details(query.load(conn)?)
}

/// Sessions with their course's programme and targets and their trainers,
/// in one statement (see [`TrainerIds`]).
/// Its type does not depend on the backend, so that it runs on either
/// connection.
#[diesel::dsl::auto_type]
fn with_details() -> _ {
    let session: SessionColumns = <Session as Selectable<DbBackend>>::construct_selection();
    let trainers: TrainerIds = TrainerIds;
    sessions::table.inner_join(courses::table).select((
        session,
        courses::programme_id,
        courses::target_categories,
        trainers,
    ))
}

/// The columns of a [`Session`], the same on every backend.
type SessionColumns = <Session as Selectable<DbBackend>>::SelectExpression;

/// What [`with_details`] reads, as [`SessionDetails`].
fn details(
    rows: Vec<(Session, Option<Id>, String, Option<String>)>,
) -> QueryResult<Vec<SessionDetails>> {
    rows.into_iter()
        .map(|(session, programme_id, course_targets, trainers)| {
            let mut trainer_ids: Vec<Id> = match trainers {
                Some(ids) => db::split_lines(&ids)
                    .into_iter()
                    .map(str::parse)
                    .collect::<Result<_, _>>()
                    .map_err(|err| diesel::result::Error::DeserializationError(Box::new(err)))?,
                None => Vec::new(),
            };
            trainer_ids.sort_unstable();
            Ok(SessionDetails { session, trainer_ids, programme_id, course_targets })
        })
        .collect()
}

/// A session's trainers' ids, one per line, or NULL when it has none: a
/// subquery in the session's own row, so that a page of sessions and their
/// trainers is one statement. Each backend spells the aggregate its own way;
/// the order is set when the ids are read back.
#[derive(Clone, Copy, Debug, diesel::query_builder::QueryId)]
struct TrainerIds;

const TRAINER_IDS_PG: &str = "(SELECT string_agg(session_trainers.user_id, chr(10)) \
     FROM session_trainers WHERE session_trainers.session_id = sessions.id)";
const TRAINER_IDS_SQLITE: &str = "(SELECT group_concat(session_trainers.user_id, char(10)) \
     FROM session_trainers WHERE session_trainers.session_id = sessions.id)";

impl diesel::Expression for TrainerIds {
    type SqlType = diesel::sql_types::Nullable<diesel::sql_types::Text>;
}

impl<QS> diesel::AppearsOnTable<QS> for TrainerIds where sessions::id: diesel::AppearsOnTable<QS> {}

impl<QS> diesel::SelectableExpression<QS> for TrainerIds where
    sessions::id: diesel::SelectableExpression<QS>
{
}

impl diesel::expression::ValidGrouping<()> for TrainerIds {
    type IsAggregate = diesel::expression::is_aggregate::Never;
}

impl QueryFragment<diesel::pg::Pg> for TrainerIds {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, diesel::pg::Pg>) -> QueryResult<()> {
        out.push_sql(TRAINER_IDS_PG);
        Ok(())
    }
}

impl QueryFragment<diesel::sqlite::Sqlite> for TrainerIds {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, diesel::sqlite::Sqlite>) -> QueryResult<()> {
        out.push_sql(TRAINER_IDS_SQLITE);
        Ok(())
    }
}

impl QueryFragment<DbBackend> for TrainerIds {
    fn walk_ast<'b>(&'b self, out: AstPass<'_, 'b, DbBackend>) -> QueryResult<()> {
        DbBackend::walk_variant_ast(self, out)
    }
}

/// What a list of someone's places shows of each session.
#[derive(Clone, Debug, Queryable)]
pub struct SessionOutline {
    pub id: Id,
    pub course_id: Id,
    pub course_title: String,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    pub venue: String,
    pub status: SessionStatus,
}

/// The outlines of these sessions, by id.
pub fn outlines(conn: &mut DbConnection, ids: &[Id]) -> QueryResult<HashMap<Id, SessionOutline>> {
    let rows: Vec<SessionOutline> = sessions::table
        .inner_join(courses::table)
        .filter(sessions::id.eq_any(ids))
        .select((
            sessions::id,
            sessions::course_id,
            courses::title,
            sessions::starts_at,
            sessions::ends_at,
            sessions::venue,
            sessions::status,
        ))
        .load(conn)?;
    Ok(rows.into_iter().map(|row| (row.id, row)).collect())
}

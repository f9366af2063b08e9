//! Enrolling, cancelling and promoting from the waitlist.
//!
//! Why capacity holds under any concurrency, on each backend:
//! - Every change to a session's places runs in one write transaction that
//!   first locks the session's row ([`db::lock_row`]): on PostgreSQL with
//!   `SELECT … FOR UPDATE`, so that transactions on the same session run one
//!   after another under READ COMMITTED, each seeing the counts the previous
//!   one committed; on SQLite every write transaction is `BEGIN IMMEDIATE`,
//!   which already admits one writer at a time.
//! - The seat itself is taken by a guarded `UPDATE sessions SET
//!   enrolled_count = enrolled_count + 1 WHERE … AND enrolled_count <
//!   capacity`, in the same transaction as the insert: even without the lock
//!   no two transactions could both take the last seat.
//! - The person's row is locked next (sessions before people, always in that
//!   order, so that no two transactions wait on each other), so that two
//!   sessions at overlapping times cannot both be taken by one person.
//! - A partial unique index allows one active enrolment per person and
//!   session; the lock makes the second request find the first one's row.

use chrono::{NaiveDate, NaiveDateTime};
use chrono_tz::Tz;
use diesel::prelude::*;
use serde::Serialize;

use crate::access::ParticipantScope;
use crate::audit::{self, Action, Actor, EntityType, FieldChange};
use crate::config::Config;
use crate::db::schema::{enrolments, participants, sessions};
use crate::db::{self, DbConnection};
use crate::error::{AppError, Refusal};
use crate::id::Id;
use crate::local_time::local_day;
use crate::outbox::model::{self as outbox, EventData, EventType, PlaceData};
use crate::paging::{PageRequest, Paged};
use crate::participants::Participant;
use crate::sessions::model::SessionDetails;
use crate::vocab::{Category, EnrolmentSource, EnrolmentStatus, SessionStatus};

/// Students younger than this on the session's day need a guardian on
/// file, and, where consent is required, the guardian's consent.
const GUARDIAN_REQUIRED_UNDER: u32 = 16;

/// What enrolments are checked against beyond the session and the person:
/// the zone in which a session's day is counted, and whether a child's
/// place needs a guardian's consent on file (`LOPHOC_REQUIRE_CONSENT`).
#[derive(Clone, Copy, Debug)]
pub struct EnrolmentRules {
    pub zone: Tz,
    pub require_consent: bool,
}

impl EnrolmentRules {
    pub fn of(config: &Config) -> Self {
        Self { zone: config.timezone, require_consent: config.require_consent }
    }
}

#[derive(Clone, Debug, Queryable, Insertable, Serialize)]
#[diesel(table_name = enrolments, treat_none_as_default_value = false)]
pub struct Enrolment {
    pub id: Id,
    pub session_id: Id,
    pub participant_id: Id,
    pub status: EnrolmentStatus,
    /// 1, 2, 3 … among the session's waitlisted places; `None` otherwise.
    pub waitlist_position: Option<i32>,
    pub source: EnrolmentSource,
    pub created_by: Option<Id>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub cancelled_at: Option<NaiveDateTime>,
}

/// What an enrolment request ended in.
#[derive(Debug)]
pub enum EnrolOutcome {
    /// A new place, enrolled or waitlisted.
    Created(Enrolment),
    /// The person already held a place; nothing changed.
    AlreadyHeld(Enrolment),
}

/// Enrols a participant that `scope` lets the caller reach in a session,
/// or refuses with the reason. Call inside a write transaction: see the
/// module documentation for why the seats hold.
pub fn enrol(
    conn: &mut DbConnection,
    actor: &Actor,
    scope: &ParticipantScope,
    session_id: Id,
    participant_id: Id,
    source: EnrolmentSource,
    rules: EnrolmentRules,
) -> Result<EnrolOutcome, AppError> {
    db::lock_row(conn, db::Table::Sessions, session_id)?;
    let details = crate::sessions::model::find(conn, session_id)?.ok_or(AppError::NotFound)?;
    db::lock_row(conn, db::Table::Participants, participant_id)?;
    let participant = crate::participants::model::find_visible(conn, scope, participant_id)?
        .filter(|p| p.anonymized_at.is_none())
        .ok_or(AppError::Refused(Refusal::ParticipantNotFound))?;
    if let Some(existing) = active_enrolment(conn, session_id, participant_id)? {
        return Ok(EnrolOutcome::AlreadyHeld(existing));
    }
    check_enrolment(conn, &details, &participant, db::now(), rules)?;

    let session = &details.session;
    let seat_taken = diesel::update(
        sessions::table.find(session_id).filter(sessions::enrolled_count.lt(sessions::capacity)),
    )
    .set(sessions::enrolled_count.eq(sessions::enrolled_count + 1))
    .execute(conn)?
        == 1;
    let (status, waitlist_position) = if seat_taken {
        (EnrolmentStatus::Enrolled, None)
    } else if session.waitlist {
        diesel::update(sessions::table.find(session_id))
            .set(sessions::waitlisted_count.eq(sessions::waitlisted_count + 1))
            .execute(conn)?;
        // The lock makes the stored count current: positions stay dense.
        (EnrolmentStatus::Waitlisted, Some(session.waitlisted_count + 1))
    } else {
        return Err(AppError::Refused(Refusal::SessionFull));
    };
    let now = db::now();
    let enrolment = Enrolment {
        id: Id::new(),
        session_id,
        participant_id,
        status,
        waitlist_position,
        source,
        created_by: actor.id(),
        created_at: now,
        updated_at: now,
        cancelled_at: None,
    };
    diesel::insert_into(enrolments::table).values(&enrolment).execute(conn)?;
    let changes = FieldChange::diff(None::<&Enrolment>, &enrolment, &[]);
    audit::record(conn, actor, Action::Create, EntityType::Enrolment, enrolment.id, changes)?;
    let event = match status {
        EnrolmentStatus::Waitlisted => EventType::EnrolmentWaitlisted,
        _ => EventType::EnrolmentCreated,
    };
    announce(conn, event, &enrolment)?;
    Ok(EnrolOutcome::Created(enrolment))
}

/// The rules an enrolment must pass, in PRODUCT.md's order: the session's
/// state, its window, then the person (audience, overlap, guardian, the
/// guardian's consent).
fn check_enrolment(
    conn: &mut DbConnection,
    details: &SessionDetails,
    participant: &Participant,
    now: NaiveDateTime,
    rules: EnrolmentRules,
) -> Result<(), AppError> {
    let session = &details.session;
    let refuse = |refusal| Err(AppError::Refused(refusal));
    if session.status == SessionStatus::Cancelled {
        return refuse(Refusal::SessionCancelled);
    }
    if session.status == SessionStatus::Completed || session.ends_at <= now {
        return refuse(Refusal::SessionOver);
    }
    // Without a closing time, enrolment closes when the session starts.
    let closes_at = session.enrolment_closes_at.unwrap_or(session.starts_at);
    if session.enrolment_opens_at.is_some_and(|opens| now < opens) || now >= closes_at {
        return refuse(Refusal::EnrolmentClosed);
    }
    if !details.eligible_categories().contains(&participant.category) {
        return refuse(Refusal::CategoryNotEligible);
    }
    if has_overlapping_place(conn, participant, details)? {
        return refuse(Refusal::ScheduleConflict);
    }
    if is_child_student(participant, local_day(session.starts_at, rules.zone)) {
        if participant.guardian_id.is_none() {
            return refuse(Refusal::GuardianRequired);
        }
        if rules.require_consent && !participant.has_consent() {
            return refuse(Refusal::ConsentRequired);
        }
    }
    Ok(())
}

/// A student under 16 on the session's (local) day.
fn is_child_student(participant: &Participant, on: NaiveDate) -> bool {
    let under_age = participant
        .birth_date
        .and_then(|born| on.years_since(born))
        .is_some_and(|age| age < GUARDIAN_REQUIRED_UNDER);
    participant.category == Category::Student
        // A student's birth date is required; a missing one (anonymised
        // rows cannot enrol) or a future one counts as under age.
        && (under_age || participant.birth_date.is_none_or(|born| born > on))
}

/// Whether the person holds an enrolled or waitlisted place in another
/// session, not cancelled, whose time overlaps this one's.
fn has_overlapping_place(
    conn: &mut DbConnection,
    participant: &Participant,
    details: &SessionDetails,
) -> QueryResult<bool> {
    let session = &details.session;
    diesel::select(diesel::dsl::exists(
        enrolments::table
            .inner_join(sessions::table)
            .filter(enrolments::participant_id.eq(&participant.id))
            .filter(enrolments::status.ne(EnrolmentStatus::Cancelled))
            .filter(sessions::id.ne(&session.id))
            .filter(sessions::status.ne(SessionStatus::Cancelled))
            .filter(sessions::starts_at.lt(session.ends_at))
            .filter(sessions::ends_at.gt(session.starts_at)),
    ))
    .get_result(conn)
}

/// The person's enrolled or waitlisted place in the session, if any.
pub fn active_enrolment(
    conn: &mut DbConnection,
    session_id: Id,
    participant_id: Id,
) -> QueryResult<Option<Enrolment>> {
    enrolments::table
        .filter(enrolments::session_id.eq(session_id))
        .filter(enrolments::participant_id.eq(participant_id))
        .filter(enrolments::status.ne(EnrolmentStatus::Cancelled))
        .first(conn)
        .optional()
}

/// The person's enrolled and waitlisted places in sessions that have not
/// started by `now`, as `(place, session)` ids, by session id: the order in
/// which a caller that locks several sessions takes them.
pub fn places_ahead(
    conn: &mut DbConnection,
    participant_id: Id,
    now: NaiveDateTime,
) -> QueryResult<Vec<(Id, Id)>> {
    enrolments::table
        .inner_join(sessions::table)
        .filter(enrolments::participant_id.eq(participant_id))
        .filter(enrolments::status.ne(EnrolmentStatus::Cancelled))
        .filter(sessions::starts_at.gt(now))
        .order(sessions::id.asc())
        .select((enrolments::id, sessions::id))
        .load(conn)
}

/// Every place of the person, cancelled ones too, oldest first.
pub fn places_of(conn: &mut DbConnection, participant_id: Id) -> QueryResult<Vec<Enrolment>> {
    enrolments::table
        .filter(enrolments::participant_id.eq(participant_id))
        .order(enrolments::id.asc())
        .load(conn)
}

/// The sessions in which the person holds an enrolled or waitlisted place,
/// by id: the order in which a caller that locks several sessions takes
/// them.
pub fn active_sessions(conn: &mut DbConnection, participant_id: Id) -> QueryResult<Vec<Id>> {
    enrolments::table
        .filter(enrolments::participant_id.eq(participant_id))
        .filter(enrolments::status.ne(EnrolmentStatus::Cancelled))
        .order(enrolments::session_id.asc())
        .select(enrolments::session_id)
        .load(conn)
}

/// Whether place `a` is worth keeping over place `b` of the same person in
/// the same session: an enrolled place over a waitlisted one, else the one
/// nearer the front (the earlier enrolled; the lower waitlist position).
pub fn is_better_place(a: &Enrolment, b: &Enrolment) -> bool {
    let rank = |place: &Enrolment| match place.status {
        EnrolmentStatus::Enrolled => 0,
        EnrolmentStatus::Waitlisted => 1,
        EnrolmentStatus::Cancelled => 2,
    };
    (rank(a), a.waitlist_position, a.created_at) < (rank(b), b.waitlist_position, b.created_at)
}

/// Gives a place to another person (a profile merged into another): the
/// place, its status and its history stay. Call inside a write transaction
/// in which the person has no other active place in the session.
pub fn move_place(
    conn: &mut DbConnection,
    actor: &Actor,
    place: &Enrolment,
    to: Id,
) -> Result<Enrolment, AppError> {
    let moved = Enrolment { participant_id: to, updated_at: db::now(), ..place.clone() };
    diesel::update(enrolments::table.find(place.id))
        .set((enrolments::participant_id.eq(to), enrolments::updated_at.eq(moved.updated_at)))
        .execute(conn)?;
    let changes = FieldChange::diff(Some(place), &moved, &[]);
    audit::record(conn, actor, Action::Update, EntityType::Enrolment, place.id, changes)?;
    Ok(moved)
}

pub fn find(conn: &mut DbConnection, id: Id) -> QueryResult<Option<Enrolment>> {
    enrolments::table.find(id).first(conn).optional()
}

/// Cancels a place (the row stays, `cancelled`). An enrolled place goes to
/// the first person on the waitlist; a waitlisted one closes its gap, so
/// that positions stay 1, 2, 3 … Cancelling again changes nothing; a
/// session that is over keeps its places. Call inside a write transaction.
pub fn cancel(
    conn: &mut DbConnection,
    actor: &Actor,
    enrolment_id: Id,
) -> Result<Enrolment, AppError> {
    cancel_place(conn, actor, enrolment_id, false)
}

/// Cancels the second place of one person in a session (two profiles of
/// one person merged), also in a session that is over, whose counts must
/// stay true to who was there; no one is promoted into a session that is
/// over.
pub fn cancel_duplicate(
    conn: &mut DbConnection,
    actor: &Actor,
    enrolment_id: Id,
) -> Result<Enrolment, AppError> {
    cancel_place(conn, actor, enrolment_id, true)
}

fn cancel_place(
    conn: &mut DbConnection,
    actor: &Actor,
    enrolment_id: Id,
    even_when_over: bool,
) -> Result<Enrolment, AppError> {
    let seen = find(conn, enrolment_id)?.ok_or(AppError::NotFound)?;
    db::lock_row(conn, db::Table::Sessions, seen.session_id)?;
    // Read again under the lock: a concurrent cancel or promotion may have
    // changed it.
    let current = find(conn, enrolment_id)?.ok_or(AppError::NotFound)?;
    if current.status == EnrolmentStatus::Cancelled {
        return Ok(current);
    }
    let details =
        crate::sessions::model::find(conn, current.session_id)?.ok_or(AppError::NotFound)?;
    let session = &details.session;
    let over = session.status == SessionStatus::Completed || session.ends_at <= db::now();
    if over && !even_when_over {
        return Err(AppError::Refused(Refusal::SessionOver));
    }
    let cancelled = mark_cancelled(conn, actor, &current)?;
    match current.status {
        EnrolmentStatus::Enrolled => {
            diesel::update(sessions::table.find(&session.id))
                .set(sessions::enrolled_count.eq(sessions::enrolled_count - 1))
                .execute(conn)?;
            if !over {
                promote_from_waitlist(conn, actor, session.id)?;
            }
        }
        EnrolmentStatus::Waitlisted => {
            diesel::update(sessions::table.find(&session.id))
                .set(sessions::waitlisted_count.eq(sessions::waitlisted_count - 1))
                .execute(conn)?;
            close_waitlist_gap(conn, session.id, current.waitlist_position.unwrap_or(0))?;
        }
        EnrolmentStatus::Cancelled => {}
    }
    Ok(cancelled)
}

fn mark_cancelled(
    conn: &mut DbConnection,
    actor: &Actor,
    current: &Enrolment,
) -> Result<Enrolment, AppError> {
    let now = db::now();
    let cancelled = Enrolment {
        status: EnrolmentStatus::Cancelled,
        waitlist_position: None,
        updated_at: now,
        cancelled_at: Some(now),
        ..current.clone()
    };
    diesel::update(enrolments::table.find(&current.id))
        .set((
            enrolments::status.eq(cancelled.status),
            enrolments::waitlist_position.eq(cancelled.waitlist_position),
            enrolments::updated_at.eq(now),
            enrolments::cancelled_at.eq(cancelled.cancelled_at),
        ))
        .execute(conn)?;
    let changes = FieldChange::diff(Some(current), &cancelled, &[]);
    audit::record(conn, actor, Action::Cancel, EntityType::Enrolment, current.id, changes)?;
    announce(conn, EventType::EnrolmentCancelled, &cancelled)?;
    Ok(cancelled)
}

/// Moves waitlisted people behind `position` one place up.
fn close_waitlist_gap(conn: &mut DbConnection, session_id: Id, position: i32) -> QueryResult<()> {
    diesel::update(
        enrolments::table
            .filter(enrolments::session_id.eq(session_id))
            .filter(enrolments::status.eq(EnrolmentStatus::Waitlisted))
            .filter(enrolments::waitlist_position.gt(position)),
    )
    .set(enrolments::waitlist_position.eq(enrolments::waitlist_position - 1))
    .execute(conn)
    .map(drop)
}

/// Fills the session's free seats from its waitlist, first come first
/// served, keeping the remaining positions dense. Call inside a write
/// transaction that holds the session's lock. Returns how many moved up.
pub fn promote_from_waitlist(
    conn: &mut DbConnection,
    actor: &Actor,
    session_id: Id,
) -> Result<usize, AppError> {
    let mut promoted = 0;
    loop {
        let (capacity, enrolled): (i32, i32) = sessions::table
            .find(session_id)
            .select((sessions::capacity, sessions::enrolled_count))
            .first(conn)?;
        if enrolled >= capacity {
            return Ok(promoted);
        }
        let next: Option<Enrolment> = enrolments::table
            .filter(enrolments::session_id.eq(session_id))
            .filter(enrolments::status.eq(EnrolmentStatus::Waitlisted))
            .order(enrolments::waitlist_position.asc())
            .first(conn)
            .optional()?;
        let Some(next) = next else {
            return Ok(promoted);
        };
        admit_waitlisted(conn, actor, &next)?;
        promoted += 1;
    }
}

/// Moves a waitlisted person into an enrolled place, closing the
/// waitlist's gap: the first in line when a seat frees, or anyone who came
/// to the session, seats or not (they are in the room). Call inside a write
/// transaction that holds the session's lock.
pub fn admit_waitlisted(
    conn: &mut DbConnection,
    actor: &Actor,
    waiting: &Enrolment,
) -> Result<Enrolment, AppError> {
    let now = db::now();
    let admitted = Enrolment {
        status: EnrolmentStatus::Enrolled,
        waitlist_position: None,
        updated_at: now,
        ..waiting.clone()
    };
    diesel::update(enrolments::table.find(&waiting.id))
        .set((
            enrolments::status.eq(admitted.status),
            enrolments::waitlist_position.eq(None::<i32>),
            enrolments::updated_at.eq(now),
        ))
        .execute(conn)?;
    diesel::update(sessions::table.find(&waiting.session_id))
        .set((
            sessions::enrolled_count.eq(sessions::enrolled_count + 1),
            sessions::waitlisted_count.eq(sessions::waitlisted_count - 1),
        ))
        .execute(conn)?;
    close_waitlist_gap(conn, waiting.session_id, waiting.waitlist_position.unwrap_or(0))?;
    let changes = FieldChange::diff(Some(waiting), &admitted, &[]);
    audit::record(conn, actor, Action::Promote, EntityType::Enrolment, waiting.id, changes)?;
    announce(conn, EventType::EnrolmentPromoted, &admitted)?;
    Ok(admitted)
}

/// A new enrolled place for someone who came without one (`walk_in`),
/// whatever the capacity. Call inside a write transaction that holds the
/// session's lock.
pub fn admit_walk_in(
    conn: &mut DbConnection,
    actor: &Actor,
    session_id: Id,
    participant_id: Id,
) -> Result<Enrolment, AppError> {
    let now = db::now();
    let enrolment = Enrolment {
        id: Id::new(),
        session_id,
        participant_id,
        status: EnrolmentStatus::Enrolled,
        waitlist_position: None,
        source: EnrolmentSource::WalkIn,
        created_by: actor.id(),
        created_at: now,
        updated_at: now,
        cancelled_at: None,
    };
    diesel::insert_into(enrolments::table).values(&enrolment).execute(conn)?;
    diesel::update(sessions::table.find(session_id))
        .set(sessions::enrolled_count.eq(sessions::enrolled_count + 1))
        .execute(conn)?;
    let changes = FieldChange::diff(None::<&Enrolment>, &enrolment, &[]);
    audit::record(conn, actor, Action::Create, EntityType::Enrolment, enrolment.id, changes)?;
    announce(conn, EventType::EnrolmentCreated, &enrolment)?;
    Ok(enrolment)
}

/// Writes the outbox event of a change to a place, in its transaction.
fn announce(conn: &mut DbConnection, event: EventType, place: &Enrolment) -> QueryResult<()> {
    let data = PlaceData {
        enrolment_id: place.id,
        session_id: place.session_id,
        participant_id: place.participant_id,
        status: place.status,
        waitlist_position: place.waitlist_position,
    };
    outbox::record(conn, event, &EventData::Place(data))
}

/// Cancels every place in a session that is being cancelled. Call inside
/// the write transaction that changes the session, holding its lock.
pub fn cancel_all(conn: &mut DbConnection, actor: &Actor, session_id: Id) -> Result<(), AppError> {
    let active: Vec<Enrolment> = enrolments::table
        .filter(enrolments::session_id.eq(session_id))
        .filter(enrolments::status.ne(EnrolmentStatus::Cancelled))
        .load(conn)?;
    for enrolment in &active {
        mark_cancelled(conn, actor, enrolment)?;
    }
    diesel::update(sessions::table.find(session_id))
        .set((sessions::enrolled_count.eq(0), sessions::waitlisted_count.eq(0)))
        .execute(conn)?;
    Ok(())
}

#[derive(Debug)]
pub struct RosterFilter {
    /// Only places of this status; by default enrolled and waitlisted.
    pub status: Option<EnrolmentStatus>,
    /// Only people of this unit (a coordinator's view).
    pub organization_id: Option<Id>,
}

/// A page of a session's places with their people, oldest first.
pub fn roster(
    conn: &mut DbConnection,
    session_id: Id,
    filter: &RosterFilter,
    page: &PageRequest,
) -> QueryResult<Vec<(Enrolment, Participant)>> {
    let mut query = enrolments::table
        .inner_join(participants::table)
        .filter(enrolments::session_id.eq(session_id))
        .select((enrolments::all_columns, participants::all_columns))
        .into_boxed();
    query = match filter.status {
        Some(status) => query.filter(enrolments::status.eq(status)),
        None => query.filter(enrolments::status.ne(EnrolmentStatus::Cancelled)),
    };
    if let Some(unit) = filter.organization_id {
        query = query.filter(participants::organization_id.eq(unit));
    }
    query.page(enrolments::id, page).load(conn)
}

/// A page of the places of these people (a participant and their
/// dependants), oldest first.
pub fn of_participants(
    conn: &mut DbConnection,
    participant_ids: &[Id],
    status: Option<EnrolmentStatus>,
    page: &PageRequest,
) -> QueryResult<Vec<Enrolment>> {
    let mut query = enrolments::table
        .filter(enrolments::participant_id.eq_any(participant_ids.to_vec()))
        .into_boxed();
    if let Some(status) = status {
        query = query.filter(enrolments::status.eq(status));
    }
    query.page(enrolments::id, page).load(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn student(born: Option<NaiveDate>, guardian: Option<Id>) -> Participant {
        let now = db::now();
        Participant {
            id: Id::new(),
            full_name: "Lan".into(),
            category: Category::Student,
            organization_id: None,
            gender: crate::vocab::Gender::Female,
            birth_date: born,
            phone: None,
            email: None,
            guardian_id: guardian,
            user_id: None,
            created_by: None,
            created_at: now,
            updated_at: now,
            search_name: String::new(),
            anonymized_at: None,
            consent_guardian_id: None,
            consent_method: None,
            consent_recorded_by: None,
            consent_recorded_at: None,
            consent_withdrawn_at: None,
        }
    }

    #[test]
    fn students_under_16_on_the_day_are_children() {
        let day = NaiveDate::from_ymd_opt(2026, 10, 2).unwrap();
        let born = |y, m, d| NaiveDate::from_ymd_opt(y, m, d);
        assert!(is_child_student(&student(born(2010, 10, 3), None), day), "15 until tomorrow");
        assert!(!is_child_student(&student(born(2010, 10, 2), None), day), "16 today");
        assert!(is_child_student(&student(born(2012, 1, 1), Some(Id::new())), day));
        assert!(is_child_student(&student(None, None), day));
        // 06:30 on 2 October in Viet Nam is still 1 October in UTC: the day
        // that counts is the local one.
        let early = NaiveDate::from_ymd_opt(2026, 10, 1).unwrap().and_hms_opt(23, 30, 0).unwrap();
        let on = local_day(early, chrono_tz::Asia::Ho_Chi_Minh);
        assert_eq!(on, day);
        assert!(!is_child_student(&student(born(2010, 10, 2), None), on));
        let mut adult = student(born(2015, 1, 1), None);
        adult.category = Category::Learner;
        assert!(!is_child_student(&adult, day), "only students");
    }

    #[test]
    fn sources_are_spelled_as_the_product_says() {
        for source in EnrolmentSource::VARIANTS {
            assert_eq!(serde_json::to_value(source).unwrap(), source.as_str());
            assert_eq!(EnrolmentSource::parse(source.as_str()), Some(*source));
        }
        assert_eq!(EnrolmentSource::SelfService.as_str(), "self");
    }
}

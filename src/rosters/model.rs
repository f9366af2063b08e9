//! A trainer's rosters for the coming days, for a device that works
//! offline: whole, or only what changed since a position the device was
//! given (PRODUCT.md, "Trainers' devices and offline rosters").
//!
//! Positions are kept by database triggers on every row a roster shows
//! (see `db::change_clock`), so that no write can forget to move one.
//! A read happens in one snapshot with the position it hands out: rows
//! below it were all seen, and rows at or above it (written meanwhile, or
//! by transactions not yet committed) come with the next read. A row may
//! come twice; none is missed.

use std::collections::{BTreeSet, HashMap};

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::attendance::AttendanceMark;
use crate::db::schema::{
    attendance_marks, course_positions, courses, enrolment_positions, enrolments, mark_positions,
    organization_positions, organizations, participant_positions, participants, roster_departures,
    session_positions, session_trainers,
};
use crate::db::{self, DbConnection};
use crate::enrolments::Enrolment;
use crate::id::Id;
use crate::participants::Participant;
use crate::sessions::model::{self as session_model, SessionDetails};
use crate::vocab::EnrolmentStatus;

/// The sessions a download holds: those that end after `from` and start
/// before `to`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub from: NaiveDateTime,
    pub to: NaiveDateTime,
}

impl Window {
    fn holds(&self, starts_at: NaiveDateTime, ends_at: NaiveDateTime) -> bool {
        ends_at > self.from && starts_at < self.to
    }
}

/// What a device holds already: the rosters of `window` as of `position`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Held {
    pub position: i64,
    pub window: Window,
}

/// A session of the rosters, with its course's title.
pub struct RosterSession {
    pub details: SessionDetails,
    pub course_title: String,
}

/// A place on a roster: the place, its person, their mark.
pub type Place = (Enrolment, Participant, Option<AttendanceMark>);

/// A download, whole or of changes.
pub struct Rosters {
    /// Where this download stands: what the next one starts from.
    pub position: i64,
    /// Sessions the device must take whole: their fields and, among
    /// `places`, every place held in them (enrolled or waitlisted). In a
    /// whole download, every session.
    pub sessions: Vec<RosterSession>,
    /// The places of `sessions`, and the changed places (of any status,
    /// a cancelled one to drop) of the other sessions the device holds.
    pub places: Vec<Place>,
    /// Sessions the device should drop: no longer taught by the trainer,
    /// or out of the window.
    pub removed_session_ids: Vec<Id>,
    /// The names of the units the places' people belong to, and in changes
    /// the renamed units of anyone on the rosters held.
    pub units: Vec<(Id, String)>,
}

/// The rosters of the sessions `trainer` teaches in `window`: whole, or
/// the changes since `held`. A position this database has not reached (one
/// given before a restore, or by another database) is no position: the
/// rosters come whole. Call inside [`db::snapshot_transaction`], so that
/// the clock and the rows agree.
pub fn rosters(
    conn: &mut DbConnection,
    trainer: Id,
    window: Window,
    held: Option<Held>,
) -> QueryResult<Rosters> {
    let clock = db::change_clock(conn)?;
    let held = held.filter(|held| held.position <= clock.next);
    let taught = session_model::taught_between(conn, trainer, window.from, window.to)?;
    let renewed = match held {
        Some(held) => renewed_sessions(conn, trainer, &taught, held)?,
        None => taught.iter().map(|d| d.session.id).collect(),
    };
    let (whole, kept): (Vec<SessionDetails>, Vec<SessionDetails>) =
        taught.into_iter().partition(|d| renewed.contains(&d.session.id));
    let whole_ids: Vec<Id> = whole.iter().map(|d| d.session.id).collect();
    let kept_ids: Vec<Id> = kept.iter().map(|d| d.session.id).collect();
    let mut places = load_places(conn, Places::HeldIn(&whole_ids))?;
    let mut removed_session_ids = Vec::new();
    let mut renamed = Vec::new();
    if let Some(held) = held {
        let changed = changed_places(conn, &kept_ids, held.position)?;
        places.extend(load_places(conn, Places::Named(&changed))?);
        renamed = renamed_units(conn, &kept_ids, held.position)?;
        let taught_now: Vec<Id> = whole_ids.iter().chain(&kept_ids).copied().collect();
        removed_session_ids = departed_sessions(conn, trainer, held, &taught_now)?;
    }
    let mut unit_ids: BTreeSet<Id> =
        places.iter().filter_map(|(_, p, _)| p.organization_id).collect();
    unit_ids.extend(renamed);
    let titles = course_titles(conn, &whole)?;
    let sessions = whole
        .into_iter()
        .map(|details| {
            let course_title = titles.get(&details.session.course_id).cloned().unwrap_or_default();
            RosterSession { details, course_title }
        })
        .collect();
    let units = unit_names(conn, &unit_ids)?;
    Ok(Rosters { position: clock.seen_below, sessions, places, removed_session_ids, units })
}

/// Of the sessions taught now, those the device must take whole: the
/// session itself changed since (its time, venue, status, course or
/// capacity) or its course's title did, the trainer was put on it since,
/// or it was outside the window the device holds.
fn renewed_sessions(
    conn: &mut DbConnection,
    trainer: Id,
    taught: &[SessionDetails],
    held: Held,
) -> QueryResult<BTreeSet<Id>> {
    let ids: Vec<Id> = taught.iter().map(|d| d.session.id).collect();
    let changed: Vec<Id> = session_positions::table
        .filter(session_positions::id.eq_any(&ids))
        .filter(session_positions::sync_position.ge(held.position))
        .select(session_positions::id)
        .load(conn)?;
    let joined: Vec<Id> = session_trainers::table
        .filter(session_trainers::user_id.eq(trainer))
        .filter(session_trainers::session_id.eq_any(&ids))
        .filter(session_trainers::sync_position.ge(held.position))
        .select(session_trainers::session_id)
        .load(conn)?;
    let course_ids: Vec<Id> = taught.iter().map(|d| d.session.course_id).collect();
    let retitled: BTreeSet<Id> = course_positions::table
        .filter(course_positions::id.eq_any(&course_ids))
        .filter(course_positions::sync_position.ge(held.position))
        .select(course_positions::id)
        .load::<Id>(conn)?
        .into_iter()
        .collect();
    let by_time_or_course = taught
        .iter()
        .filter(|d| {
            !held.window.holds(d.session.starts_at, d.session.ends_at)
                || retitled.contains(&d.session.course_id)
        })
        .map(|d| d.session.id);
    Ok(changed.into_iter().chain(joined).chain(by_time_or_course).collect())
}

/// The places of `sessions` that changed at or after `position`: the
/// place (enrolled, waitlisted, promoted, cancelled, moved to a merged
/// profile), its mark, or what the roster shows of its person.
fn changed_places(conn: &mut DbConnection, sessions: &[Id], position: i64) -> QueryResult<Vec<Id>> {
    if sessions.is_empty() {
        return Ok(Vec::new());
    }
    let mut ids: BTreeSet<Id> = enrolment_positions::table
        .filter(enrolment_positions::session_id.eq_any(sessions))
        .filter(enrolment_positions::sync_position.ge(position))
        .select(enrolment_positions::id)
        .load::<Id>(conn)?
        .into_iter()
        .collect();
    ids.extend(
        mark_positions::table
            .filter(mark_positions::session_id.eq_any(sessions))
            .filter(mark_positions::sync_position.ge(position))
            .select(mark_positions::enrolment_id)
            .load::<Id>(conn)?,
    );
    let renamed = participant_positions::table
        .filter(participant_positions::sync_position.ge(position))
        .select(participant_positions::id);
    ids.extend(
        enrolment_positions::table
            .filter(enrolment_positions::session_id.eq_any(sessions))
            .filter(enrolment_positions::participant_id.eq_any(renamed))
            .select(enrolment_positions::id)
            .load::<Id>(conn)?,
    );
    Ok(ids.into_iter().collect())
}

/// Sessions the device held that it no longer should: the trainer was
/// taken off them, they moved out of the window, or the window moved past
/// them. Ids the device never held may come too; it ignores them.
fn departed_sessions(
    conn: &mut DbConnection,
    trainer: Id,
    held: Held,
    taught_now: &[Id],
) -> QueryResult<Vec<Id>> {
    let mut ids: BTreeSet<Id> = roster_departures::table
        .filter(roster_departures::user_id.eq(trainer))
        .filter(roster_departures::sync_position.ge(held.position))
        .select(roster_departures::session_id)
        .load::<Id>(conn)?
        .into_iter()
        .collect();
    let held_then = session_model::taught_between(conn, trainer, held.window.from, held.window.to)?;
    ids.extend(held_then.iter().map(|d| d.session.id));
    ids.extend(
        session_positions::table
            .filter(session_positions::id.eq_any(session_model::taught_by(trainer)))
            .filter(session_positions::sync_position.ge(held.position))
            .select(session_positions::id)
            .load::<Id>(conn)?,
    );
    Ok(ids.into_iter().filter(|id| !taught_now.contains(id)).collect())
}

/// The units renamed since `position` that people on these sessions'
/// rosters belong to.
fn renamed_units(conn: &mut DbConnection, sessions: &[Id], position: i64) -> QueryResult<Vec<Id>> {
    let people = enrolments::table
        .filter(enrolments::session_id.eq_any(sessions))
        .select(enrolments::participant_id);
    let their_units = participants::table
        .filter(participants::id.eq_any(people))
        .select(participants::organization_id);
    organization_positions::table
        .filter(organization_positions::sync_position.ge(position))
        .filter(organization_positions::id.nullable().eq_any(their_units))
        .select(organization_positions::id)
        .load(conn)
}

/// Which places to load.
enum Places<'a> {
    /// The places held (enrolled or waitlisted) in these sessions.
    HeldIn(&'a [Id]),
    /// These places, whatever their status.
    Named(&'a [Id]),
}

/// Places with their people and marks, in enrolment order.
fn load_places(conn: &mut DbConnection, which: Places) -> QueryResult<Vec<Place>> {
    let query = enrolments::table
        .inner_join(participants::table)
        .left_join(attendance_marks::table)
        .select((
            enrolments::all_columns,
            participants::all_columns,
            attendance_marks::all_columns.nullable(),
        ))
        .order(enrolments::id)
        .into_boxed();
    let held = [EnrolmentStatus::Enrolled, EnrolmentStatus::Waitlisted];
    match which {
        Places::HeldIn(sessions) => query
            .filter(enrolments::session_id.eq_any(sessions))
            .filter(enrolments::status.eq_any(held)),
        Places::Named(ids) => query.filter(enrolments::id.eq_any(ids)),
    }
    .load(conn)
}

fn course_titles(
    conn: &mut DbConnection,
    sessions: &[SessionDetails],
) -> QueryResult<HashMap<Id, String>> {
    let ids: Vec<Id> = sessions.iter().map(|d| d.session.course_id).collect();
    let titles: Vec<(Id, String)> = courses::table
        .filter(courses::id.eq_any(&ids))
        .select((courses::id, courses::title))
        .load(conn)?;
    Ok(titles.into_iter().collect())
}

fn unit_names(conn: &mut DbConnection, ids: &BTreeSet<Id>) -> QueryResult<Vec<(Id, String)>> {
    let ids: Vec<Id> = ids.iter().copied().collect();
    organizations::table
        .filter(organizations::id.eq_any(&ids))
        .select((organizations::id, organizations::name))
        .order(organizations::id)
        .load(conn)
}

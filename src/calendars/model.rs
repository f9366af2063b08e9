//! Calendar feeds: a secret URL per person that a phone's calendar
//! subscribes to, and the sessions it shows.

use std::collections::HashSet;

use chrono::Duration;
use diesel::prelude::*;

use crate::access::linked_profile;
use crate::crypto::{random_token, sha256_base64};
use crate::db::schema::{calendar_feeds, courses, enrolments, participants, sessions, users};
use crate::db::{self, DbConnection};
use crate::id::Id;
use crate::sessions::Session;
use crate::sessions::model::taught_by;
use crate::vocab::{EnrolmentStatus, SessionStatus};

/// How far back a feed reaches: a term's past classes, not every year's.
const FEED_REACHES_BACK: Duration = Duration::days(90);

fn token_hash(token: &str) -> String {
    sha256_base64(format!("calendar-feed:{token}"))
}

/// Gives `user` a new feed token, which replaces their old one. Call
/// inside a write transaction.
pub fn renew(conn: &mut DbConnection, user: Id) -> QueryResult<String> {
    // Two renewals at once: one after the other, each replacing a row.
    db::lock_row(conn, db::Table::Users, user)?;
    let token = random_token();
    remove(conn, user)?;
    diesel::insert_into(calendar_feeds::table)
        .values((
            calendar_feeds::user_id.eq(user),
            calendar_feeds::token_hash.eq(token_hash(&token)),
            calendar_feeds::created_at.eq(db::now()),
        ))
        .execute(conn)?;
    Ok(token)
}

/// Ends `user`'s feed, if they have one: its URL answers `404` from now
/// on. For a deactivated or anonymised account, whose schedule no one
/// should read any more.
pub fn remove(conn: &mut DbConnection, user: Id) -> QueryResult<()> {
    diesel::delete(calendar_feeds::table.find(user)).execute(conn).map(drop)
}

/// Whose feed a token is, while their account is active.
pub fn owner(conn: &mut DbConnection, token: &str) -> QueryResult<Option<Id>> {
    calendar_feeds::table
        .inner_join(users::table)
        .filter(calendar_feeds::token_hash.eq(token_hash(token)))
        .filter(users::active.eq(true))
        .select(users::id)
        .first(conn)
        .optional()
}

/// A session on a calendar, with its course's title.
pub struct CalendarSession {
    pub session: Session,
    pub course_title: String,
    /// Only waiting for a seat: no place held in it is enrolled, and the
    /// person does not teach it.
    pub waiting: bool,
}

/// The sessions `user` has on their calendar, by start time: those their
/// own profile or a dependant's holds a place in (enrolled or waiting),
/// and those they teach, from 90 days back on. A cancelled session stays,
/// with the places it cancelled, for the calendar to show it cancelled; a
/// place given up before is gone. (The places a cancellation cancels are
/// those cancelled since the session last changed: a cancelled session
/// edited again leaves the feeds of the people it had.)
pub fn sessions_of(conn: &mut DbConnection, user: Id) -> QueryResult<Vec<CalendarSession>> {
    let own = linked_profile(conn, user)?;
    let people = participants::table
        .filter(participants::user_id.eq(user).or(participants::guardian_id.eq(own)))
        .select(participants::id);
    let held: Vec<(Id, EnrolmentStatus)> = enrolments::table
        .inner_join(sessions::table)
        .filter(enrolments::participant_id.eq_any(people))
        .filter(
            enrolments::status.ne(EnrolmentStatus::Cancelled).or(sessions::status
                .eq(SessionStatus::Cancelled)
                .and(enrolments::cancelled_at.ge(sessions::updated_at.nullable()))),
        )
        .select((enrolments::session_id, enrolments::status))
        .load(conn)?;
    let held_ids: Vec<Id> = held.iter().map(|(id, _)| *id).collect();
    let taught: HashSet<Id> = taught_by(user).load::<Id>(conn)?.into_iter().collect();
    let rows: Vec<(Session, String)> = sessions::table
        .inner_join(courses::table)
        .filter(sessions::id.eq_any(&held_ids).or(sessions::id.eq_any(taught_by(user))))
        .filter(sessions::ends_at.gt(db::now() - FEED_REACHES_BACK))
        .order((sessions::starts_at.asc(), sessions::id.asc()))
        .select((Session::as_select(), courses::title))
        .load(conn)?;
    let waiting = |id: Id| {
        !taught.contains(&id)
            && held
                .iter()
                .filter(|(s, _)| *s == id)
                .all(|(_, status)| *status == EnrolmentStatus::Waitlisted)
    };
    Ok(rows
        .into_iter()
        .map(|(session, course_title)| CalendarSession {
            waiting: waiting(session.id),
            session,
            course_title,
        })
        .collect())
}

/// One session with its course's title, as anyone sees it.
pub fn session(conn: &mut DbConnection, id: Id) -> QueryResult<Option<CalendarSession>> {
    let row: Option<(Session, String)> = sessions::table
        .inner_join(courses::table)
        .filter(sessions::id.eq(id))
        .select((Session::as_select(), courses::title))
        .first(conn)
        .optional()?;
    Ok(row.map(|(session, course_title)| CalendarSession { session, course_title, waiting: false }))
}

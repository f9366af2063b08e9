//! Marks, their history, self check-in codes and walk-ins.
//!
//! Every mark goes through [`record_mark`], which locks the session's row
//! first, as every change to a session's places does (enrolling,
//! cancelling, walk-ins): marks in one session, from a trainer, a check-in
//! or an offline batch, are applied one at a time, on places read under the
//! lock, and the one recorded later wins whatever the order they arrive in.
//! One lock, taken first, also means no two of these can wait on each other.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;

use crate::access::Marker;
use crate::audit::{self, Action, Actor, EntityType, FieldChange};
use crate::crypto::{crockford, random_bytes, sha256_base64};
use crate::db::schema::{
    attendance_changes, attendance_marks, check_in_codes, check_in_failures, courses, enrolments,
    offline_marks, organizations, participants, users,
};
use crate::db::{self, DbConnection};
use crate::enrolments::Enrolment;
use crate::error::{AppError, Conflict, Refusal};
use crate::id::Id;
use crate::outbox::model::{self as outbox, EventData, EventType, MarkData};
use crate::paging::{PageRequest, Paged};
use crate::participants::Participant;
use crate::sessions::Session;
use crate::users::User;
use crate::vocab::{AttendanceStatus, Category, EnrolmentStatus, MarkSource, SessionStatus};

/// Marks are taken from this long before a session starts…
const WINDOW_OPENS_BEFORE_START: Duration = Duration::minutes(30);
/// …until this long after it ends; later corrections are for admins.
const WINDOW_CLOSES_AFTER_END: Duration = Duration::days(7);
/// A self check-in this long after the start is `late`.
const LATE_AFTER_START: Duration = Duration::minutes(15);
/// How long a check-in code works.
const CHECK_IN_CODE_TTL: Duration = Duration::minutes(5);
/// Wrong codes allowed per user in [`CHECK_IN_GUESS_WINDOW`]. Only people
/// with a place may guess, so a session of N places allows at most 5N
/// guesses a window at a six-digit code that lives five minutes (0.05% for
/// a class of 100). There is no limit per session: it let a few people's
/// wrong codes lock everyone else out.
const CHECK_IN_GUESSES_PER_USER: i64 = 5;
const CHECK_IN_GUESS_WINDOW: Duration = Duration::minutes(10);
/// How far ahead of the server's clock a phone's clock may be.
const CLOCK_SKEW: Duration = Duration::minutes(5);

#[derive(Clone, Debug, Queryable, Insertable, Serialize)]
#[diesel(table_name = attendance_marks, treat_none_as_default_value = false)]
pub struct AttendanceMark {
    pub enrolment_id: Id,
    pub session_id: Id,
    pub participant_id: Id,
    pub status: AttendanceStatus,
    pub note: Option<String>,
    pub source: MarkSource,
    pub marked_by: Option<Id>,
    pub recorded_at: NaiveDateTime,
    pub marked_at: NaiveDateTime,
    pub device_id: Option<Id>,
}

#[derive(Clone, Debug, Queryable, Insertable)]
#[diesel(table_name = attendance_changes, treat_none_as_default_value = false)]
pub struct AttendanceChange {
    pub id: Id,
    pub enrolment_id: Id,
    pub session_id: Id,
    pub participant_id: Id,
    pub from_status: Option<AttendanceStatus>,
    pub to_status: AttendanceStatus,
    pub note: Option<String>,
    pub source: MarkSource,
    pub changed_by: Option<Id>,
    pub recorded_at: NaiveDateTime,
    pub changed_at: NaiveDateTime,
    pub superseded: bool,
    pub device_id: Option<Id>,
}

/// A mark as it arrives.
#[derive(Clone, Debug)]
pub struct NewMark {
    pub participant_id: Id,
    pub status: AttendanceStatus,
    pub note: Option<String>,
    pub source: MarkSource,
    /// When it was taken; the server's clock for marks sent at once.
    pub recorded_at: NaiveDateTime,
}

#[derive(Debug)]
pub enum MarkOutcome {
    /// The place now carries this mark.
    Applied(AttendanceMark),
    /// It carried it already; nothing changed.
    Unchanged(AttendanceMark),
    /// A mark recorded later is in place and stays; this one went to the
    /// history only.
    Superseded(AttendanceMark),
}

impl MarkOutcome {
    /// The mark in place afterwards.
    pub fn into_mark(self) -> AttendanceMark {
        match self {
            Self::Applied(mark) | Self::Unchanged(mark) | Self::Superseded(mark) => mark,
        }
    }
}

/// Trainers mark from 30 minutes before the start until 7 days after the
/// end; those who correct marks ([`Marker::corrects_marks`]) at any time.
pub fn check_marking_window(
    session: &Session,
    marker: &Marker,
    at: NaiveDateTime,
) -> Result<(), AppError> {
    let opens = session.starts_at - WINDOW_OPENS_BEFORE_START;
    let closes = session.ends_at + WINDOW_CLOSES_AFTER_END;
    if marker.corrects_marks() || (opens..=closes).contains(&at) {
        Ok(())
    } else {
        Err(AppError::Refused(Refusal::OutsideMarkingWindow))
    }
}

/// The person's enrolled place in the session, or `not_enrolled`.
fn enrolled_place(
    conn: &mut DbConnection,
    session_id: Id,
    participant_id: Id,
) -> Result<Enrolment, AppError> {
    enrolments::table
        .filter(enrolments::session_id.eq(session_id))
        .filter(enrolments::participant_id.eq(participant_id))
        .filter(enrolments::status.eq(EnrolmentStatus::Enrolled))
        .first(conn)
        .optional()?
        .ok_or(AppError::Refused(Refusal::NotEnrolled))
}

fn find_mark(conn: &mut DbConnection, enrolment_id: Id) -> QueryResult<Option<AttendanceMark>> {
    attendance_marks::table.find(enrolment_id).first(conn).optional()
}

/// Records a mark on the person's enrolled place in the session. Call
/// inside a write transaction; the session is locked here.
pub fn record_mark(
    conn: &mut DbConnection,
    actor: &Actor,
    session_id: Id,
    mark: NewMark,
) -> Result<MarkOutcome, AppError> {
    db::lock_row(conn, db::Table::Sessions, session_id)?;
    let place = enrolled_place(conn, session_id, mark.participant_id)?;
    let current = find_mark(conn, place.id)?;
    let now = db::now();
    let change = |superseded: bool| AttendanceChange {
        id: Id::new(),
        enrolment_id: place.id,
        session_id,
        participant_id: mark.participant_id,
        from_status: current.as_ref().map(|c| c.status),
        to_status: mark.status,
        note: mark.note.clone(),
        source: mark.source,
        changed_by: actor.id(),
        recorded_at: mark.recorded_at,
        changed_at: now,
        superseded,
        device_id: actor.device(),
    };
    if let Some(current) = &current {
        if current.status == mark.status && current.note == mark.note {
            // The same mark recorded again: nothing changes but the time it
            // was last recorded, which later arrivals are compared with.
            if mark.recorded_at > current.recorded_at {
                diesel::update(attendance_marks::table.find(&place.id))
                    .set(attendance_marks::recorded_at.eq(mark.recorded_at))
                    .execute(conn)?;
            }
            return Ok(MarkOutcome::Unchanged(current.clone()));
        }
        if current.recorded_at > mark.recorded_at {
            diesel::insert_into(attendance_changes::table).values(change(true)).execute(conn)?;
            return Ok(MarkOutcome::Superseded(current.clone()));
        }
    }
    let next = AttendanceMark {
        enrolment_id: place.id,
        session_id,
        participant_id: mark.participant_id,
        status: mark.status,
        note: mark.note.clone(),
        source: mark.source,
        marked_by: actor.id(),
        recorded_at: mark.recorded_at,
        marked_at: now,
        device_id: actor.device(),
    };
    match &current {
        Some(_) => diesel::update(attendance_marks::table.find(&place.id))
            .set((
                attendance_marks::status.eq(next.status),
                attendance_marks::note.eq(&next.note),
                attendance_marks::source.eq(next.source),
                attendance_marks::marked_by.eq(&next.marked_by),
                attendance_marks::recorded_at.eq(next.recorded_at),
                attendance_marks::marked_at.eq(next.marked_at),
                attendance_marks::device_id.eq(next.device_id),
            ))
            .execute(conn)?,
        None => diesel::insert_into(attendance_marks::table).values(&next).execute(conn)?,
    };
    diesel::insert_into(attendance_changes::table).values(change(false)).execute(conn)?;
    let changes = FieldChange::diff(current.as_ref(), &next, &["note"]);
    audit::record(conn, actor, Action::Mark, EntityType::Enrolment, place.id, changes)?;
    let data = MarkData {
        enrolment_id: place.id,
        session_id,
        participant_id: mark.participant_id,
        status: mark.status,
    };
    outbox::record(conn, EventType::AttendanceMarked, &EventData::Mark(data))?;
    Ok(MarkOutcome::Applied(next))
}

/// An enrolled place on a roll-call: the place, its person, their mark.
pub type RosterRow = (Enrolment, Participant, Option<AttendanceMark>);

/// A session's enrolled places with their people and current marks.
pub fn roster(
    conn: &mut DbConnection,
    session_id: Id,
    page: &PageRequest,
) -> QueryResult<Vec<RosterRow>> {
    let query = enrolments::table
        .inner_join(participants::table)
        .left_join(attendance_marks::table)
        .filter(enrolments::session_id.eq(session_id))
        .filter(enrolments::status.eq(EnrolmentStatus::Enrolled))
        .select((
            enrolments::all_columns,
            participants::all_columns,
            attendance_marks::all_columns.nullable(),
        ))
        .into_boxed();
    query.page(enrolments::id, page).load(conn)
}

/// A session's short code for a place: six letters and digits that a
/// trainer copies from a paper sign-in sheet into the roll-call, to find
/// the person without spelling their name. The last 30 bits of the place's
/// id, which are random, in Crockford's base 32 (no I, L, O or U): two
/// places of one class of 200 share a code about once in 50,000 classes,
/// and then the name beside it tells them apart.
pub fn row_code(enrolment_id: Id) -> String {
    crockford(enrolment_id.low_bits().into(), 6)
}

/// One person on a sign-in sheet: their place, name, category and unit.
pub struct SheetLine {
    pub enrolment_id: Id,
    pub full_name: String,
    pub category: Category,
    pub unit: Option<String>,
}

/// What a sign-in sheet shows above its table.
pub struct SheetHeading {
    pub course_title: String,
    pub trainer_names: Vec<String>,
}

/// The people holding an enrolled place in the session, in the order a
/// Vietnamese class list is read: by given name (the last word), then by
/// the whole name, ignoring case and diacritics, then by place. Anonymised
/// people are left out: a row without a name is no one to sign for.
pub fn sign_in_lines(conn: &mut DbConnection, session_id: Id) -> QueryResult<Vec<SheetLine>> {
    let rows: Vec<(Id, String, String, Category, Option<String>)> = enrolments::table
        .inner_join(participants::table)
        .left_join(
            organizations::table.on(organizations::id.nullable().eq(participants::organization_id)),
        )
        .filter(enrolments::session_id.eq(session_id))
        .filter(enrolments::status.eq(EnrolmentStatus::Enrolled))
        .filter(participants::anonymized_at.is_null())
        .select((
            enrolments::id,
            participants::full_name,
            participants::search_name,
            participants::category,
            organizations::name.nullable(),
        ))
        .load(conn)?;
    let mut rows: Vec<_> = rows
        .into_iter()
        .map(|(enrolment_id, full_name, folded, category, unit)| {
            let given = folded.rsplit(' ').next().unwrap_or_default().to_owned();
            ((given, folded, enrolment_id), SheetLine { enrolment_id, full_name, category, unit })
        })
        .collect();
    rows.sort_by(|(a, _), (b, _)| a.cmp(b));
    Ok(rows.into_iter().map(|(_, line)| line).collect())
}

/// The course's title and the trainers' names, for a sheet's heading.
pub fn sheet_heading(
    conn: &mut DbConnection,
    course_id: Id,
    trainer_ids: &[Id],
) -> QueryResult<SheetHeading> {
    let course_title = courses::table.find(course_id).select(courses::title).first(conn)?;
    let trainer_names = users::table
        .filter(users::id.eq_any(trainer_ids))
        .order(users::full_name)
        .select(users::full_name)
        .load(conn)?;
    Ok(SheetHeading { course_title, trainer_names })
}

/// The current marks of these places.
pub fn marks_of(conn: &mut DbConnection, enrolment_ids: &[Id]) -> QueryResult<Vec<AttendanceMark>> {
    attendance_marks::table.filter(attendance_marks::enrolment_id.eq_any(enrolment_ids)).load(conn)
}

/// A session's mark changes, oldest first.
pub fn history(
    conn: &mut DbConnection,
    session_id: Id,
    page: &PageRequest,
) -> QueryResult<Vec<AttendanceChange>> {
    attendance_changes::table
        .filter(attendance_changes::session_id.eq(session_id))
        .into_boxed()
        .page(attendance_changes::id, page)
        .load(conn)
}

fn code_hash(session_id: Id, code: &str) -> String {
    sha256_base64(format!("{session_id}:{code}"))
}

/// Opens self check-in: a new 6-digit code replaces the session's old one.
/// Codes open from 30 minutes before the start until the end. Call inside
/// a write transaction.
pub fn open_check_in(
    conn: &mut DbConnection,
    actor: &Actor,
    session: &Session,
) -> Result<(String, NaiveDateTime), AppError> {
    // Two trainers opening a code at once: one after the other.
    db::lock_row(conn, db::Table::Sessions, session.id)?;
    let now = db::now();
    let open = session.starts_at - WINDOW_OPENS_BEFORE_START..session.ends_at;
    if !open.contains(&now) || session.status == SessionStatus::Cancelled {
        return Err(AppError::Refused(Refusal::OutsideMarkingWindow));
    }
    let code = six_digit_code();
    let expires_at = now + CHECK_IN_CODE_TTL;
    diesel::delete(check_in_codes::table.find(&session.id)).execute(conn)?;
    diesel::insert_into(check_in_codes::table)
        .values((
            check_in_codes::session_id.eq(&session.id),
            check_in_codes::code_hash.eq(code_hash(session.id, &code)),
            check_in_codes::expires_at.eq(expires_at),
            check_in_codes::created_by.eq(actor.id()),
            check_in_codes::created_at.eq(now),
        ))
        .execute(conn)?;
    // The code itself stays out of the trail: it is a secret while valid.
    let changes = vec![FieldChange::redacted("check_in_code")];
    audit::record(conn, actor, Action::OpenCheckIn, EntityType::Session, session.id, changes)?;
    Ok((code, expires_at))
}

/// A uniformly drawn code from 000000 to 999999.
fn six_digit_code() -> String {
    loop {
        let n = u32::from_le_bytes(random_bytes::<4>());
        // Below the largest multiple of a million, so that every code is
        // equally likely.
        if n < u32::MAX - u32::MAX % 1_000_000 {
            return format!("{:06}", n % 1_000_000);
        }
    }
}

/// What a check-in attempt came to.
#[derive(Debug)]
pub enum CheckIn {
    Marked(AttendanceMark),
    /// The code was wrong or expired; the failure is recorded.
    WrongCode,
    /// Too many wrong codes lately; try again after this many seconds.
    Throttled(u64),
}

/// Checks a self check-in code for someone with an enrolled place and
/// marks them `present` (`late` after the first 15 minutes). Wrong codes are
/// counted per user, and refused past a limit; the failure
/// is committed with the answer, so call inside a write transaction and
/// keep `WrongCode` an `Ok`.
pub fn check_in(
    conn: &mut DbConnection,
    user: &User,
    session: &Session,
    participant_id: Id,
    code: &str,
) -> Result<CheckIn, AppError> {
    // Counting and recording guesses one at a time per session, so that
    // parallel guesses cannot all slip under the limit.
    db::lock_row(conn, db::Table::Sessions, session.id)?;
    // Only people with a place may guess: others cannot use up the
    // session's allowance of wrong codes.
    let place = enrolled_place(conn, session.id, participant_id)?;
    let now = db::now();
    let guesser = sha256_base64(format!("user:{}", user.id));
    let since = now - CHECK_IN_GUESS_WINDOW;
    // Failures older than the window count for nothing: forget them.
    diesel::delete(check_in_failures::table.filter(check_in_failures::failed_at.le(since)))
        .execute(conn)?;
    let failures: Vec<NaiveDateTime> = check_in_failures::table
        .filter(check_in_failures::subject_hash.eq(&guesser))
        .filter(check_in_failures::failed_at.gt(since))
        .select(check_in_failures::failed_at)
        .order(check_in_failures::failed_at.asc())
        .load(conn)?;
    if failures.len() as i64 >= CHECK_IN_GUESSES_PER_USER {
        let oldest = failures[0];
        let retry = (oldest + CHECK_IN_GUESS_WINDOW - now).num_seconds().max(1);
        return Ok(CheckIn::Throttled(retry as u64));
    }
    let stored: Option<(String, NaiveDateTime)> = check_in_codes::table
        .find(&session.id)
        .select((check_in_codes::code_hash, check_in_codes::expires_at))
        .first(conn)
        .optional()?;
    let valid = stored
        .is_some_and(|(hash, expires_at)| now < expires_at && hash == code_hash(session.id, code));
    if !valid {
        diesel::insert_into(check_in_failures::table)
            .values((
                check_in_failures::id.eq(Id::new()),
                check_in_failures::subject_hash.eq(&guesser),
                check_in_failures::failed_at.eq(now),
            ))
            .execute(conn)?;
        return Ok(CheckIn::WrongCode);
    }
    // Someone already marked present or late stays as they are.
    if let Some(mark) = find_mark(conn, place.id)?
        && matches!(mark.status, AttendanceStatus::Present | AttendanceStatus::Late)
    {
        return Ok(CheckIn::Marked(mark));
    }
    let status = if now > session.starts_at + LATE_AFTER_START {
        AttendanceStatus::Late
    } else {
        AttendanceStatus::Present
    };
    let mark = NewMark {
        participant_id,
        status,
        note: None,
        source: MarkSource::SelfCheckIn,
        recorded_at: now,
    };
    let mark = record_mark(conn, &Actor::user(user.id), session.id, mark)?.into_mark();
    Ok(CheckIn::Marked(mark))
}

/// One offline mark's answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncOutcome {
    Applied,
    Duplicate,
    Superseded,
}

/// An offline mark from a trainer's app: checked like a trainer's mark;
/// the window applies both to when it was recorded and to when it arrives.
/// The same `client_mark_id` from the same account twice changes nothing.
/// Call inside a write transaction, one per mark.
pub fn sync_mark(
    conn: &mut DbConnection,
    marker: &Marker,
    client_mark_id: &str,
    session_id: Id,
    mark: NewMark,
) -> Result<SyncOutcome, AppError> {
    let user = &marker.user;
    let seen = |conn: &mut DbConnection| {
        diesel::select(diesel::dsl::exists(offline_marks::table.find((&user.id, client_mark_id))))
            .get_result::<bool>(conn)
    };
    if seen(conn)? {
        return Ok(SyncOutcome::Duplicate);
    }
    let details = crate::sessions::model::find(conn, session_id)?.ok_or(AppError::NotFound)?;
    marker.check(&details)?;
    let now = db::now();
    let session = &details.session;
    check_marking_window(session, marker, now)?;
    if mark.recorded_at > now + CLOCK_SKEW {
        return Err(AppError::Refused(Refusal::OutsideMarkingWindow));
    }
    // A phone's clock a little ahead must not outrank marks taken since.
    let mark = NewMark { recorded_at: mark.recorded_at.min(now), ..mark };
    check_marking_window(session, marker, mark.recorded_at)?;
    // The same mark in two batches at once: both wait on the session's
    // lock, and the second finds the first one's record.
    db::lock_row(conn, db::Table::Sessions, session_id)?;
    if seen(conn)? {
        return Ok(SyncOutcome::Duplicate);
    }
    let outcome = match record_mark(conn, &marker.actor(), session_id, mark)? {
        MarkOutcome::Applied(_) | MarkOutcome::Unchanged(_) => SyncOutcome::Applied,
        MarkOutcome::Superseded(_) => SyncOutcome::Superseded,
    };
    let outcome_text = match outcome {
        SyncOutcome::Superseded => "superseded",
        _ => "applied",
    };
    diesel::insert_into(offline_marks::table)
        .values((
            offline_marks::received_by.eq(&user.id),
            offline_marks::client_mark_id.eq(client_mark_id),
            offline_marks::outcome.eq(outcome_text),
            offline_marks::received_at.eq(now),
        ))
        .execute(conn)
        .map_err(|err| {
            // The same id sent at once for another session (so under another
            // lock) won the race: this one is the duplicate.
            if db::is_unique_violation(&err) {
                AppError::Conflict(Conflict::DuplicateMark)
            } else {
                err.into()
            }
        })?;
    Ok(outcome)
}

/// Moves the marks of a place, and their history, to the person the place
/// now belongs to (a profile merged into another).
pub fn move_marks(conn: &mut DbConnection, place: &Enrolment, to: Id) -> QueryResult<()> {
    diesel::update(attendance_marks::table.filter(attendance_marks::enrolment_id.eq(place.id)))
        .set(attendance_marks::participant_id.eq(to))
        .execute(conn)?;
    // By session first: the history's index.
    diesel::update(
        attendance_changes::table
            .filter(attendance_changes::session_id.eq(place.session_id))
            .filter(attendance_changes::enrolment_id.eq(place.id)),
    )
    .set(attendance_changes::participant_id.eq(to))
    .execute(conn)?;
    Ok(())
}

/// Whether the person was there (present or late) by the mark on `place`.
pub fn attended(conn: &mut DbConnection, place: Id) -> QueryResult<bool> {
    let mark = marks_of(conn, &[place])?.pop();
    Ok(mark.is_some_and(|m| matches!(m.status, AttendanceStatus::Present | AttendanceStatus::Late)))
}

/// Erases the notes on a person's marks and their history (they may say
/// why someone was absent), when the person is anonymised. The marks stay:
/// statistics count them.
pub fn erase_notes(conn: &mut DbConnection, participant_id: Id) -> QueryResult<()> {
    diesel::update(
        attendance_marks::table.filter(attendance_marks::participant_id.eq(participant_id)),
    )
    .set(attendance_marks::note.eq(None::<String>))
    .execute(conn)?;
    diesel::update(
        attendance_changes::table.filter(attendance_changes::participant_id.eq(participant_id)),
    )
    .set(attendance_changes::note.eq(None::<String>))
    .execute(conn)?;
    Ok(())
}

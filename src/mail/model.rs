//! Emails waiting to be sent, and the people and sessions they tell of.
//!
//! A message holds an address and a name, so its row lives only until it
//! is sent or given up. Servers claim messages as they claim webhook
//! deliveries: by moving `next_attempt_at` past the try
//! ([`CLAIM_LEASE`]), then sending after the claim commits.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{
    attendance_marks, courses, enrolments, mail_messages, participants, sessions, users,
};
use crate::db::{self, DbConnection};
use crate::id::Id;
use crate::outbox::model::{CLAIM_LEASE, SessionPlan};
use crate::vocab::{EnrolmentStatus, SessionStatus};

#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = mail_messages)]
pub struct MailMessage {
    pub id: Id,
    pub event_id: Id,
    /// The participant it is about.
    pub about_id: Id,
    /// The participant whose address it goes to: the same, or their
    /// guardian.
    pub addressee_id: Id,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub attempts: i32,
    pub created_at: NaiveDateTime,
    pub next_attempt_at: NaiveDateTime,
}

/// A message to write: to whom, about what.
#[derive(Clone, Debug, PartialEq)]
pub struct Letter {
    pub about_id: Id,
    pub addressee_id: Id,
    pub recipient: String,
    pub subject: String,
    pub body: String,
}

/// Queues a message for sending at once.
pub fn enqueue(conn: &mut DbConnection, event_id: Id, letter: Letter) -> QueryResult<()> {
    let now = db::now();
    let message = MailMessage {
        id: Id::new(),
        event_id,
        about_id: letter.about_id,
        addressee_id: letter.addressee_id,
        recipient: letter.recipient,
        subject: letter.subject,
        body: letter.body,
        attempts: 0,
        created_at: now,
        next_attempt_at: now,
    };
    diesel::insert_into(mail_messages::table).values(&message).execute(conn).map(drop)
}

/// Up to `limit` due messages, claimed for this server for
/// [`CLAIM_LEASE`]. Call inside a write transaction; send after it commits.
pub fn claim_due(conn: &mut DbConnection, limit: i64) -> QueryResult<Vec<MailMessage>> {
    let now = db::now();
    let due = mail_messages::table
        .filter(mail_messages::next_attempt_at.le(now))
        .order(mail_messages::next_attempt_at.asc())
        .limit(limit)
        .select(mail_messages::id);
    let ids: Vec<Id> = match conn {
        DbConnection::Sqlite(inner) => due.load(inner)?,
        DbConnection::Postgresql(inner) => due.for_update().skip_locked().load(inner)?,
    };
    diesel::update(mail_messages::table.filter(mail_messages::id.eq_any(&ids)))
        .set(mail_messages::next_attempt_at.eq(now + CLAIM_LEASE))
        .execute(conn)?;
    mail_messages::table
        .filter(mail_messages::id.eq_any(&ids))
        .order(mail_messages::id.asc())
        .select(MailMessage::as_select())
        .load(conn)
}

/// Whether any message is due (a read: see `outbox::model::any_due`).
pub fn any_due(conn: &mut DbConnection) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        mail_messages::table.filter(mail_messages::next_attempt_at.le(db::now())),
    ))
    .get_result(conn)
}

/// What became of a try to send a message.
#[derive(Clone, Copy, Debug)]
pub enum MailOutcome {
    /// Sent, or given up: the message goes.
    Done,
    /// To be tried again at this time.
    RetryAt(NaiveDateTime),
}

/// Records a try of `message` as claimed. A claim that another server has
/// taken over since (its lease ran out) records nothing.
pub fn record_attempt(
    conn: &mut DbConnection,
    message: &MailMessage,
    outcome: MailOutcome,
) -> QueryResult<()> {
    // The claim set `next_attempt_at` to the end of its lease.
    let row = mail_messages::table
        .find(message.id)
        .filter(mail_messages::next_attempt_at.eq(message.next_attempt_at));
    match outcome {
        MailOutcome::Done => diesel::delete(row).execute(conn)?,
        MailOutcome::RetryAt(at) => diesel::update(row)
            .set((
                mail_messages::attempts.eq(mail_messages::attempts + 1),
                mail_messages::next_attempt_at.eq(at),
            ))
            .execute(conn)?,
    };
    Ok(())
}

/// Drops the messages not yet sent about a person or to their address
/// (they are being anonymised).
pub fn forget_person(conn: &mut DbConnection, participant_id: Id) -> QueryResult<()> {
    diesel::delete(
        mail_messages::table.filter(
            mail_messages::about_id
                .eq(participant_id)
                .or(mail_messages::addressee_id.eq(participant_id)),
        ),
    )
    .execute(conn)
    .map(drop)
}

/// Messages waiting to be sent, and since when the oldest has waited.
pub fn backlog(conn: &mut DbConnection) -> QueryResult<(i64, Option<NaiveDateTime>)> {
    mail_messages::table
        .select((diesel::dsl::count_star(), diesel::dsl::min(mail_messages::created_at)))
        .first(conn)
}

/// A session as an email tells it: its time and place as they are now.
#[derive(Clone, Debug)]
pub struct SessionNote {
    pub course_title: String,
    pub status: SessionStatus,
    pub plan: SessionPlan,
}

pub fn session_note(conn: &mut DbConnection, session_id: Id) -> QueryResult<Option<SessionNote>> {
    sessions::table
        .inner_join(courses::table)
        .filter(sessions::id.eq(session_id))
        .select((
            courses::title,
            sessions::starts_at,
            sessions::ends_at,
            sessions::venue,
            sessions::status,
        ))
        .first::<(String, NaiveDateTime, NaiveDateTime, String, SessionStatus)>(conn)
        .optional()
        .map(|row| {
            row.map(|(course_title, starts_at, ends_at, venue, status)| SessionNote {
                course_title,
                status,
                plan: SessionPlan {
                    starts_at: starts_at.and_utc(),
                    ends_at: ends_at.and_utc(),
                    venue,
                },
            })
        })
}

/// Whom an email about a person's place goes to.
#[derive(Clone, Debug, PartialEq)]
pub struct Addressee {
    /// The person the place is for.
    pub participant_id: Id,
    pub name: String,
    /// Whose address it is: the person's, or their guardian's.
    pub owner_id: Id,
    /// Their own address, or else their guardian's.
    pub address: String,
    /// Whether `address` is the guardian's.
    pub via_guardian: bool,
}

/// The address that reaches a participant: the one on their profile, or
/// else their account's (an active account's only).
fn own_address(conn: &mut DbConnection, participant_id: Id) -> QueryResult<Option<String>> {
    let row: Option<(Option<String>, Option<String>, Option<bool>)> = participants::table
        .left_join(users::table.on(users::id.nullable().eq(participants::user_id)))
        .filter(participants::id.eq(participant_id))
        .filter(participants::anonymized_at.is_null())
        .select((participants::email, users::email.nullable(), users::active.nullable()))
        .first(conn)
        .optional()?;
    Ok(match row {
        Some((Some(email), _, _)) => Some(email),
        Some((None, Some(account), Some(true))) => Some(account),
        _ => None,
    })
}

/// Whom to write to about `participant_id`'s place: the person, or their
/// guardian when the person has no address; nobody when neither has one,
/// or when the profile was anonymised.
pub fn addressee(conn: &mut DbConnection, participant_id: Id) -> QueryResult<Option<Addressee>> {
    let person: Option<(String, Option<Id>)> = participants::table
        .filter(participants::id.eq(participant_id))
        .filter(participants::anonymized_at.is_null())
        .select((participants::full_name, participants::guardian_id))
        .first(conn)
        .optional()?;
    let Some((name, guardian_id)) = person else {
        return Ok(None);
    };
    if let Some(address) = own_address(conn, participant_id)? {
        let owner_id = participant_id;
        return Ok(Some(Addressee {
            participant_id,
            name,
            owner_id,
            address,
            via_guardian: false,
        }));
    }
    let Some(guardian_id) = guardian_id else {
        return Ok(None);
    };
    Ok(own_address(conn, guardian_id)?.map(|address| Addressee {
        participant_id,
        name,
        owner_id: guardian_id,
        address,
        via_guardian: true,
    }))
}

/// Whether the person holds an enrolled or waitlisted place in the session
/// (after a merge, the place kept when its twin was cancelled).
pub fn holds_place(
    conn: &mut DbConnection,
    session_id: Id,
    participant_id: Id,
) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        enrolments::table
            .filter(enrolments::session_id.eq(session_id))
            .filter(enrolments::participant_id.eq(participant_id))
            .filter(enrolments::status.ne(EnrolmentStatus::Cancelled)),
    ))
    .get_result(conn)
}

/// Whether the place has an attendance mark: its person came (a walk-in
/// is marked present as their place is made).
pub fn is_marked(conn: &mut DbConnection, enrolment_id: Id) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(attendance_marks::table.find(enrolment_id))).get_result(conn)
}

/// The people holding places of `statuses` in a session.
pub fn place_holders(
    conn: &mut DbConnection,
    session_id: Id,
    statuses: &[EnrolmentStatus],
) -> QueryResult<Vec<Id>> {
    enrolments::table
        .filter(enrolments::session_id.eq(session_id))
        .filter(enrolments::status.eq_any(statuses))
        .order(enrolments::id.asc())
        .select(enrolments::participant_id)
        .load(conn)
}

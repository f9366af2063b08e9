//! A person's data across the tables that hold it.

use diesel::prelude::*;
use diesel::sql_types::Text;

use crate::attendance;
use crate::audit::{self, Action, Actor, EntityType, FieldChange};
use crate::auth::logins;
use crate::db::{self, DbConnection};
use crate::enrolments::model as enrolments;
use crate::error::{AppError, Conflict, FieldIssue};
use crate::id::Id;
use crate::mail;
use crate::participants::model as participants;
use crate::participants::{Participant, consent};
use crate::users::model as users;
use crate::vocab::EnrolmentStatus;

/// Anonymizes a person: their profile's personal data, the notes on their
/// marks (they may say why someone was absent; the marks stay, as
/// statistics count them), their own participant account with its login
/// sessions, their dependants' link to them, and the answers kept for
/// retries that name them. Doing it again changes nothing. Call with the
/// profile's row locked.
pub fn anonymize(
    conn: &mut DbConnection,
    actor: &Actor,
    current: Participant,
) -> Result<Participant, AppError> {
    if current.anonymized_at.is_some() {
        return Ok(current);
    }
    let erased = participants::erase_personal_data(conn, &current)?;
    attendance::model::erase_notes(conn, current.id)?;
    if let Some(user_id) = current.user_id
        && users::erase_participant_account(conn, actor, user_id)?
    {
        logins::revoke_all(conn, user_id, None)?;
    }
    participants::release_dependants(conn, actor, &current, &erased)?;
    forget_kept_answers_naming(conn, current.id)?;
    mail::model::forget_person(conn, current.id)?;
    Ok(erased)
}

/// Withdraws a guardian's consent for a child and cancels the child's
/// places in sessions that have not started, each as a cancellation (the
/// first on a waitlist takes a freed seat). Withdrawing again changes
/// nothing. Call inside a write transaction.
///
/// `subject` finds the profile and checks that the caller may withdraw it;
/// it runs twice: first unlocked, so that a caller with no right to the
/// profile takes no lock at all, then with the profile's row locked, which
/// decides. The sessions' rows are locked in between, in the order an
/// enrolment takes them (sessions, then the person), so that a withdrawal
/// and an enrolment of the same child wait for each other instead of
/// deadlocking. A place taken in another session between the two reads
/// would need a lock out of that order: the withdrawal is then answered
/// `503`, to be sent again.
pub fn withdraw_consent(
    conn: &mut DbConnection,
    actor: &Actor,
    id: Id,
    subject: impl Fn(&mut DbConnection) -> Result<Participant, AppError>,
) -> Result<Participant, AppError> {
    subject(conn)?;
    let places = enrolments::places_ahead(conn, id, db::now())?;
    for (_, session_id) in &places {
        db::lock_row(conn, db::Table::Sessions, *session_id)?;
    }
    db::lock_row(conn, db::Table::Participants, id)?;
    let current = subject(conn)?;
    let held = current.has_consent();
    let withdrawn = consent::withdraw(conn, actor, current)?;
    if held {
        let now_ahead = enrolments::places_ahead(conn, id, db::now())?;
        if now_ahead.iter().any(|(_, session)| !places.iter().any(|(_, s)| s == session)) {
            return Err(AppError::ServiceUnavailable { retry_after_secs: 1 });
        }
        for (place, _) in now_ahead {
            enrolments::cancel(conn, actor, place)?;
        }
    }
    Ok(withdrawn)
}

/// Merges profile `merged` into profile `into`: one person entered twice.
/// Their places move to `into` with their marks and history; where both
/// hold a place in one session, the better place stays (enrolled before
/// waitlisted, then the nearer the front) and the other is cancelled as a
/// cancellation is (in a session that is over, no one is promoted). Their
/// dependants, the consents they gave and their account go to `into`; the
/// merged profile is anonymised, and the audit trail records the merge on
/// it. Answers `into` as it is after. Call inside a write transaction.
///
/// Places in different sessions at overlapping times are kept, both: they
/// are what was recorded of the person, for a coordinator to settle.
///
/// `subject` finds both profiles and checks the caller may merge them; it
/// runs first unlocked, then with both rows locked, which decides. The
/// sessions in which `merged` holds places are locked before the people,
/// as enrolments lock them; a place taken meanwhile in another session
/// answers `503`, to be sent again.
pub fn merge(
    conn: &mut DbConnection,
    actor: &Actor,
    subject: impl Fn(&mut DbConnection) -> Result<(Participant, Participant), AppError>,
) -> Result<Participant, AppError> {
    let (merged, into) = subject(conn)?;
    let sessions = enrolments::active_sessions(conn, merged.id)?;
    for session in &sessions {
        db::lock_row(conn, db::Table::Sessions, *session)?;
    }
    let (first, second) =
        if merged.id < into.id { (merged.id, into.id) } else { (into.id, merged.id) };
    db::lock_row(conn, db::Table::Participants, first)?;
    db::lock_row(conn, db::Table::Participants, second)?;
    let (merged, into) = subject(conn)?;
    if merged.id == into.id {
        return Err(AppError::validation("into", FieldIssue::Incorrect));
    }
    if merged.anonymized_at.is_some() || into.anonymized_at.is_some() {
        return Err(AppError::Conflict(Conflict::Anonymized));
    }
    if merged.user_id.is_some() && into.user_id.is_some() {
        return Err(AppError::validation("into", FieldIssue::AlreadyLinked));
    }
    if into.guardian_id == Some(merged.id) {
        return Err(AppError::validation("into", FieldIssue::CreatesCycle));
    }
    if enrolments::active_sessions(conn, merged.id)? != sessions {
        return Err(AppError::ServiceUnavailable { retry_after_secs: 1 });
    }
    for place in enrolments::places_of(conn, merged.id)? {
        let mut place = place;
        if place.status != EnrolmentStatus::Cancelled
            && let Some(theirs) = enrolments::active_enrolment(conn, place.session_id, into.id)?
        {
            // A place the person was marked at tells where they were: it
            // stays whatever the other one's standing.
            let keep_mine = match (
                attendance::model::attended(conn, place.id)?,
                attendance::model::attended(conn, theirs.id)?,
            ) {
                (true, false) => true,
                (false, true) => false,
                _ => enrolments::is_better_place(&place, &theirs),
            };
            if keep_mine {
                enrolments::cancel_duplicate(conn, actor, theirs.id)?;
            } else {
                place = enrolments::cancel_duplicate(conn, actor, place.id)?;
            }
        }
        enrolments::move_place(conn, actor, &place, into.id)?;
        attendance::model::move_marks(conn, &place, into.id)?;
    }
    participants::move_dependants(conn, actor, merged.id, into.id)?;
    // Both as they are now: the moves above may have changed them.
    let (merged, into) = subject(conn)?;
    let (merged, into) = participants::move_account(conn, actor, merged, into)?;
    let merged_id = merged.id;
    anonymize(conn, actor, merged)?;
    let change = FieldChange {
        field: "merged_into".into(),
        from: serde_json::Value::Null,
        to: serde_json::Value::String(into.id.to_string()),
        redacted: false,
    };
    audit::record(conn, actor, Action::Merge, EntityType::Participant, merged_id, vec![change])?;
    Ok(into)
}

/// Forgets every answer kept for retries (`idempotency`) that names `id`:
/// a person's data must not outlive their erasure in a stored answer. A
/// retry of such a request runs again, as after its day.
fn forget_kept_answers_naming(conn: &mut DbConnection, id: Id) -> QueryResult<usize> {
    let statement = match conn {
        DbConnection::Postgresql(_) => {
            "DELETE FROM idempotency_keys WHERE position(convert_to($1, 'UTF8') IN body) > 0"
        }
        DbConnection::Sqlite(_) => {
            "DELETE FROM idempotency_keys WHERE instr(body, CAST(? AS BLOB)) > 0"
        }
    };
    diesel::sql_query(statement).bind::<Text, _>(id.to_string()).execute(conn)
}

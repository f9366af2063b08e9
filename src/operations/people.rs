//! A person's data across the tables that hold it.

use diesel::prelude::*;
use diesel::sql_types::Text;

use crate::attendance;
use crate::audit::Actor;
use crate::auth::logins;
use crate::db::{self, DbConnection};
use crate::enrolments::model as enrolments;
use crate::error::AppError;
use crate::id::Id;
use crate::participants::model as participants;
use crate::participants::{Participant, consent};
use crate::users::model as users;

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
    Ok(erased)
}

/// Withdraws a guardian's consent for a child and cancels the child's
/// places in sessions that have not started, each as a cancellation (the
/// first on a waitlist takes a freed seat). `subject` finds the profile
/// and checks the caller may withdraw it, taking its row lock; the rows of
/// the sessions are locked before it, in the order an enrolment takes
/// them (sessions, then people), so that a withdrawal and an enrolment of
/// the same child wait for each other instead of deadlocking. Withdrawing
/// again changes nothing. Call inside a write transaction.
pub fn withdraw_consent(
    conn: &mut DbConnection,
    actor: &Actor,
    id: Id,
    subject: impl FnOnce(&mut DbConnection) -> Result<Participant, AppError>,
) -> Result<Participant, AppError> {
    for (_, session_id) in enrolments::places_ahead(conn, id, db::now())? {
        db::lock_row(conn, db::Table::Sessions, session_id)?;
    }
    let current = subject(conn)?;
    let held = current.has_consent();
    let withdrawn = consent::withdraw(conn, actor, current)?;
    if held {
        for (place, _) in enrolments::places_ahead(conn, id, db::now())? {
            enrolments::cancel(conn, actor, place)?;
        }
    }
    Ok(withdrawn)
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

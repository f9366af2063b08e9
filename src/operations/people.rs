//! A person's data across the tables that hold it.

use crate::attendance;
use crate::audit::Actor;
use crate::auth::logins;
use crate::db::DbConnection;
use crate::error::AppError;
use crate::participants::Participant;
use crate::participants::model as participants;
use crate::users::model as users;

/// Anonymises a profile (see [`participants::anonymize`]), the notes on
/// their marks (they may say why someone was absent; the marks stay, as
/// statistics count them) and their own participant account, whose login
/// sessions end. Doing it again changes nothing. Call with the profile's
/// row locked.
pub fn anonymise(
    conn: &mut DbConnection,
    actor: &Actor,
    current: Participant,
) -> Result<Participant, AppError> {
    if current.anonymized_at.is_some() {
        return Ok(current);
    }
    let account = current.user_id;
    let erased = participants::anonymize(conn, actor, current)?;
    attendance::model::erase_notes(conn, erased.id)?;
    if let Some(user_id) = account
        && users::erase_participant_account(conn, actor, user_id)?
    {
        logins::revoke_all(conn, user_id, None)?;
    }
    Ok(erased)
}

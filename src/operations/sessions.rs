//! A session's changes with what they mean for its places.

use chrono_tz::Tz;

use crate::audit::Actor;
use crate::db::{self, DbConnection};
use crate::enrolments;
use crate::error::AppError;
use crate::id::Id;
use crate::sessions::model::{self as sessions, SessionChanged, SessionDetails, SessionUpdate};
use crate::vocab::SessionStatus;

/// Changes a session (see [`sessions::update`], which locks its row). A
/// session newly cancelled loses its places; new seats in a session not
/// yet over go to the people waiting. Turning the waitlist off keeps the
/// people already on it.
pub fn change_session(
    conn: &mut DbConnection,
    actor: &Actor,
    id: Id,
    expected: impl FnOnce(&mut DbConnection, &SessionDetails) -> Result<(), AppError>,
    update: SessionUpdate,
    zone: Tz,
) -> Result<SessionDetails, AppError> {
    let SessionChanged { before, after } =
        sessions::update(conn, actor, id, expected, update, zone)?;
    let session = &after.session;
    if session.status == SessionStatus::Cancelled && before.status != SessionStatus::Cancelled {
        enrolments::model::cancel_all(conn, actor, id)?;
    } else if session.capacity > before.capacity && session.ends_at > db::now() {
        enrolments::model::promote_from_waitlist(conn, actor, id)?;
    } else {
        return Ok(after);
    }
    // Read back whole: the counts moved.
    sessions::find(conn, id)?.ok_or(AppError::NotFound)
}

//! People who come to a session without a place.

use crate::access::{Marker, ParticipantScope};
use crate::attendance::AttendanceMark;
use crate::attendance::model::{self as attendance, NewMark};
use crate::db::{self, DbConnection};
use crate::enrolments::Enrolment;
use crate::enrolments::model as enrolments;
use crate::error::{AppError, Refusal};
use crate::id::Id;
use crate::participants::model::{self as participants, ProfileFields, ProfileLinks};
use crate::sessions::model as sessions;
use crate::vocab::{AttendanceStatus, EnrolmentStatus, MarkSource, SessionStatus};

/// Who walked in: someone known, or a new profile to create.
pub enum WalkInPerson {
    Known(Id),
    New(ProfileFields),
}

/// A walk-in as recorded: their place, whether it is new, and their mark.
pub struct WalkedIn {
    pub place: Enrolment,
    pub created: bool,
    pub mark: AttendanceMark,
}

/// Adds a person who came without a place, as `marker` (an admin, or a
/// trainer of the session within the marking window): a new enrolled place
/// (source `walk_in`) even when the session is full, or their waitlisted
/// place moved up; then marks them `present`. Someone given by name and
/// details who is already on file gets their own profile's place. The
/// session is locked before it is read, so that a cancel meanwhile is seen.
pub fn walk_in(
    conn: &mut DbConnection,
    marker: &Marker,
    session_id: Id,
    person: WalkInPerson,
) -> Result<WalkedIn, AppError> {
    db::lock_row(conn, db::Table::Sessions, session_id)?;
    let details = sessions::find(conn, session_id)?.ok_or(AppError::NotFound)?;
    marker.check(&details)?;
    attendance::check_marking_window(&details.session, marker, db::now())?;
    let actor = marker.actor();
    let participant_id = match person {
        // By id, only someone the marker may already see (a trainer: the
        // people on their rosters); anyone else is as unknown, so that an
        // id cannot be tried out to pull a stranger onto a roster.
        WalkInPerson::Known(id) => {
            let scope = ParticipantScope::of(conn, &marker.user)?;
            participants::find_visible(conn, &scope, id)?
                .filter(|p| p.anonymized_at.is_none())
                .ok_or(AppError::Refused(Refusal::ParticipantNotFound))?;
            id
        }
        // By name and details: the person already on file when there is
        // one, not a second profile of them.
        WalkInPerson::New(profile) => match participants::find_same_person(conn, &profile)? {
            Some(known) => known.id,
            None => {
                let links =
                    ProfileLinks { created_by: Some(marker.user.id), ..ProfileLinks::default() };
                participants::create(conn, &actor, profile.into_new(links))?.id
            }
        },
    };
    if details.session.status == SessionStatus::Cancelled {
        return Err(AppError::Refused(Refusal::SessionCancelled));
    }
    let (place, created) = match enrolments::active_enrolment(conn, session_id, participant_id)? {
        Some(place) if place.status == EnrolmentStatus::Enrolled => (place, false),
        Some(waiting) => (enrolments::admit_waitlisted(conn, &actor, &waiting)?, false),
        None => (enrolments::admit_walk_in(conn, &actor, session_id, participant_id)?, true),
    };
    let mark = NewMark {
        participant_id,
        status: AttendanceStatus::Present,
        note: None,
        source: MarkSource::Trainer,
        recorded_at: db::now(),
    };
    let mark = attendance::record_mark(conn, &actor, session_id, mark)?.into_mark();
    Ok(WalkedIn { place, created, mark })
}

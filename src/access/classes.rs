//! Who may do what in a session: take its roll-call, see its roster, and
//! enrol people in it.

use crate::audit::Actor;
use crate::error::AppError;
use crate::id::Id;
use crate::sessions::model::SessionDetails;
use crate::users::User;
use crate::vocab::{EnrolmentSource, Role};

/// 403 unless `user` is an admin or teaches the session.
pub fn check_marker(details: &SessionDetails, user: &User) -> Result<(), AppError> {
    match user.role {
        Role::Admin => Ok(()),
        Role::Trainer if details.trainer_ids.contains(&user.id) => Ok(()),
        _ => Err(AppError::Forbidden),
    }
}

/// The roles that take roll-calls (of the sessions they teach, for
/// trainers) and may pair a device to do it with.
pub const MARKING_ROLES: [Role; 2] = [Role::Trainer, Role::Admin];

/// Whether `user` takes roll-calls: see [`MARKING_ROLES`].
pub fn takes_roll_calls(user: &User) -> bool {
    MARKING_ROLES.contains(&user.role)
}

/// Whether `user` may mark outside the marking window, to correct the
/// record: admins.
pub fn corrects_marks(user: &User) -> bool {
    user.role == Role::Admin
}

/// Who takes a session's roll-call: a signed-in person, or a device that a
/// trainer (or an admin) paired, acting for them. A device marks the
/// sessions its person marks (a trainer's own; an admin's, any), and only
/// within the marking window: corrections after it are made in person.
#[derive(Clone, Debug)]
pub struct Marker {
    pub user: User,
    pub device: Option<Id>,
}

impl Marker {
    pub fn person(user: User) -> Self {
        Self { user, device: None }
    }

    /// Who the audit trail and the marks' history name.
    pub fn actor(&self) -> Actor {
        Actor::user_on(self.user.id, self.device)
    }

    /// 403 unless this marker takes the session's roll-call.
    pub fn check(&self, details: &SessionDetails) -> Result<(), AppError> {
        check_marker(details, &self.user)
    }

    /// Whether this marker may mark outside the marking window.
    pub fn corrects_marks(&self) -> bool {
        self.device.is_none() && corrects_marks(&self.user)
    }
}

/// Whether `user` sees a place (of someone in their scope) in this session:
/// a trainer sees the people on the rosters they teach, but their places
/// only in those sessions; everyone else sees every place of whom they see.
pub fn sees_place_in(details: &SessionDetails, user: &User) -> bool {
    user.role != Role::Trainer || check_marker(details, user).is_ok()
}

/// Whose places `user` sees on a session's roster: everyone's (`None`) for
/// admins and the session's trainers, who take its roll-call; their unit's
/// for a coordinator; for anyone else, 403.
pub fn roster_unit(details: &SessionDetails, user: &User) -> Result<Option<Id>, AppError> {
    match check_marker(details, user) {
        Ok(()) => Ok(None),
        // Coordinators always have a unit (a CHECK constraint); one without
        // would be refused.
        Err(_) if user.role == Role::Coordinator => {
            user.organization_id.map(Some).ok_or(AppError::Forbidden)
        }
        Err(refused) => Err(refused),
    }
}

/// How an enrolment made by someone of `role` is recorded, or 403 for
/// trainers, who enrol no one (they add walk-ins). Whom they may enrol is
/// their [`super::ParticipantScope`].
pub fn enrolment_source(role: Role) -> Result<EnrolmentSource, AppError> {
    match role {
        Role::Admin => Ok(EnrolmentSource::Admin),
        Role::Coordinator => Ok(EnrolmentSource::Coordinator),
        Role::Participant => Ok(EnrolmentSource::SelfService),
        Role::Trainer => Err(AppError::Forbidden),
    }
}

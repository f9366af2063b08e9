//! Who reads the figures: admins for every unit, coordinators for their
//! own; trainers and participants for none.

use crate::error::AppError;
use crate::id::Id;
use crate::users::User;
use crate::vocab::Role;

/// The unit a report of `caller`'s covers: the one named (or all, `None`)
/// for an admin, their own for a coordinator. 403 for a coordinator naming
/// another unit, and for trainers and participants.
pub fn report_unit(caller: &User, named: Option<Id>) -> Result<Option<Id>, AppError> {
    match caller.role {
        Role::Admin => Ok(named),
        Role::Coordinator => {
            // Coordinators always have a unit (a CHECK constraint).
            let own = caller.organization_id.ok_or(AppError::Forbidden)?;
            match named {
                Some(other) if other != own => Err(AppError::Forbidden),
                _ => Ok(Some(own)),
            }
        }
        Role::Trainer | Role::Participant => Err(AppError::Forbidden),
    }
}

//! Accounts with what hangs on them: the participant profile created with
//! one, and the login sessions a change of password or role ends.

use crate::access;
use crate::audit::Actor;
use crate::auth::logins;
use crate::calendars::model as calendars;
use crate::db::DbConnection;
use crate::devices::model as devices;
use crate::error::{AppError, FieldIssue};
use crate::id::Id;
use crate::organizations;
use crate::participants::model::{self as participants, ProfileFields, ProfileLinks};
use crate::users::User;
use crate::users::model::{self as users, AccountChanged, AccountUpdate};

/// An account to create, with the participant profile to link to it (self
/// sign-up always has one) and who creates it (on sign-up, the new user).
pub struct NewAccount {
    pub user: User,
    pub profile: Option<ProfileFields>,
    pub created_by: Actor,
}

/// Creates an account and its linked profile: both rows exist afterwards or
/// neither does. Gives the user and the id of their participant profile.
pub fn create_account(
    conn: &mut DbConnection,
    account: NewAccount,
) -> Result<(User, Option<Id>), AppError> {
    // The profile's unit is checked before the email, as the account's is.
    if let Some(unit) = account.profile.as_ref().and_then(|p| p.organization_id)
        && !organizations::model::exists(conn, unit)?
    {
        return Err(AppError::validation("organization_id", FieldIssue::UnknownReference));
    }
    let actor = account.created_by;
    let user = users::create(conn, &actor, &account.user)?;
    let participant_id = match account.profile {
        Some(profile) => {
            let links = ProfileLinks {
                user_id: Some(user.id),
                created_by: actor.id(),
                ..ProfileLinks::default()
            };
            Some(participants::create(conn, &actor, profile.into_new(links))?.id)
        }
        None => None,
    };
    Ok((user, participant_id))
}

/// Sets a user's own new password and ends their other login sessions
/// (`keep_login` is the one they asked from). When the account changed since
/// `seen` was read, nothing happens and the answer is false (see
/// [`users::set_own_password`]).
pub fn change_own_password(
    conn: &mut DbConnection,
    seen: &User,
    keep_login: Id,
    password_hash: String,
) -> Result<bool, AppError> {
    let changed = users::set_own_password(conn, seen, password_hash)?;
    if changed {
        logins::revoke_all(conn, seen.id, Some(keep_login))?;
    }
    Ok(changed)
}

/// Applies an admin's change to an account (see [`users::update_account`]);
/// a deactivated account or a reset password ends every login session, and
/// an account that may no longer mark (deactivated, or given another role)
/// loses its paired devices, and a deactivated one its calendar feed.
pub fn update_account(
    conn: &mut DbConnection,
    actor: &Actor,
    id: Id,
    expected: impl FnOnce(&mut DbConnection, &User) -> Result<(), AppError>,
    update: AccountUpdate,
) -> Result<User, AppError> {
    let AccountChanged { user, ends_logins } =
        users::update_account(conn, actor, id, expected, update)?;
    if ends_logins {
        logins::revoke_all(conn, id, None)?;
    }
    if !(user.active && access::takes_roll_calls(&user)) {
        devices::revoke_all_of(conn, actor, id)?;
    }
    if !user.active {
        calendars::remove(conn, id)?;
    }
    Ok(user)
}

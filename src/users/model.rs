use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use serde::Serialize;

use crate::audit::{self, Action, Actor, EntityType, FieldChange};
use crate::db::schema::{participants as participant_rows, users};
use crate::db::{self, DbConnection};
use crate::error::{AppError, Conflict, FieldIssue};
use crate::id::Id;
use crate::organizations;
use crate::paging::{PageRequest, Paged};
use crate::validation::Validator;
use crate::vocab::Role;

// `Debug` is written by hand below so that the hash never reaches a log;
// the `Serialize` form is the audit trail's snapshot, without the hash.
#[derive(Clone, Queryable, Insertable, Serialize)]
#[diesel(table_name = users, treat_none_as_default_value = false)]
pub struct User {
    pub id: Id,
    pub email: String,
    #[serde(skip)]
    pub password_hash: String,
    pub full_name: String,
    pub role: Role,
    pub organization_id: Option<Id>,
    pub active: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("role", &self.role)
            .field("active", &self.active)
            .finish_non_exhaustive()
    }
}

impl User {
    /// A new active account, not yet stored.
    pub fn new(email: String, password_hash: String, full_name: String, role: Role) -> Self {
        let now = db::now();
        Self {
            id: Id::new(),
            email,
            password_hash,
            full_name,
            role,
            organization_id: None,
            active: true,
            created_at: now,
            updated_at: now,
        }
    }
}

/// A change to an account; `None` leaves a column as it is.
#[derive(Default, AsChangeset)]
#[diesel(table_name = users)]
pub struct UserChanges {
    pub email: Option<String>,
    pub full_name: Option<String>,
    pub role: Option<Role>,
    pub organization_id: Option<Option<Id>>,
    pub active: Option<bool>,
    pub password_hash: Option<String>,
    pub updated_at: Option<NaiveDateTime>,
}

#[derive(Debug, Default)]
pub struct UserFilter {
    pub role: Option<Role>,
    pub active: Option<bool>,
}

pub fn insert(conn: &mut DbConnection, new: &User) -> QueryResult<User> {
    diesel::insert_into(users::table).values(new).returning(users::all_columns).get_result(conn)
}

pub fn find(conn: &mut DbConnection, id: Id) -> QueryResult<Option<User>> {
    users::table.find(id).first(conn).optional()
}

/// `email` must already be in its stored (lower-case) form.
pub fn find_by_email(conn: &mut DbConnection, email: &str) -> QueryResult<Option<User>> {
    users::table.filter(users::email.eq(email)).first(conn).optional()
}

/// Whether `seen` is still the account as stored: active, with the same
/// password and role. Long work (a hash) done on a read account checks this
/// in the transaction that acts on it.
pub fn unchanged_since(conn: &mut DbConnection, seen: &User) -> QueryResult<bool> {
    Ok(find(conn, seen.id)?.is_some_and(|now| {
        now.active && now.password_hash == seen.password_hash && now.role == seen.role
    }))
}

pub fn email_taken(conn: &mut DbConnection, email: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(users::table.filter(users::email.eq(email))))
        .get_result(conn)
}

pub fn list(
    conn: &mut DbConnection,
    filter: &UserFilter,
    page: &PageRequest,
) -> QueryResult<Vec<User>> {
    let mut query = users::table.into_boxed();
    if let Some(role) = filter.role {
        query = query.filter(users::role.eq(role));
    }
    if let Some(active) = filter.active {
        query = query.filter(users::active.eq(active));
    }
    query.page(users::id, page).load(conn)
}

pub fn update(conn: &mut DbConnection, id: Id, changes: &UserChanges) -> QueryResult<User> {
    diesel::update(users::table.find(id))
        .set(changes)
        .returning(users::all_columns)
        .get_result(conn)
}

pub fn any_active_admin(conn: &mut DbConnection) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        users::table.filter(users::role.eq(Role::Admin)).filter(users::active.eq(true)),
    ))
    .get_result(conn)
}

fn other_active_admins(conn: &mut DbConnection, except_id: Id) -> QueryResult<i64> {
    users::table
        .filter(users::role.eq(Role::Admin))
        .filter(users::active.eq(true))
        .filter(users::id.ne(except_id))
        .count()
        .get_result(conn)
}

/// The participant profile linked to each of these accounts, if any.
pub fn linked_participants(
    conn: &mut DbConnection,
    user_ids: &[Id],
) -> QueryResult<HashMap<Id, Id>> {
    let pairs: Vec<(Option<Id>, Id)> = participant_rows::table
        .filter(participant_rows::user_id.eq_any(user_ids))
        .select((participant_rows::user_id, participant_rows::id))
        .load(conn)?;
    Ok(pairs.into_iter().filter_map(|(user, participant)| Some((user?, participant))).collect())
}

/// The fields of an account that the audit trail names without values.
const PERSONAL_FIELDS: &[&str] = &["email", "full_name"];

/// Creates an account, checking its unit and that its email is free.
/// `created_by` is who creates it (on sign-up, the new user). Call inside
/// a write transaction; [`crate::operations::accounts::create_account`]
/// adds the participant profile linked to it.
pub fn create(conn: &mut DbConnection, created_by: &Actor, new: &User) -> Result<User, AppError> {
    if let Some(unit) = new.organization_id
        && !organizations::model::exists(conn, unit)?
    {
        return Err(AppError::validation("organization_id", FieldIssue::UnknownReference));
    }
    if email_taken(conn, &new.email)? {
        return Err(AppError::Conflict(Conflict::EmailTaken));
    }
    let user = insert(conn, new).map_err(|err| {
        // A concurrent sign-up with the same email won the race.
        if db::is_unique_violation(&err) {
            AppError::Conflict(Conflict::EmailTaken)
        } else {
            err.into()
        }
    })?;
    let changes = FieldChange::diff(None::<&User>, &user, PERSONAL_FIELDS);
    audit::record(conn, created_by, Action::Create, EntityType::User, user.id, changes)?;
    Ok(user)
}

/// Sets a user's own new password, unless the account changed since `seen`
/// was read (an admin's reset or a deactivation while the new password was
/// hashed wins): then nothing happens and the answer is false. Call inside
/// a write transaction.
pub fn set_own_password(
    conn: &mut DbConnection,
    seen: &User,
    password_hash: String,
) -> QueryResult<bool> {
    if !unchanged_since(conn, seen)? {
        return Ok(false);
    }
    let changes = UserChanges {
        password_hash: Some(password_hash),
        updated_at: Some(db::now()),
        ..UserChanges::default()
    };
    update(conn, seen.id, &changes)?;
    let actor = Actor::user(seen.id);
    let changes = vec![FieldChange::redacted("password")];
    audit::record(conn, &actor, Action::ChangePassword, EntityType::User, seen.id, changes)?;
    Ok(true)
}

/// What an admin may change on an account; `None` leaves it as it is.
#[derive(Default)]
pub struct AccountUpdate {
    pub full_name: Option<String>,
    pub role: Option<Role>,
    /// `Some(None)` clears the unit.
    pub organization_id: Option<Option<Id>>,
    pub active: Option<bool>,
    pub password_hash: Option<String>,
}

/// An admin's change as applied.
pub struct AccountChanged {
    pub user: User,
    /// The account was deactivated or its password reset: its login
    /// sessions must end.
    pub ends_logins: bool,
}

/// Applies an admin's change. Coordinators must keep a unit and only they
/// have one; the last active admin cannot be demoted or deactivated. Call
/// inside a write transaction.
pub fn update_account(
    conn: &mut DbConnection,
    actor: &Actor,
    id: Id,
    expected: impl FnOnce(&mut DbConnection, &User) -> Result<(), AppError>,
    update: AccountUpdate,
) -> Result<AccountChanged, AppError> {
    // Two admins demoting each other at once must not both succeed. The
    // accounts' lock comes before the row's: the row lock alone, taken
    // first, could deadlock with another admin's change whose audit record
    // refers to this account.
    db::serialize_with_others(conn, db::LockKey::Admins)?;
    db::lock_row(conn, db::Table::Users, id)?;
    let current = find(conn, id)?.ok_or(AppError::NotFound)?;
    expected(conn, &current)?;
    let role = update.role.unwrap_or(current.role);
    let active = update.active.unwrap_or(current.active);
    let organization_id = match (&update.organization_id, role) {
        (Some(unit), _) => *unit,
        (None, Role::Coordinator) => current.organization_id,
        (None, _) => None,
    };

    let mut v = Validator::new();
    match (&organization_id, role) {
        (None, Role::Coordinator) => v.add("organization_id", FieldIssue::Required),
        (Some(_), role) if role != Role::Coordinator => {
            v.add("organization_id", FieldIssue::NotAllowedForRole)
        }
        (Some(unit), _) if !organizations::model::exists(conn, *unit)? => {
            v.add("organization_id", FieldIssue::UnknownReference)
        }
        _ => {}
    }
    v.finish()?;

    let loses_admin =
        current.role == Role::Admin && current.active && (role != Role::Admin || !active);
    if loses_admin && other_active_admins(conn, id)? == 0 {
        return Err(AppError::Conflict(Conflict::LastAdmin));
    }

    let ends_logins = (current.active && !active) || update.password_hash.is_some();
    let password_reset = update.password_hash.is_some();
    let changes = UserChanges {
        email: None,
        full_name: update.full_name,
        role: Some(role),
        organization_id: Some(organization_id),
        active: Some(active),
        password_hash: update.password_hash,
        updated_at: Some(db::now()),
    };
    let user = self::update(conn, id, &changes)?;
    let mut changes = FieldChange::diff(Some(&current), &user, PERSONAL_FIELDS);
    if password_reset {
        changes.push(FieldChange::redacted("password"));
    }
    audit::record(conn, actor, Action::Update, EntityType::User, id, changes)?;
    Ok(AccountChanged { user, ends_logins })
}

/// Erases the personal data of a participant's own account, when an admin
/// anonymises the profile linked to it: the name is emptied, the email
/// replaced by one that names nobody, the account deactivated. Staff
/// accounts (other roles) are the centre's own records and stay as they
/// are; the profile is only unlinked from them. Gives whether the account
/// was erased (its login sessions must then end). Call inside a write
/// transaction.
pub fn erase_participant_account(
    conn: &mut DbConnection,
    actor: &Actor,
    user_id: Id,
) -> Result<bool, AppError> {
    let Some(current) = find(conn, user_id)? else {
        return Ok(false);
    };
    if current.role != Role::Participant {
        return Ok(false);
    }
    let changes = UserChanges {
        // `.invalid` is reserved (RFC 2606): no mail can reach it.
        email: Some(format!("erased-{user_id}@lophoc.invalid")),
        full_name: Some(String::new()),
        active: Some(false),
        updated_at: Some(db::now()),
        ..UserChanges::default()
    };
    let erased = update(conn, user_id, &changes)?;
    let changes = FieldChange::diff(Some(&current), &erased, PERSONAL_FIELDS);
    audit::record(conn, actor, Action::Anonymize, EntityType::User, user_id, changes)?;
    Ok(true)
}

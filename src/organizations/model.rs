use chrono::NaiveDateTime;
use diesel::prelude::*;

use serde::Serialize;

use crate::audit::{self, Action, Actor, EntityType, FieldChange};
use crate::db::schema::organizations;
use crate::db::{self, DbConnection};
use crate::error::{AppError, Conflict, FieldIssue};
use crate::id::Id;
use crate::paging::{PageRequest, Paged};
use crate::rows;
use crate::vocab::OrganizationKind;

#[derive(Clone, Debug, Queryable, Insertable, AsChangeset, Serialize)]
#[diesel(table_name = organizations, treat_none_as_default_value = false, treat_none_as_null = true)]
pub struct Organization {
    pub id: Id,
    pub kind: OrganizationKind,
    pub name: String,
    pub code: Option<String>,
    pub parent_id: Option<Id>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// Creates a unit: its parent must exist and its code be free. Call inside
/// a write transaction.
pub fn create(
    conn: &mut DbConnection,
    actor: &Actor,
    unit: Organization,
) -> Result<Organization, AppError> {
    check(conn, &unit)?;
    diesel::insert_into(organizations::table).values(&unit).execute(conn).map_err(code_conflict)?;
    let changes = FieldChange::diff(None::<&Organization>, &unit, &[]);
    audit::record(conn, actor, Action::Create, EntityType::Organization, unit.id, changes)?;
    Ok(unit)
}

/// What an admin may change on a unit; `None` leaves a field as it is,
/// `Some(None)` clears a nullable one.
#[derive(Debug)]
pub struct OrganizationUpdate {
    pub kind: Option<OrganizationKind>,
    pub name: Option<String>,
    pub code: Option<Option<String>>,
    pub parent_id: Option<Option<Id>>,
}

/// Changes a unit; a parent may not be the unit itself or one of its own
/// sub-units. Call inside a write transaction.
pub fn update(
    conn: &mut DbConnection,
    actor: &Actor,
    id: Id,
    expected: impl FnOnce(&mut DbConnection, &Organization) -> Result<(), AppError>,
    update: OrganizationUpdate,
) -> Result<Organization, AppError> {
    if update.parent_id.is_some() {
        // Two units each moved under the other at once must not both pass
        // the loop check. Taken before the row's lock, as every such move
        // takes them.
        db::serialize_with_others(conn, db::LockKey::UnitTree)?;
    }
    rows::update(conn, actor, id, expected, |conn, mut next: Organization| {
        next.kind = update.kind.unwrap_or(next.kind);
        next.name = update.name.unwrap_or(next.name);
        if let Some(code) = update.code {
            next.code = code;
        }
        if let Some(parent) = update.parent_id {
            next.parent_id = parent;
        }
        check(conn, &next)?;
        Ok(next)
    })
}

rows::stored_row!(
    Organization,
    organizations,
    Organizations,
    Organization,
    save_error = code_conflict
);

/// The rules a unit keeps: its parent exists and is not below it, its code
/// belongs to no other unit.
fn check(conn: &mut DbConnection, unit: &Organization) -> Result<(), AppError> {
    if let Some(parent) = unit.parent_id {
        if !exists(conn, parent)? {
            return Err(AppError::validation("parent_id", FieldIssue::UnknownReference));
        }
        if ancestors(conn, parent)?.iter().any(|ancestor| ancestor == &unit.id) {
            return Err(AppError::validation("parent_id", FieldIssue::CreatesCycle));
        }
    }
    if let Some(code) = &unit.code
        && code_taken(conn, code, unit.id)?
    {
        return Err(AppError::Conflict(Conflict::CodeTaken));
    }
    Ok(())
}

/// `id` and the units above it, nearest first. The chain is short (a
/// commune, its hamlets); a loop, which `check` prevents, would stop it.
fn ancestors(conn: &mut DbConnection, id: Id) -> QueryResult<Vec<Id>> {
    let mut chain = vec![id];
    while let Some(parent) = organizations::table
        .find(*chain.last().expect("starts with one"))
        .select(organizations::parent_id)
        .first::<Option<Id>>(conn)
        .optional()?
        .flatten()
    {
        if chain.contains(&parent) {
            break;
        }
        chain.push(parent);
    }
    Ok(chain)
}

/// A unique violation on `code`: a concurrent write took it first.
fn code_conflict(err: diesel::result::Error) -> AppError {
    if db::is_unique_violation(&err) { AppError::Conflict(Conflict::CodeTaken) } else { err.into() }
}

pub fn find(conn: &mut DbConnection, id: Id) -> QueryResult<Option<Organization>> {
    organizations::table.find(id).first(conn).optional()
}

pub fn exists(conn: &mut DbConnection, id: Id) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(organizations::table.find(id))).get_result(conn)
}

/// Whether a unit other than `except_id` has this code.
pub fn code_taken(conn: &mut DbConnection, code: &str, except_id: Id) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        organizations::table
            .filter(organizations::code.eq(code))
            .filter(organizations::id.ne(except_id)),
    ))
    .get_result(conn)
}

pub fn list(
    conn: &mut DbConnection,
    kind: Option<OrganizationKind>,
    parent_id: Option<Id>,
    page: &PageRequest,
) -> QueryResult<Vec<Organization>> {
    let mut query = organizations::table.into_boxed();
    if let Some(kind) = kind {
        query = query.filter(organizations::kind.eq(kind));
    }
    if let Some(parent) = parent_id {
        query = query.filter(organizations::parent_id.eq(parent));
    }
    query.page(organizations::id, page).load(conn)
}

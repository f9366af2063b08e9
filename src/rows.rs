//! The frame every change to a stored row goes through, written once: lock
//! the row, read it, check what the caller expects of it (the version an
//! `If-Match` names) against what is stored, merge the change and check the
//! result, and only if something differs stamp it, save it and record it
//! in the audit trail, all in the caller's write transaction.
//!
//! Sessions keep a frame of their own (`sessions::model::update`): their
//! trail also shows their trainers, and their save is conditional on the
//! places already taken.

use chrono::NaiveDateTime;
use diesel::QueryResult;
use serde::Serialize;

use crate::audit::{self, Action, Actor, EntityType, FieldChange};
use crate::db::{self, DbConnection};
use crate::error::AppError;
use crate::id::Id;

/// A resource stored as one row, changed through [`update`].
pub trait StoredRow: Clone + Serialize + Sized {
    const TABLE: db::Table;
    const ENTITY: EntityType;
    /// Fields the audit trail names without their values.
    const PERSONAL_FIELDS: &'static [&'static str] = &[];

    fn id(&self) -> Id;
    fn find(conn: &mut DbConnection, id: Id) -> QueryResult<Option<Self>>;
    fn stamp(&mut self, updated_at: NaiveDateTime);
    /// Writes every column a change may touch.
    fn save(&self, conn: &mut DbConnection) -> Result<(), AppError>;
}

/// Row `id`, locked for the rest of the transaction, or 404.
pub fn locked<R: StoredRow>(conn: &mut DbConnection, id: Id) -> Result<R, AppError> {
    db::lock_row(conn, R::TABLE, id)?;
    R::find(conn, id)?.ok_or(AppError::NotFound)
}

/// The expectation of a writer that read no version of the row (the demo
/// data): any will do.
pub fn any_version<R>(_: &mut DbConnection, _: &R) -> Result<(), AppError> {
    Ok(())
}

/// Changes row `id`: `expected` may refuse the row as stored (a stale
/// `If-Match`), `merge` turns it into the next one (or refuses the change).
pub fn update<R: StoredRow>(
    conn: &mut DbConnection,
    actor: &Actor,
    id: Id,
    expected: impl FnOnce(&mut DbConnection, &R) -> Result<(), AppError>,
    merge: impl FnOnce(&mut DbConnection, R) -> Result<R, AppError>,
) -> Result<R, AppError> {
    let current = locked::<R>(conn, id)?;
    expected(conn, &current)?;
    let next = merge(conn, current.clone())?;
    save_change(conn, actor, current, next)
}

/// Saves `next` in place of `current` (read under the row's lock) and
/// records what differs; a change that changes nothing writes nothing.
pub fn save_change<R: StoredRow>(
    conn: &mut DbConnection,
    actor: &Actor,
    current: R,
    mut next: R,
) -> Result<R, AppError> {
    let changes = FieldChange::diff(Some(&current), &next, R::PERSONAL_FIELDS);
    if changes.is_empty() {
        return Ok(current);
    }
    next.stamp(db::now());
    next.save(conn)?;
    audit::record(conn, actor, Action::Update, R::ENTITY, next.id(), changes)?;
    Ok(next)
}

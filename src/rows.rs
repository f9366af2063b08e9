//! The frame every change to a stored row goes through, written once: lock
//! the row, read it, check what the caller expects of it (the version an
//! `If-Match` names) against what is stored, merge the change and check the
//! result, and only if something differs stamp it, save it and record it
//! in the audit trail, all in the caller's write transaction.
//!
//! Profiles are read through the caller's scope before they change, so they
//! use the second half alone ([`save_change`]). Two keep a frame of their
//! own, with the same expectation inside their own lock: sessions
//! (`sessions::model::update`), whose trail also shows their trainers and
//! whose save is conditional on the places already taken, and accounts
//! (`users::model::update_account`), which take the admins' lock first and
//! record a password reset that the row's snapshot does not show.

use chrono::NaiveDateTime;
use diesel::QueryResult;
use serde::Serialize;

use crate::audit::{self, Action, Actor, EntityType, FieldChange};
use crate::db::{self, DbConnection};
use crate::error::AppError;
use crate::id::Id;

/// A resource saved as one row, with its changes recorded
/// ([`save_change`]).
pub trait SavedRow: Clone + Serialize + Sized {
    const ENTITY: EntityType;
    /// Fields the audit trail names without their values.
    const PERSONAL_FIELDS: &'static [&'static str] = &[];

    fn id(&self) -> Id;
    fn stamp(&mut self, updated_at: NaiveDateTime);
    /// Writes every column a change may touch.
    fn save(&self, conn: &mut DbConnection) -> Result<(), AppError>;
}

/// A resource that is also locked and read by id ([`update`]).
pub trait StoredRow: SavedRow {
    const TABLE: db::Table;

    fn find(conn: &mut DbConnection, id: Id) -> QueryResult<Option<Self>>;
}

/// Implements [`StoredRow`] and [`SavedRow`] for a row type that is its own
/// changeset (`AsChangeset`), has `id` and `updated_at` fields, and is read
/// by its model's `find`. `save_error` maps a failed write (a unit's code
/// taken meanwhile); by default it is a database error.
macro_rules! stored_row {
    ($row:ty, $table:ident, $stored:ident, $entity:ident $(, save_error = $map:expr)?) => {
        impl $crate::rows::StoredRow for $row {
            const TABLE: $crate::db::Table = $crate::db::Table::$stored;

            fn find(
                conn: &mut $crate::db::DbConnection,
                id: $crate::id::Id,
            ) -> diesel::QueryResult<Option<Self>> {
                find(conn, id)
            }
        }

        impl $crate::rows::SavedRow for $row {
            const ENTITY: $crate::audit::EntityType = $crate::audit::EntityType::$entity;

            fn id(&self) -> $crate::id::Id {
                self.id
            }

            fn stamp(&mut self, updated_at: chrono::NaiveDateTime) {
                self.updated_at = updated_at;
            }

            fn save(
                &self,
                conn: &mut $crate::db::DbConnection,
            ) -> Result<(), $crate::error::AppError> {
                let written = diesel::update($table::table.find(self.id)).set(self).execute(conn);
                $(let written = written.map_err($map);)?
                written?;
                Ok(())
            }
        }
    };
}
pub(crate) use stored_row;

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
    db::lock_row(conn, R::TABLE, id)?;
    let current = R::find(conn, id)?.ok_or(AppError::NotFound)?;
    expected(conn, &current)?;
    let next = merge(conn, current.clone())?;
    save_change(conn, actor, current, next)
}

/// Saves `next` in place of `current` (read under the row's lock) and
/// records what differs; a change that changes nothing writes nothing.
pub fn save_change<R: SavedRow>(
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

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;

use crate::audit::{self, Action, Actor, EntityType, FieldChange};
use crate::db::DbConnection;
use crate::db::schema::programmes;
use crate::error::{AppError, FieldIssue};
use crate::id::Id;
use crate::paging::{PageRequest, Paged};
use crate::rows;

#[derive(Clone, Debug, Queryable, Insertable, AsChangeset, Serialize)]
#[diesel(table_name = programmes, treat_none_as_default_value = false, treat_none_as_null = true)]
pub struct Programme {
    pub id: Id,
    pub name: String,
    pub theme: Option<String>,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// A programme ends on or after the day it starts.
fn check(programme: &Programme) -> Result<(), AppError> {
    if programme.ends_on < programme.starts_on {
        return Err(AppError::validation("ends_on", FieldIssue::Before("starts_on")));
    }
    Ok(())
}

pub fn create(
    conn: &mut DbConnection,
    actor: &Actor,
    programme: Programme,
) -> Result<Programme, AppError> {
    check(&programme)?;
    diesel::insert_into(programmes::table).values(&programme).execute(conn)?;
    let changes = FieldChange::diff(None::<&Programme>, &programme, &[]);
    audit::record(conn, actor, Action::Create, EntityType::Programme, programme.id, changes)?;
    Ok(programme)
}

/// A change to a programme; `None` leaves a field as it is, `Some(None)`
/// clears the theme.
#[derive(Debug)]
pub struct ProgrammeUpdate {
    pub name: Option<String>,
    pub theme: Option<Option<String>>,
    pub starts_on: Option<NaiveDate>,
    pub ends_on: Option<NaiveDate>,
}

pub fn update(
    conn: &mut DbConnection,
    actor: &Actor,
    id: Id,
    expected: impl FnOnce(&mut DbConnection, &Programme) -> Result<(), AppError>,
    update: ProgrammeUpdate,
) -> Result<Programme, AppError> {
    rows::update(conn, actor, id, expected, |_, mut next: Programme| {
        next.name = update.name.unwrap_or(next.name);
        if let Some(theme) = update.theme {
            next.theme = theme;
        }
        next.starts_on = update.starts_on.unwrap_or(next.starts_on);
        next.ends_on = update.ends_on.unwrap_or(next.ends_on);
        check(&next)?;
        Ok(next)
    })
}

rows::stored_row!(Programme, programmes, Programmes, Programme);

pub fn find(conn: &mut DbConnection, id: Id) -> QueryResult<Option<Programme>> {
    programmes::table.find(id).first(conn).optional()
}

pub fn exists(conn: &mut DbConnection, id: Id) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(programmes::table.find(id))).get_result(conn)
}

/// Programmes running on `on` (if given): started on or before it and not
/// ended before it.
pub fn list(
    conn: &mut DbConnection,
    on: Option<NaiveDate>,
    page: &PageRequest,
) -> QueryResult<Vec<Programme>> {
    let mut query = programmes::table.into_boxed();
    if let Some(day) = on {
        query = query.filter(programmes::starts_on.le(day)).filter(programmes::ends_on.ge(day));
    }
    query.page(programmes::id, page).load(conn)
}

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::organizations;
use crate::db::{self, DbConnection};
use crate::error::{AppError, Conflict, FieldIssue};
use crate::http::pagination::PageRequest;
use crate::text_enum::text_enum;

text_enum! {
    pub enum OrganizationKind {
        School => "school",
        Hamlet => "hamlet",
        Agency => "agency",
        Association => "association",
        Enterprise => "enterprise",
        Other => "other",
    }
}

#[derive(Clone, Debug, Queryable, Insertable)]
#[diesel(table_name = organizations, treat_none_as_default_value = false)]
pub struct Organization {
    pub id: String,
    pub kind: OrganizationKind,
    pub name: String,
    pub code: Option<String>,
    pub parent_id: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// Creates a unit: its parent must exist and its code be free. Call inside
/// a write transaction.
pub fn create(conn: &mut DbConnection, unit: Organization) -> Result<Organization, AppError> {
    if let Some(parent) = &unit.parent_id
        && !exists(conn, parent)?
    {
        return Err(AppError::validation("parent_id", FieldIssue::UnknownReference));
    }
    if let Some(code) = &unit.code
        && code_taken(conn, code)?
    {
        return Err(AppError::Conflict(Conflict::CodeTaken));
    }
    diesel::insert_into(organizations::table).values(&unit).execute(conn).map_err(|err| {
        // A concurrent create with the same code won the race.
        if db::is_unique_violation(&err) {
            AppError::Conflict(Conflict::CodeTaken)
        } else {
            err.into()
        }
    })?;
    Ok(unit)
}

pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<Option<Organization>> {
    organizations::table.find(id).first(conn).optional()
}

pub fn exists(conn: &mut DbConnection, id: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(organizations::table.find(id))).get_result(conn)
}

pub fn code_taken(conn: &mut DbConnection, code: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(organizations::table.filter(organizations::code.eq(code))))
        .get_result(conn)
}

pub fn list(
    conn: &mut DbConnection,
    kind: Option<OrganizationKind>,
    page: &PageRequest,
) -> QueryResult<Vec<Organization>> {
    let mut query =
        organizations::table.order(organizations::id.asc()).limit(page.fetch_limit()).into_boxed();
    if let Some(after) = &page.after {
        query = query.filter(organizations::id.gt(after.clone()));
    }
    if let Some(kind) = kind {
        query = query.filter(organizations::kind.eq(kind));
    }
    query.load(conn)
}

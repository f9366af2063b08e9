use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use crate::audit::{self, Action, Actor, EntityType, FieldChange};
use crate::db::DbConnection;
use crate::db::schema::courses;
use crate::error::{AppError, FieldIssue};
use crate::id::Id;
use crate::paging::{PageRequest, Paged};
use crate::programmes;
use crate::rows;

/// A course as stored; `topics` and `target_categories` are lists kept one
/// item per line (see [`crate::db::join_lines`]).
#[derive(Clone, Debug, Queryable, Insertable, AsChangeset, Serialize)]
#[diesel(table_name = courses, treat_none_as_default_value = false, treat_none_as_null = true)]
pub struct Course {
    pub id: Id,
    pub title: String,
    pub summary: Option<String>,
    pub topics: String,
    pub target_categories: String,
    pub duration_minutes: i32,
    pub programme_id: Option<Id>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

fn check_programme(conn: &mut DbConnection, course: &Course) -> Result<(), AppError> {
    match &course.programme_id {
        Some(programme) if !programmes::model::exists(conn, *programme)? => {
            Err(AppError::validation("programme_id", FieldIssue::UnknownReference))
        }
        _ => Ok(()),
    }
}

pub fn create(conn: &mut DbConnection, actor: &Actor, course: Course) -> Result<Course, AppError> {
    check_programme(conn, &course)?;
    diesel::insert_into(courses::table).values(&course).execute(conn)?;
    let changes = FieldChange::diff(None::<&Course>, &course, &[]);
    audit::record(conn, actor, Action::Create, EntityType::Course, course.id, changes)?;
    Ok(course)
}

/// A change to a course; `None` leaves a field as it is, `Some(None)`
/// clears a nullable one. Lists come already joined.
#[derive(Debug)]
pub struct CourseUpdate {
    pub title: Option<String>,
    pub summary: Option<Option<String>>,
    pub topics: Option<String>,
    pub target_categories: Option<String>,
    pub duration_minutes: Option<i32>,
    pub programme_id: Option<Option<Id>>,
}

pub fn update(
    conn: &mut DbConnection,
    actor: &Actor,
    id: Id,
    expected: impl FnOnce(&mut DbConnection, &Course) -> Result<(), AppError>,
    update: CourseUpdate,
) -> Result<Course, AppError> {
    rows::update(conn, actor, id, expected, |conn, mut next: Course| {
        next.title = update.title.unwrap_or(next.title);
        if let Some(summary) = update.summary {
            next.summary = summary;
        }
        next.topics = update.topics.unwrap_or(next.topics);
        next.target_categories = update.target_categories.unwrap_or(next.target_categories);
        next.duration_minutes = update.duration_minutes.unwrap_or(next.duration_minutes);
        if let Some(programme) = update.programme_id {
            next.programme_id = programme;
        }
        check_programme(conn, &next)?;
        Ok(next)
    })
}

rows::stored_row!(Course, courses, Courses, Course);

pub fn find(conn: &mut DbConnection, id: Id) -> QueryResult<Option<Course>> {
    courses::table.find(id).first(conn).optional()
}

pub fn list(
    conn: &mut DbConnection,
    programme_id: Option<Id>,
    page: &PageRequest,
) -> QueryResult<Vec<Course>> {
    let mut query = courses::table.into_boxed();
    if let Some(programme) = programme_id {
        query = query.filter(courses::programme_id.eq(programme));
    }
    query.page(courses::id, page).load(conn)
}

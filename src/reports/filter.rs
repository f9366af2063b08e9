//! What a report covers: the filters both reports take, and the caller's
//! reach (PRODUCT.md: admins see everything, coordinators only their unit;
//! trainers and participants see no reports).

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::IntoParams;

use super::sql::{Statement, Value};
use crate::access;
use crate::error::AppError;
use crate::id::Id;
use crate::users::User;
use crate::validation;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// Only sessions of this programme's courses.
    pub programme_id: Option<Id>,
    /// Only sessions of this course.
    pub course_id: Option<Id>,
    /// Only people of this unit. A coordinator's reports always cover their
    /// own unit; naming another answers 403.
    pub organization_id: Option<Id>,
    /// Only sessions on or after this day (`YYYY-MM-DD`, local zone).
    pub from: Option<NaiveDate>,
    /// Only sessions on or before this day (`YYYY-MM-DD`, local zone).
    pub to: Option<NaiveDate>,
}

/// The enrolments a report counts or lists. Its `Serialize` form is what
/// the audit trail records of an export.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ReportFilter {
    pub programme_id: Option<Id>,
    pub course_id: Option<Id>,
    /// The people's unit: a coordinator's own, or the one an admin names.
    pub organization_id: Option<Id>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}

/// The tables around an enrolment that a query reads beyond its session and
/// attendance mark. Leaving out the others saves a lookup per enrolment
/// each: a million of them on a large export or table.
#[derive(Clone, Copy, Debug, Default)]
pub struct Tables {
    /// `c`, the session's course.
    pub courses: bool,
    /// `p`, the course's programme (needs `courses`).
    pub programmes: bool,
    /// `pt`, the person.
    pub participants: bool,
    /// `o`, the person's unit (needs `participants`).
    pub organizations: bool,
}

impl Tables {
    pub const ALL: Self =
        Self { courses: true, programmes: true, participants: true, organizations: true };
}

impl ReportFilter {
    /// The filter for `caller`, or 403 for a role that sees no reports and
    /// for a coordinator naming another unit (see [`access::report_unit`]).
    pub fn for_caller(caller: &User, query: ReportQuery) -> Result<Self, AppError> {
        let named_unit = query.organization_id;
        let organization_id = access::report_unit(caller, named_unit)?;
        // `to` before `from` selects no day: an empty table, not an error.
        let from = query.from.map(validation::filter_date);
        let to = query.to.map(validation::filter_date);
        Ok(Self {
            programme_id: query.programme_id,
            course_id: query.course_id,
            organization_id,
            from,
            to,
        })
    }

    /// Appends the `FROM … WHERE …` part of a report query: every enrolment
    /// (`e`) with its session (`s`), its current attendance mark (`m`), the
    /// `tables` asked for and those the filter needs.
    pub fn push_from_where(&self, sql: &mut Statement, tables: Tables) {
        let courses = tables.courses || tables.programmes || self.programme_id.is_some();
        let participants =
            tables.participants || tables.organizations || self.organization_id.is_some();
        sql.push("\nFROM enrolments e\nJOIN sessions s ON s.id = e.session_id");
        if courses {
            sql.push("\nJOIN courses c ON c.id = s.course_id");
        }
        if tables.programmes {
            sql.push("\nLEFT JOIN programmes p ON p.id = c.programme_id");
        }
        if participants {
            sql.push("\nJOIN participants pt ON pt.id = e.participant_id");
        }
        if tables.organizations {
            sql.push("\nLEFT JOIN organizations o ON o.id = pt.organization_id");
        }
        sql.push("\nLEFT JOIN attendance_marks m ON m.enrolment_id = e.id");
        let mut keyword = "\nWHERE ";
        let mut condition = |sql: &mut Statement, column: &str, value: Value| {
            sql.push(keyword).push(column).bind(value);
            keyword = " AND ";
        };
        if let Some(programme) = self.programme_id {
            condition(sql, "c.programme_id = ", Value::Text(programme.to_string()));
        }
        if let Some(course) = self.course_id {
            condition(sql, "s.course_id = ", Value::Text(course.to_string()));
        }
        if let Some(unit) = self.organization_id {
            condition(sql, "pt.organization_id = ", Value::Text(unit.to_string()));
        }
        if let Some(from) = self.from {
            condition(sql, "s.local_day >= ", Value::Date(from));
        }
        if let Some(to) = self.to {
            condition(sql, "s.local_day <= ", Value::Date(to));
        }
    }
}

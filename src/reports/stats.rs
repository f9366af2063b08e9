//! Enrolment statistics: counts grouped by any of seven keys, computed by
//! the database (one grouped query for the rows, one for the totals).

use chrono::{NaiveDate, NaiveDateTime};
use chrono_tz::Tz;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Date, Nullable, Text, Timestamp};
use serde::Serialize;
use utoipa::ToSchema;

use super::filter::{ReportFilter, Tables};
use super::sql::{self, Statement, Value};
use crate::db::schema::sessions;
use crate::db::{Backend, DbConnection};
use crate::error::{AppError, FieldIssue, InvalidField};
use crate::id::Id;
use crate::lang::Lang;
use crate::local_time;
use crate::sheets::{Cell, Column};
use crate::vocab::text_enum::text_enum;
use crate::vocab::{Category, Gender, Label};

text_enum! {
    /// What rows can be grouped by: the person's category (their audience),
    /// unit and gender; the course, session and programme; and the
    /// session's day in the local zone.
    pub enum GroupKey {
        Category => "category",
        Organization => "organization",
        Gender => "gender",
        Course => "course",
        Session => "session",
        Programme => "programme",
        Day => "day",
    }
}

/// How a group key is selected: (alias, expression, SQL type of its NULL
/// when not grouped). Every query selects every alias, so that one row
/// type reads them all.
type SqlColumn = (&'static str, &'static str, &'static str);

impl GroupKey {
    /// Reads `group_by`: keys separated by commas, each at most once; blank
    /// means no grouping (the rows are the totals).
    pub fn parse_list(text: &str) -> Result<Vec<GroupKey>, AppError> {
        let mut keys = Vec::new();
        for word in text.split(',').map(str::trim).filter(|w| !w.is_empty()) {
            let Some(key) = Self::parse(word) else {
                let known = Self::ALL.join(", ");
                let issue = FieldIssue::Invalid(format!("unknown key `{word}`; use {known}"));
                return Err(AppError::BadParameter(vec![InvalidField::new("group_by", issue)]));
            };
            if keys.contains(&key) {
                let issue = FieldIssue::Duplicate;
                return Err(AppError::BadParameter(vec![InvalidField::new("group_by", issue)]));
            }
            keys.push(key);
        }
        Ok(keys)
    }

    /// The tables that grouping by `keys` reads.
    fn tables(keys: &[GroupKey]) -> Tables {
        let has = |key| keys.contains(&key);
        Tables {
            courses: has(Self::Course),
            programmes: has(Self::Programme),
            participants: has(Self::Category) || has(Self::Gender),
            organizations: has(Self::Organization),
        }
    }

    fn columns(self) -> &'static [SqlColumn] {
        match self {
            Self::Category => &[("category", "pt.category", "TEXT")],
            Self::Organization => &[
                ("organization_id", "pt.organization_id", "TEXT"),
                ("organization_name", "o.name", "TEXT"),
            ],
            Self::Gender => &[("gender", "pt.gender", "TEXT")],
            Self::Course => {
                &[("course_id", "s.course_id", "TEXT"), ("course_title", "c.title", "TEXT")]
            }
            Self::Session => &[
                ("session_id", "s.id", "TEXT"),
                ("session_starts_at", "s.starts_at", "TIMESTAMP"),
                ("session_venue", "s.venue", "TEXT"),
            ],
            Self::Programme => {
                &[("programme_id", "c.programme_id", "TEXT"), ("programme_name", "p.name", "TEXT")]
            }
            Self::Day => &[("day", "s.local_day", "DATE")],
        }
    }

    /// How rows are sorted by this key, by alias: by name where there is
    /// one (a missing unit or programme last), then by id, so that equal
    /// names stay apart.
    fn order(self) -> &'static [(&'static str, Sort)] {
        match self {
            Self::Category => &[("category", Sort::Text)],
            Self::Gender => &[("gender", Sort::Text)],
            Self::Organization => {
                &[("organization_name", Sort::TextNullsLast), ("organization_id", Sort::Plain)]
            }
            Self::Course => &[("course_title", Sort::Text), ("course_id", Sort::Plain)],
            Self::Session => &[("session_starts_at", Sort::Plain), ("session_id", Sort::Plain)],
            Self::Programme => {
                &[("programme_name", Sort::TextNullsLast), ("programme_id", Sort::Plain)]
            }
            Self::Day => &[("day", Sort::Plain)],
        }
    }

    /// The expression behind one of this key's aliases.
    fn expression(self, alias: &str) -> &'static str {
        let column = self.columns().iter().find(|(name, _, _)| *name == alias);
        column.map_or("NULL", |(_, expression, _)| expression)
    }
}

#[derive(Clone, Copy)]
enum Sort {
    Plain,
    Text,
    TextNullsLast,
}

/// The counts of one row, or of all of them.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct Counts {
    /// Places held (`enrolled`), walk-ins included.
    pub enrolled: i64,
    pub waitlisted: i64,
    pub cancelled: i64,
    /// Held places marked `present` or `late`.
    pub attended: i64,
    /// Distinct people holding a place: the people reached. In the totals
    /// this is counted again, not summed, so a person in two rows counts once.
    pub people: i64,
    /// Distinct people marked `present` or `late` at least once.
    pub people_attended: i64,
    /// Attended places over held places, in sessions that have ended; a
    /// share from 0 to 1, to four decimals. `null` before any has ended.
    #[schema(required = true)]
    pub attendance_rate: Option<f64>,
}

/// One grouped row as the database gives it: every key's columns (NULL
/// where not grouped) and the counts.
#[derive(Debug, QueryableByName)]
struct GroupRow {
    #[diesel(sql_type = Nullable<Text>)]
    category: Option<Category>,
    #[diesel(sql_type = Nullable<Text>)]
    organization_id: Option<Id>,
    #[diesel(sql_type = Nullable<Text>)]
    organization_name: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    gender: Option<Gender>,
    #[diesel(sql_type = Nullable<Text>)]
    course_id: Option<Id>,
    #[diesel(sql_type = Nullable<Text>)]
    course_title: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    session_id: Option<Id>,
    #[diesel(sql_type = Nullable<Timestamp>)]
    session_starts_at: Option<NaiveDateTime>,
    #[diesel(sql_type = Nullable<Text>)]
    session_venue: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    programme_id: Option<Id>,
    #[diesel(sql_type = Nullable<Text>)]
    programme_name: Option<String>,
    #[diesel(sql_type = Nullable<Date>)]
    day: Option<NaiveDate>,
    #[diesel(sql_type = BigInt)]
    enrolled: i64,
    #[diesel(sql_type = BigInt)]
    waitlisted: i64,
    #[diesel(sql_type = BigInt)]
    cancelled: i64,
    #[diesel(sql_type = BigInt)]
    attended: i64,
    #[diesel(sql_type = BigInt)]
    people: i64,
    #[diesel(sql_type = BigInt)]
    people_attended: i64,
    #[diesel(sql_type = BigInt)]
    held: i64,
    #[diesel(sql_type = BigInt)]
    held_attended: i64,
}

impl GroupRow {
    fn counts(&self) -> Counts {
        let rate = |attended: i64, held: i64| {
            (held > 0).then(|| (attended as f64 / held as f64 * 10_000.0).round() / 10_000.0)
        };
        Counts {
            enrolled: self.enrolled,
            waitlisted: self.waitlisted,
            cancelled: self.cancelled,
            attended: self.attended,
            people: self.people,
            people_attended: self.people_attended,
            attendance_rate: rate(self.held_attended, self.held),
        }
    }
}

/// A held place marked `present` or `late`: what "attended" means. Only
/// held places count: a mark left on a place that was later cancelled
/// (with its session) is not someone reached.
macro_rules! attended {
    () => {
        "e.status = 'enrolled' AND m.status IN ('present', 'late')"
    };
}

/// The places of each group by status.
const PLACES: &str = concat!(
    "
COALESCE(SUM(CASE WHEN e.status = 'enrolled' THEN 1 ELSE 0 END), 0) AS enrolled,
COALESCE(SUM(CASE WHEN e.status = 'waitlisted' THEN 1 ELSE 0 END), 0) AS waitlisted,
COALESCE(SUM(CASE WHEN e.status = 'cancelled' THEN 1 ELSE 0 END), 0) AS cancelled,
COALESCE(SUM(CASE WHEN ",
    attended!(),
    " THEN 1 ELSE 0 END), 0) AS attended"
);

/// The people of each group, counted from its places (SQLite).
const DISTINCT_PEOPLE: &str = concat!(
    ",
COUNT(DISTINCT CASE WHEN e.status = 'enrolled' THEN e.participant_id END) AS people,
COUNT(DISTINCT CASE WHEN ",
    attended!(),
    " THEN e.participant_id END) AS people_attended"
);

/// The sums of each group over `per_person`, one row per person and group
/// (PostgreSQL): a person is counted where they hold a place.
const PER_PERSON: &str = "
COALESCE(CAST(SUM(enrolled) AS BIGINT), 0) AS enrolled,
COALESCE(CAST(SUM(waitlisted) AS BIGINT), 0) AS waitlisted,
COALESCE(CAST(SUM(cancelled) AS BIGINT), 0) AS cancelled,
COALESCE(CAST(SUM(attended) AS BIGINT), 0) AS attended,
COUNT(CASE WHEN enrolled > 0 THEN 1 END) AS people,
COUNT(CASE WHEN attended > 0 THEN 1 END) AS people_attended,
COALESCE(CAST(SUM(held) AS BIGINT), 0) AS held,
COALESCE(CAST(SUM(held_attended) AS BIGINT), 0) AS held_attended";

/// The rate's two sums: held places, and attended ones, in sessions that
/// have ended by `now`.
fn push_held(sql: &mut Statement, now: NaiveDateTime) {
    sql.push(",\nCOALESCE(SUM(CASE WHEN e.status = 'enrolled' AND s.ends_at <= ")
        .bind(Value::Time(now))
        .push(" THEN 1 ELSE 0 END), 0) AS held");
    sql.push(concat!(",\nCOALESCE(SUM(CASE WHEN ", attended!(), " AND s.ends_at <= "))
        .bind(Value::Time(now))
        .push(" THEN 1 ELSE 0 END), 0) AS held_attended");
}

/// The grouped query, written into `sql` (empty, of the right dialect).
///
/// Distinct people are counted in one of two ways. PostgreSQL's
/// `COUNT(DISTINCT …)` sorts every place for each count (4 s over a million
/// enrolments), so there the places are first summed per group and person
/// (hashed, 1 s) and the people counted from those sums. SQLite's own
/// `COUNT(DISTINCT …)` is its faster way: the nested grouping sorts on disk
/// and takes twice as long.
fn grouped(
    mut sql: Statement,
    filter: &ReportFilter,
    keys: &[GroupKey],
    now: NaiveDateTime,
) -> Statement {
    let nested = sql.backend() == Backend::Postgres;
    // Outside the nested query the keys are the aliases it selected.
    let column = |key: GroupKey, alias: &'static str| match nested {
        true => alias,
        false => key.expression(alias),
    };
    sql.push("SELECT ");
    for &key in GroupKey::VARIANTS {
        for (alias, _, null_type) in key.columns() {
            if keys.contains(&key) {
                sql.push(&format!("{} AS {alias}, ", column(key, alias)));
            } else {
                sql.push(&format!("CAST(NULL AS {null_type}) AS {alias}, "));
            }
        }
    }
    let key_columns = keys.iter().flat_map(|k| k.columns());
    if nested {
        sql.push(PER_PERSON).push("\nFROM (SELECT ");
        for (alias, expression, _) in key_columns.clone() {
            sql.push(&format!("{expression} AS {alias}, "));
        }
        sql.push("e.participant_id,").push(PLACES);
        push_held(&mut sql, now);
        filter.push_from_where(&mut sql, GroupKey::tables(keys));
        let mut expressions: Vec<&str> = key_columns.clone().map(|(_, e, _)| *e).collect();
        expressions.push("e.participant_id");
        sql.push("\nGROUP BY ").push(&expressions.join(", ")).push(") per_person");
    } else {
        sql.push(PLACES).push(DISTINCT_PEOPLE);
        push_held(&mut sql, now);
        filter.push_from_where(&mut sql, GroupKey::tables(keys));
    }
    if keys.is_empty() {
        return sql;
    }
    let group: Vec<&str> = keys
        .iter()
        .flat_map(|key| key.columns().iter().map(|(alias, _, _)| column(*key, alias)))
        .collect();
    sql.push("\nGROUP BY ").push(&group.join(", ")).push("\nORDER BY ");
    let terms =
        keys.iter().flat_map(|key| key.order().iter().map(|(alias, sort)| (*key, *alias, *sort)));
    for (i, (key, alias, sort)) in terms.enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        let column = column(key, alias);
        match sort {
            Sort::Plain => sql.push(column),
            Sort::Text => sql.push_text_order(column),
            Sort::TextNullsLast => sql.push(&format!("{column} IS NULL, ")).push_text_order(column),
        };
    }
    sql
}

/// One row of the table, with the columns of the requested keys only.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatsRow {
    /// With `category`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<Category>,
    /// With `organization`; `null` for people in no unit.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable)]
    pub organization_id: Option<Option<Id>>,
    /// With `organization`: the unit's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable)]
    pub organization_name: Option<Option<String>>,
    /// With `gender`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gender: Option<Gender>,
    /// With `course`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub course_id: Option<Id>,
    /// With `course`: the course's title.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub course_title: Option<String>,
    /// With `session`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<Id>,
    /// With `session`: its start, with the local zone's offset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_starts_at: Option<chrono::DateTime<chrono::FixedOffset>>,
    /// With `session`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_venue: Option<String>,
    /// With `programme`; `null` for courses in no programme.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable)]
    pub programme_id: Option<Option<Id>>,
    /// With `programme`: the programme's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable)]
    pub programme_name: Option<Option<String>>,
    /// With `day`: the session's local day.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub day: Option<NaiveDate>,
    #[serde(flatten)]
    pub counts: Counts,
}

/// The statistics of one request: rows in the order of `group_by`, and the
/// totals over all of them.
#[derive(Debug, Serialize, ToSchema)]
pub struct Stats {
    pub group_by: Vec<GroupKey>,
    pub rows: Vec<StatsRow>,
    pub totals: Counts,
    /// When the next session ends after the moment these figures were
    /// counted for: its places then count towards the attendance rate, so
    /// the figures hold until then (if nothing is committed meanwhile).
    #[serde(skip)]
    pub holds_until: Option<NaiveDateTime>,
}

impl Stats {
    /// Computes the table in the database. `now` decides which sessions
    /// have ended, for the attendance rate.
    pub fn compute(
        conn: &mut DbConnection,
        filter: &ReportFilter,
        group_by: Vec<GroupKey>,
        now: NaiveDateTime,
        zone: Tz,
    ) -> Result<Self, AppError> {
        let query = |conn: &mut DbConnection, keys: &[GroupKey]| {
            let statement = grouped(Statement::for_connection(conn), filter, keys, now);
            sql::load::<GroupRow>(conn, statement)
        };
        let all = query(conn, &[])?;
        let totals = all.first().map(GroupRow::counts).ok_or_else(|| {
            AppError::internal("statistics", "an aggregate without GROUP BY gave no row")
        })?;
        // Without keys the one row is the totals: no second query.
        let rows = if group_by.is_empty() { all } else { query(conn, &group_by)? };
        let has = |key| group_by.contains(&key);
        let rows = rows
            .into_iter()
            .map(|row| StatsRow {
                counts: row.counts(),
                category: row.category,
                organization_id: has(GroupKey::Organization).then_some(row.organization_id),
                organization_name: has(GroupKey::Organization).then_some(row.organization_name),
                gender: row.gender,
                course_id: row.course_id,
                course_title: row.course_title,
                session_id: row.session_id,
                session_starts_at: row
                    .session_starts_at
                    .map(|at| local_time::with_offset(at, zone)),
                session_venue: row.session_venue,
                programme_id: has(GroupKey::Programme).then_some(row.programme_id),
                programme_name: has(GroupKey::Programme).then_some(row.programme_name),
                day: row.day,
            })
            .collect();
        let holds_until = sessions::table
            .filter(sessions::ends_at.gt(now))
            .select(diesel::dsl::min(sessions::ends_at))
            .first(conn)?;
        Ok(Self { group_by, rows, totals, holds_until })
    }

    /// The table as a file's columns, in `lang`: each key's names, the
    /// counts, then the keys' ids (for matching with other systems). Each
    /// column is as wide as its widest value.
    pub fn columns(&self, lang: Lang, zone: Tz) -> Vec<Column> {
        let mut headers: Vec<String> = Vec::new();
        for key in &self.group_by {
            headers.extend(key.headers(lang, zone));
        }
        headers.extend(COUNT_HEADERS.iter().map(|(en, vi)| lang.pick(en, vi).to_owned()));
        for key in &self.group_by {
            headers.extend(key.id_header(lang).map(str::to_owned));
        }
        let mut widths = vec![0; headers.len()];
        let mut measure = |cells: &[Cell<'_>]| {
            for (width, cell) in widths.iter_mut().zip(cells) {
                *width = (*width).max(cell.shown_width());
            }
        };
        // Measuring writes nothing, so it cannot fail.
        let _ = self.for_each_line(lang, |cells| {
            measure(cells);
            Ok(())
        });
        if let Some(total) = self.total_line(lang) {
            measure(&total);
        }
        headers.into_iter().zip(widths).map(|(header, width)| Column::new(header, width)).collect()
    }

    /// The table's rows as cells in `lang`.
    pub fn for_each_line(
        &self,
        lang: Lang,
        mut line: impl FnMut(&[Cell<'_>]) -> std::io::Result<()>,
    ) -> std::io::Result<()> {
        let mut cells = Vec::new();
        for row in &self.rows {
            cells.clear();
            for key in &self.group_by {
                push_key_cells(&mut cells, *key, row, lang);
            }
            push_counts(&mut cells, &row.counts);
            for key in &self.group_by {
                push_key_id(&mut cells, *key, row);
            }
            line(&cells)?;
        }
        Ok(())
    }

    /// The totals as a last line, as wide as the others; none when the
    /// table has no keys, since its one row is the totals.
    pub fn total_line(&self, lang: Lang) -> Option<Vec<Cell<'static>>> {
        if self.group_by.is_empty() {
            return None;
        }
        let keys: usize = self.group_by.iter().map(|k| k.shown_columns()).sum();
        let ids = self.group_by.iter().filter(|k| k.id_header(lang).is_some()).count();
        let mut cells = vec![Cell::Text(lang.pick("Total", "Tổng cộng"))];
        cells.resize(keys, Cell::Empty);
        push_counts(&mut cells, &self.totals);
        cells.resize(cells.len() + ids, Cell::Empty);
        Some(cells)
    }

    /// What the file's one sheet is called, naming the grouping in the 31
    /// characters that Excel allows a sheet name.
    pub fn title(&self, lang: Lang) -> String {
        let keys: Vec<&str> = self.group_by.iter().map(|k| k.name(lang)).collect();
        let keys = keys.join(", ");
        let candidates = match (keys.is_empty(), lang) {
            (true, _) => vec![lang.pick("Enrolment totals", "Tổng hợp ghi danh").to_owned()],
            (false, Lang::En) => vec![format!("Enrolments by {keys}"), format!("By {keys}")],
            (false, Lang::Vi) => vec![format!("Ghi danh theo {keys}"), format!("Theo {keys}")],
        };
        candidates
            .into_iter()
            .find(|title| title.chars().count() <= 31)
            .unwrap_or_else(|| lang.pick("Enrolment statistics", "Thống kê ghi danh").into())
    }
}

/// The counts' headers, in English and Vietnamese.
const COUNT_HEADERS: [(&str, &str); 7] = [
    ("Enrolled", "Đã ghi danh"),
    ("Waitlisted", "Danh sách chờ"),
    ("Cancelled", "Đã hủy"),
    ("Attended", "Lượt tham dự"),
    ("People", "Số người"),
    ("People attended", "Số người tham dự"),
    ("Attendance rate", "Tỷ lệ tham dự"),
];

impl GroupKey {
    /// The key as a word in a title ("by unit").
    fn name(self, lang: Lang) -> &'static str {
        match self {
            Self::Category => lang.pick("category", "đối tượng"),
            Self::Organization => lang.pick("unit", "đơn vị"),
            Self::Gender => lang.pick("gender", "giới tính"),
            Self::Course => lang.pick("course", "khóa học"),
            Self::Session => lang.pick("session", "buổi học"),
            Self::Programme => lang.pick("programme", "chương trình"),
            Self::Day => lang.pick("day", "ngày"),
        }
    }

    /// How many columns for people the key has (its id aside).
    fn shown_columns(self) -> usize {
        if self == Self::Session { 2 } else { 1 }
    }

    /// The headers of the key's columns for people (its id aside).
    fn headers(self, lang: Lang, zone: Tz) -> Vec<String> {
        let one = |en: &str, vi: &str| vec![lang.pick(en, vi).to_owned()];
        match self {
            Self::Category => one("Category", "Đối tượng"),
            Self::Organization => one("Unit", "Đơn vị"),
            Self::Gender => one("Gender", "Giới tính"),
            Self::Course => one("Course", "Khóa học"),
            Self::Session => vec![
                match lang {
                    Lang::En => format!("Session starts ({zone} time)"),
                    Lang::Vi => format!("Giờ bắt đầu buổi học (giờ {zone})"),
                },
                lang.pick("Venue", "Địa điểm").to_owned(),
            ],
            Self::Programme => one("Programme", "Chương trình"),
            Self::Day => one("Day", "Ngày"),
        }
    }

    /// The header of the key's id column, for keys that have an id.
    fn id_header(self, lang: Lang) -> Option<&'static str> {
        match self {
            Self::Organization => Some(lang.pick("Unit id", "Mã đơn vị")),
            Self::Course => Some(lang.pick("Course id", "Mã khóa học")),
            Self::Session => Some(lang.pick("Session id", "Mã buổi học")),
            Self::Programme => Some(lang.pick("Programme id", "Mã chương trình")),
            Self::Category | Self::Gender | Self::Day => None,
        }
    }
}

fn push_key_cells<'a>(cells: &mut Vec<Cell<'a>>, key: GroupKey, row: &'a StatsRow, lang: Lang) {
    let text = |value: &'a Option<String>| Cell::from(value.as_deref());
    // A person in no unit, a course in no programme: said, not left blank.
    let named = |value: &'a Option<Option<String>>, none: &'static str| match value {
        Some(Some(name)) => Cell::Text(name),
        _ => Cell::Text(none),
    };
    match key {
        GroupKey::Category => cells.push(Cell::from(row.category.map(|c| c.label(lang)))),
        GroupKey::Organization => cells
            .push(named(&row.organization_name, lang.pick("(no unit)", "(không thuộc đơn vị)"))),
        GroupKey::Gender => cells.push(Cell::from(row.gender.map(|g| g.label(lang)))),
        GroupKey::Course => cells.push(text(&row.course_title)),
        GroupKey::Session => cells.extend([
            row.session_starts_at.map_or(Cell::Empty, |at| Cell::Time(at.naive_local())),
            text(&row.session_venue),
        ]),
        GroupKey::Programme => cells.push(named(
            &row.programme_name,
            lang.pick("(no programme)", "(không thuộc chương trình)"),
        )),
        GroupKey::Day => cells.push(row.day.map_or(Cell::Empty, Cell::Day)),
    }
}

fn push_key_id<'a>(cells: &mut Vec<Cell<'a>>, key: GroupKey, row: &'a StatsRow) {
    let nested = |value: &Option<Option<Id>>| Cell::from(value.flatten());
    match key {
        GroupKey::Organization => cells.push(nested(&row.organization_id)),
        GroupKey::Course => cells.push(Cell::from(row.course_id)),
        GroupKey::Session => cells.push(Cell::from(row.session_id)),
        GroupKey::Programme => cells.push(nested(&row.programme_id)),
        GroupKey::Category | GroupKey::Gender | GroupKey::Day => {}
    }
}

fn push_counts(cells: &mut Vec<Cell<'_>>, counts: &Counts) {
    cells.extend([
        Cell::Count(counts.enrolled),
        Cell::Count(counts.waitlisted),
        Cell::Count(counts.cancelled),
        Cell::Count(counts.attended),
        Cell::Count(counts.people),
        Cell::Count(counts.people_attended),
        counts.attendance_rate.map_or(Cell::Empty, Cell::Ratio),
    ]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_by_reads_known_keys_once_each() {
        assert_eq!(
            GroupKey::parse_list("category, day").unwrap(),
            [GroupKey::Category, GroupKey::Day]
        );
        assert!(GroupKey::parse_list("").unwrap().is_empty());
        for bad in ["category,unit", "day,day", "Category"] {
            assert!(matches!(GroupKey::parse_list(bad), Err(AppError::BadParameter(_))), "{bad}");
        }
    }

    #[test]
    fn parameters_follow_each_backends_spelling() {
        let filter = ReportFilter {
            programme_id: Some(Id::new()),
            to: NaiveDate::from_ymd_opt(2023, 10, 8),
            ..ReportFilter::default()
        };
        let now = NaiveDateTime::default();
        let pg = grouped(Statement::new(Backend::Postgres), &filter, &[GroupKey::Day], now);
        let lite = grouped(Statement::new(Backend::Sqlite), &filter, &[GroupKey::Day], now);
        let (pg, lite) = (pg.text(), lite.text());
        assert!(pg.contains("c.programme_id = $3") && pg.contains("s.local_day <= $4"), "{pg}");
        assert!(pg.contains(") per_person") && !pg.contains("DISTINCT"), "{pg}");
        assert!(lite.contains("COUNT(DISTINCT") && !lite.contains("per_person"), "{lite}");
        assert!(lite.contains("c.programme_id = ?") && !lite.contains('$'), "{lite}");
    }
}

//! The enrolment export: one line per enrolment, streamed. Rows come from
//! the database one by one (see `sql::for_each_row`) through the file
//! writer into chunks of [`CHUNK_BYTES`], and at most [`CHUNKS_AHEAD`]
//! chunks wait for a slow client before the writer blocks; so the server
//! holds a few hundred kilobytes whatever the number of rows. CSV from
//! PostgreSQL is written by the database itself ([`copy_csv`]) into the
//! same chunks.

use std::fmt;
use std::io::{self, Write};

use actix_web::web::Bytes;
use chrono::{NaiveDate, NaiveDateTime};
use chrono_tz::Tz;
use diesel::QueryableByName;
use diesel::sql_types::{Integer, Nullable, Text, Timestamp};
use tokio::sync::mpsc;

use super::filter::{ReportFilter, Tables};
use super::sql::{self, Statement, Value};
use crate::db::pg_copy::{CopyConnection, CopyError};
use crate::db::{Backend as DbKind, DbConnection};
use crate::id::Id;
use crate::lang::Lang;
use crate::local_time;
use crate::sheets::{self, Cell, Column, FORMULA_STARTS, FileFormat, Sheet};
use crate::vocab::{AttendanceStatus, Category, EnrolmentSource, EnrolmentStatus, Gender, Label};

const CHUNK_BYTES: usize = 64 * 1024;
pub const CHUNKS_AHEAD: usize = 4;

/// The export's columns as people read them: the person first, then the
/// class, the place and the mark, and the ids last (for matching with other
/// systems). `{zone}` is the zone in which times are written.
fn columns(lang: Lang, zone: Tz) -> Vec<Column> {
    let starts = match lang {
        Lang::En => format!("Starts ({zone} time)"),
        Lang::Vi => format!("Giờ bắt đầu (giờ {zone})"),
    };
    vec![
        Column::new(lang.pick("Full name", "Họ và tên"), 26),
        Column::new(lang.pick("Category", "Đối tượng"), 14),
        Column::new(lang.pick("Gender", "Giới tính"), 8),
        Column::new(lang.pick("Unit", "Đơn vị"), 26),
        Column::new(lang.pick("Programme", "Chương trình"), 26),
        Column::new(lang.pick("Course", "Khóa học"), 30),
        Column::new(starts, "2023-10-02 07:30".len()),
        Column::new(lang.pick("Venue", "Địa điểm"), 24),
        Column::new(lang.pick("Enrolment", "Ghi danh"), 13),
        Column::new(lang.pick("Waitlist position", "Thứ tự chờ"), 6),
        Column::new(lang.pick("Enrolled by", "Hình thức ghi danh"), 14),
        Column::new(lang.pick("Attendance", "Điểm danh"), 14),
        Column::new(lang.pick("Enrolment id", "Mã ghi danh"), 36),
        Column::new(lang.pick("Participant id", "Mã học viên"), 36),
        Column::new(lang.pick("Session id", "Mã buổi học"), 36),
    ]
}

/// In the order of the sessions, each session's places in the order they
/// were made (ids are UUIDv7). `enrolments_session_idx` serves the second
/// part, so SQLite sorts nothing larger than one session's places.
const SELECT: &str =
    "SELECT e.id AS enrolment_id, e.participant_id, pt.full_name AS participant_name,
pt.category, pt.gender, o.name AS organization_name, p.name AS programme_name,
c.title AS course_title, s.id AS session_id, s.starts_at AS session_starts_at,
s.venue AS session_venue, e.status, e.waitlist_position, e.source, m.status AS attendance";

const ORDER: &str = "\nORDER BY s.starts_at, s.id, e.id";

/// One enrolment as the export lists it. An anonymised person's name is
/// empty: their category, gender and unit stay, as in the statistics.
#[derive(QueryableByName)]
struct ExportRow {
    #[diesel(sql_type = Text)]
    enrolment_id: Id,
    #[diesel(sql_type = Text)]
    participant_id: Id,
    #[diesel(sql_type = Text)]
    participant_name: String,
    #[diesel(sql_type = Text)]
    category: Category,
    #[diesel(sql_type = Text)]
    gender: Gender,
    #[diesel(sql_type = Nullable<Text>)]
    organization_name: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    programme_name: Option<String>,
    #[diesel(sql_type = Text)]
    course_title: String,
    #[diesel(sql_type = Text)]
    session_id: Id,
    #[diesel(sql_type = Timestamp)]
    session_starts_at: NaiveDateTime,
    #[diesel(sql_type = Text)]
    session_venue: String,
    #[diesel(sql_type = Text)]
    status: EnrolmentStatus,
    #[diesel(sql_type = Nullable<Integer>)]
    waitlist_position: Option<i32>,
    #[diesel(sql_type = Text)]
    source: EnrolmentSource,
    #[diesel(sql_type = Nullable<Text>)]
    attendance: Option<AttendanceStatus>,
}

#[derive(Debug)]
pub enum ExportError {
    Database(diesel::result::Error),
    /// From PostgreSQL's `COPY` ([`copy_csv`]).
    Copy(CopyError),
    Output(io::Error),
}

impl ExportError {
    /// The client stopped reading (closed the connection): nothing failed.
    pub fn is_client_gone(&self) -> bool {
        matches!(self, Self::Output(err) if err.kind() == io::ErrorKind::BrokenPipe)
    }
}

impl From<diesel::result::Error> for ExportError {
    fn from(err: diesel::result::Error) -> Self {
        Self::Database(err)
    }
}

impl From<CopyError> for ExportError {
    fn from(err: CopyError) -> Self {
        Self::Copy(err)
    }
}

impl From<io::Error> for ExportError {
    fn from(err: io::Error) -> Self {
        Self::Output(err)
    }
}

impl fmt::Display for ExportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Database(err) => write!(f, "database: {err}"),
            Self::Copy(err) => write!(f, "database: {err}"),
            Self::Output(err) => write!(f, "output: {err}"),
        }
    }
}

/// Writes the export of `filter` to `out` as `format`, in `lang`, times in
/// `zone`.
pub fn write<W: Write>(
    conn: &mut DbConnection,
    filter: &ReportFilter,
    format: FileFormat,
    (lang, zone): (Lang, Tz),
    out: W,
) -> Result<W, ExportError> {
    let mut statement = Statement::for_connection(conn);
    statement.push(SELECT);
    filter.push_from_where(&mut statement, Tables::ALL);
    statement.push(ORDER);
    let title = lang.pick("Enrolments", "Danh sách ghi danh");
    let mut sheet = Sheet::start(format, out, title, &columns(lang, zone))?;
    sql::for_each_row(conn, statement, |row: ExportRow| {
        let position = row.waitlist_position.map(i64::from);
        let cells = [
            Cell::Text(&row.participant_name),
            Cell::Text(row.category.label(lang)),
            Cell::Text(row.gender.label(lang)),
            Cell::from(row.organization_name.as_deref()),
            Cell::from(row.programme_name.as_deref()),
            Cell::Text(&row.course_title),
            Cell::Time(local_time::wall_clock(row.session_starts_at, zone)),
            Cell::Text(&row.session_venue),
            Cell::Text(row.status.label(lang)),
            position.map_or(Cell::Empty, Cell::Count),
            Cell::Text(row.source.label(lang)),
            Cell::from(row.attendance.map(|mark| mark.label(lang))),
            Cell::Id(row.enrolment_id),
            Cell::Id(row.participant_id),
            Cell::Id(row.session_id),
        ];
        sheet.row(&cells).map_err(ExportError::from)
    })?;
    Ok(sheet.finish()?)
}

/// The CSV file that [`write`] makes, written by PostgreSQL's `COPY` from
/// the database at `url`: every cell (labels, local times, the `'` before
/// a formula) is computed in the query, and lophoc passes the rows on as
/// they come. Rows read and formatted one by one took more CPU than the
/// query itself, on the two cores the query's parallel workers need.
pub fn copy_csv<W: Write>(
    url: &str,
    filter: &ReportFilter,
    (lang, zone): (Lang, Tz),
    out: W,
) -> Result<W, ExportError> {
    let mut statement = Statement::new(DbKind::Postgres);
    push_cells(&mut statement, lang, zone);
    filter.push_from_where(&mut statement, Tables::ALL);
    statement.push(ORDER);
    let database = CopyConnection::open(url)?;
    let query = statement.with_literals(|text| database.literal(text))?;
    let mut rows = database.copy_out(&format!("COPY ({query}) TO STDOUT WITH (FORMAT csv)"))?;
    // The byte-order mark and the header as the CSV writer makes them,
    // sent with the first rows: until then a failure can still be answered
    // with a problem document.
    let mut out = sheets::csv_start(out, &columns(lang, zone))?;
    while let Some(row) = rows.next_row()? {
        // PostgreSQL ends each row with LF, and a row is what one call
        // returns; the file's lines end with CRLF, as RFC 4180 has them.
        out.write_all(row.strip_suffix(b"\n").unwrap_or(&row))?;
        out.write_all(b"\r\n")?;
    }
    out.flush()?;
    Ok(out)
}

/// Whether PostgreSQL shows stored times in `zone` as lophoc does, so that
/// [`copy_csv`] may convert them in SQL. PostgreSQL reads a name it also
/// knows as an abbreviation (`CET`, `EET`) as that abbreviation's fixed
/// offset, where the time zone database has summer time; and its copy of
/// that database may lack a zone or differ. A winter and a summer time
/// tell.
pub fn postgres_shows_times_alike(conn: &mut DbConnection, zone: Tz) -> bool {
    #[derive(QueryableByName)]
    struct Shown {
        #[diesel(sql_type = Text)]
        shown: String,
    }
    [(2023, 1, 15), (2023, 7, 15)].into_iter().all(|(year, month, day)| {
        let Some(at) = NaiveDate::from_ymd_opt(year, month, day).and_then(|d| d.and_hms_opt(12, 0, 0))
        else {
            return false;
        };
        let mut statement = Statement::for_connection(conn);
        statement.push("SELECT ");
        push_local_time(&mut statement, zone, |statement| {
            statement.bind(Value::Time(at));
        });
        statement.push(" AS shown");
        let ours = local_time::wall_clock(at, zone).format("%Y-%m-%d %H:%M").to_string();
        match sql::load::<Shown>(conn, statement) {
            Ok(rows) => rows.first().is_some_and(|row| row.shown == ours),
            Err(err) => {
                tracing::warn!(error = %err, zone = zone.name(), "PostgreSQL cannot show times in the zone");
                false
            }
        }
    })
}

/// `SELECT` and the export's cells, as [`write`] writes them from an
/// [`ExportRow`], in PostgreSQL's SQL. The words and spellings are
/// parameters, taken from the same labels and rules.
fn push_cells(statement: &mut Statement, lang: Lang, zone: Tz) {
    statement.push("SELECT ");
    push_text(statement, "pt.full_name");
    statement.push(", ");
    push_label(statement, "pt.category", Category::VARIANTS, Category::as_str, lang);
    statement.push(", ");
    push_label(statement, "pt.gender", Gender::VARIANTS, Gender::as_str, lang);
    for column in ["o.name", "p.name", "c.title"] {
        statement.push(", ");
        push_text(statement, column);
    }
    statement.push(", ");
    push_local_time(statement, zone, |statement| {
        statement.push("s.starts_at");
    });
    statement.push(", ");
    push_text(statement, "s.venue");
    statement.push(", ");
    push_label(statement, "e.status", EnrolmentStatus::VARIANTS, EnrolmentStatus::as_str, lang);
    statement.push(", e.waitlist_position, ");
    push_label(statement, "e.source", EnrolmentSource::VARIANTS, EnrolmentSource::as_str, lang);
    statement.push(", ");
    push_label(statement, "m.status", AttendanceStatus::VARIANTS, AttendanceStatus::as_str, lang);
    statement.push(", e.id, e.participant_id, s.id");
}

/// A stored (UTC) time that `push_instant` writes, as a wall-clock time in
/// `zone` spelt as the CSV writer spells `Cell::Time` (`%Y-%m-%d %H:%M`):
/// the one expression that both the export and
/// [`postgres_shows_times_alike`] run.
fn push_local_time(statement: &mut Statement, zone: Tz, push_instant: impl FnOnce(&mut Statement)) {
    statement.push("to_char(");
    push_instant(statement);
    statement.push(" AT TIME ZONE 'UTC' AT TIME ZONE ").bind(Value::Text(zone.name().to_owned()));
    statement.push(", 'YYYY-MM-DD HH24:MI')");
}

/// A text cell: with a `'` before what a spreadsheet would run as a
/// formula, and empty text as no value (which `COPY` writes as an empty
/// field rather than `""`).
fn push_text(statement: &mut Statement, column: &str) {
    statement.push("CASE WHEN left(").push(column).push(", 1) IN (");
    for (i, start) in FORMULA_STARTS.iter().enumerate() {
        statement.push(if i == 0 { "" } else { ", " }).bind(Value::Text(start.to_string()));
    }
    statement.push(") THEN '''' || ").push(column);
    statement.push(" ELSE NULLIF(").push(column).push(", '') END");
}

/// The word in `lang` for the code in `column`.
fn push_label<T: Label>(
    statement: &mut Statement,
    column: &str,
    values: &[T],
    code: fn(T) -> &'static str,
    lang: Lang,
) {
    statement.push("CASE ").push(column);
    for &value in values {
        statement.push(" WHEN ").bind(Value::Text(code(value).to_owned()));
        statement.push(" THEN ").bind(Value::Text(value.label(lang).to_owned()));
    }
    statement.push(" END");
}

/// The writing end of a streamed response body: bytes are gathered into
/// chunks and handed to the response through a bounded channel, blocking
/// (on the blocking pool, never an actix worker) while the client is
/// behind. A closed channel (the client left), or a client that takes no
/// chunk for `stall` (`LOPHOC_EXPORT_STALL_SECS`), is `BrokenPipe`: a
/// client that stops reading gives back its connection and its slot.
pub struct ChunkSender {
    tx: mpsc::Sender<io::Result<Bytes>>,
    /// The runtime whose timer bounds the wait.
    runtime: tokio::runtime::Handle,
    stall: std::time::Duration,
    buffer: Vec<u8>,
}

impl ChunkSender {
    pub fn new(
        tx: mpsc::Sender<io::Result<Bytes>>,
        runtime: tokio::runtime::Handle,
        stall: std::time::Duration,
    ) -> Self {
        Self { tx, runtime, stall, buffer: Vec::with_capacity(CHUNK_BYTES) }
    }

    fn send(&mut self) -> io::Result<()> {
        let chunk =
            Bytes::from(std::mem::replace(&mut self.buffer, Vec::with_capacity(CHUNK_BYTES)));
        let sent = self.runtime.block_on(tokio::time::timeout(self.stall, self.tx.send(Ok(chunk))));
        match sent {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) | Err(_) => {
                Err(io::Error::new(io::ErrorKind::BrokenPipe, "the client has gone"))
            }
        }
    }
}

impl Write for ChunkSender {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buffer.extend_from_slice(data);
        if self.buffer.len() >= CHUNK_BYTES {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() { Ok(()) } else { self.send() }
    }
}

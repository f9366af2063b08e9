//! The enrolment export: one line per enrolment, streamed. Rows come from
//! the database one by one (see `sql::for_each_row`) through the file
//! writer into chunks of [`CHUNK_BYTES`], and at most [`CHUNKS_AHEAD`]
//! chunks wait for a slow client before the writer blocks; so the server
//! holds a few hundred kilobytes whatever the number of rows.

use std::fmt;
use std::io::{self, Write};

use actix_web::web::Bytes;
use chrono::NaiveDateTime;
use chrono_tz::Tz;
use diesel::QueryableByName;
use diesel::sql_types::{Integer, Nullable, Text, Timestamp};
use tokio::sync::mpsc;

use super::filter::{ReportFilter, Tables};
use super::sql::{self, Statement};
use crate::db::DbConnection;
use crate::id::Id;
use crate::lang::Lang;
use crate::local_time;
use crate::sheets::{Cell, Column, FileFormat, Sheet};
use crate::vocab::{AttendanceStatus, Category, EnrolmentSource, EnrolmentStatus, Gender, Label};

const CHUNK_BYTES: usize = 64 * 1024;
pub const CHUNKS_AHEAD: usize = 4;

/// How long a chunk may wait for a client that has stopped reading before
/// the export gives up, freeing its connection and its slot.
pub const SEND_DEADLINE: std::time::Duration = std::time::Duration::from_secs(120);

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

impl From<io::Error> for ExportError {
    fn from(err: io::Error) -> Self {
        Self::Output(err)
    }
}

impl fmt::Display for ExportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Database(err) => write!(f, "database: {err}"),
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

/// The writing end of a streamed response body: bytes are gathered into
/// chunks and handed to the response through a bounded channel, blocking
/// (on the blocking pool, never an actix worker) while the client is
/// behind. A closed channel (the client left), or a client that takes no
/// chunk for [`SEND_DEADLINE`], is `BrokenPipe`.
pub struct ChunkSender {
    tx: mpsc::Sender<io::Result<Bytes>>,
    /// The runtime whose timer bounds the wait.
    runtime: tokio::runtime::Handle,
    buffer: Vec<u8>,
}

impl ChunkSender {
    pub fn new(tx: mpsc::Sender<io::Result<Bytes>>, runtime: tokio::runtime::Handle) -> Self {
        Self { tx, runtime, buffer: Vec::with_capacity(CHUNK_BYTES) }
    }

    fn send(&mut self) -> io::Result<()> {
        let chunk =
            Bytes::from(std::mem::replace(&mut self.buffer, Vec::with_capacity(CHUNK_BYTES)));
        let sent =
            self.runtime.block_on(tokio::time::timeout(SEND_DEADLINE, self.tx.send(Ok(chunk))));
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

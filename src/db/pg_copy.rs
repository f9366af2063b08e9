//! `COPY (query) TO STDOUT` on PostgreSQL, for exports of any size.
//!
//! With `COPY` PostgreSQL writes each row's text itself, as `psql`'s
//! `\copy` has it do; reading rows as values and writing them out again
//! cost lophoc more CPU than the query, on cores the query needs. diesel
//! runs `COPY` only for a whole table, not for a query, so this module
//! speaks to libpq (the library diesel's PostgreSQL connections are made
//! of) on a connection of its own, opened for one copy and closed after:
//! a server holds at most as many of these as it runs exports at once,
//! besides its pool.
//!
//! `COPY` takes no parameters: values go into its text as literals quoted
//! by libpq ([`CopyConnection::literal`]), never by hand.

use std::ffi::{CStr, CString, c_char};
use std::fmt;
use std::ptr::NonNull;

use pq_sys::{ConnStatusType, ExecStatusType, PGconn, PGresult};

/// What libpq or PostgreSQL said went wrong.
#[derive(Debug)]
pub struct CopyError(String);

impl fmt::Display for CopyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CopyError {}

/// How long to wait for the server to answer a connection, as the pool's
/// connections do not wait forever either.
const CONNECT_TIMEOUT_SECS: &CStr = c"10";

/// A PostgreSQL connection of its own, closed when dropped.
pub struct CopyConnection {
    conn: NonNull<PGconn>,
}

impl CopyConnection {
    /// Connects to `url` (a `postgres://` URL, as libpq reads it). The
    /// connection names itself `lophoc export` to the server's views; a
    /// timeout or name in the URL wins over these.
    pub fn open(url: &str) -> Result<Self, CopyError> {
        let url = CString::new(url).map_err(|_| CopyError("a NUL byte in the URL".into()))?;
        // Later keywords win, and `dbname` expands into the URL's own.
        let keywords = [c"connect_timeout", c"application_name", c"dbname"];
        let values = [CONNECT_TIMEOUT_SECS, c"lophoc export", url.as_c_str()];
        let keywords: Vec<*const c_char> =
            keywords.iter().map(|k| k.as_ptr()).chain([std::ptr::null()]).collect();
        let values: Vec<*const c_char> =
            values.iter().map(|v| v.as_ptr()).chain([std::ptr::null()]).collect();
        // SAFETY: two NULL-terminated arrays of valid C strings that outlive
        // the call; libpq returns a connection object (possibly a failed
        // one) or null when out of memory.
        let conn = unsafe { pq_sys::PQconnectdbParams(keywords.as_ptr(), values.as_ptr(), 1) };
        let conn = NonNull::new(conn).ok_or_else(|| CopyError("libpq is out of memory".into()))?;
        // From here on `Drop` frees the connection, failed or not.
        let connection = Self { conn };
        // SAFETY: `conn` is a live connection object.
        if unsafe { pq_sys::PQstatus(conn.as_ptr()) } != ConnStatusType::CONNECTION_OK {
            return Err(connection.error());
        }
        // Literals are quoted, and rows written, in UTF-8 whatever the
        // server's default.
        connection.execute("SET client_encoding TO 'UTF8'", ExecStatusType::PGRES_COMMAND_OK)?;
        Ok(connection)
    }

    /// `text` as a string literal of this connection's SQL, quoted by
    /// libpq (`PQescapeLiteral`), which knows the connection's encoding and
    /// whether backslashes escape.
    pub fn literal(&self, text: &str) -> Result<String, CopyError> {
        // libpq would end the literal at a NUL byte, silently.
        if text.contains('\0') {
            return Err(CopyError("a NUL byte in a value".into()));
        }
        // SAFETY: the pointer and length describe `text`'s bytes; libpq
        // returns a new NUL-terminated string or null on failure.
        let quoted = unsafe {
            pq_sys::PQescapeLiteral(self.conn.as_ptr(), text.as_ptr().cast(), text.len())
        };
        let quoted = NonNull::new(quoted).ok_or_else(|| self.error())?;
        // SAFETY: `quoted` is a NUL-terminated string that libpq allocated;
        // it is copied, then freed once.
        unsafe {
            let literal = CStr::from_ptr(quoted.as_ptr()).to_string_lossy().into_owned();
            pq_sys::PQfreemem(quoted.as_ptr().cast());
            Ok(literal)
        }
    }

    /// Starts `command`, a `COPY … TO STDOUT`. The copy takes the
    /// connection: it is good for nothing else until the copy ends, and
    /// closes with it.
    pub fn copy_out(self, command: &str) -> Result<CopyOut, CopyError> {
        self.execute(command, ExecStatusType::PGRES_COPY_OUT)?;
        Ok(CopyOut { connection: self, finished: false })
    }

    /// Sends `sql` and checks that it ended in `expected`.
    fn execute(&self, sql: &str, expected: ExecStatusType) -> Result<(), CopyError> {
        let sql = CString::new(sql).map_err(|_| CopyError("a NUL byte in the SQL".into()))?;
        // SAFETY: a live connection and a valid C string.
        let result = unsafe { pq_sys::PQexec(self.conn.as_ptr(), sql.as_ptr()) };
        if result.is_null() {
            return Err(self.error());
        }
        let outcome = self.expect(result, expected);
        // SAFETY: a live result, freed once.
        unsafe { pq_sys::PQclear(result) };
        outcome
    }

    /// Whether `result` (live, not freed here) has the `expected` status,
    /// else what went wrong.
    fn expect(&self, result: *const PGresult, expected: ExecStatusType) -> Result<(), CopyError> {
        // SAFETY: a live result; the strings it returns belong to it and
        // are copied at once.
        unsafe {
            let status = pq_sys::PQresultStatus(result);
            if status == expected {
                return Ok(());
            }
            let message = CStr::from_ptr(pq_sys::PQresultErrorMessage(result));
            let message = message.to_string_lossy();
            let message = message.trim_end();
            if message.is_empty() {
                let status = CStr::from_ptr(pq_sys::PQresStatus(status));
                return Err(CopyError(format!("unexpected {}", status.to_string_lossy())));
            }
            Err(CopyError(message.to_owned()))
        }
    }

    /// The connection's last error message.
    fn error(&self) -> CopyError {
        // SAFETY: libpq returns a NUL-terminated string owned by the
        // connection, valid until its next call; it is copied at once.
        let message = unsafe { CStr::from_ptr(pq_sys::PQerrorMessage(self.conn.as_ptr())) };
        CopyError(message.to_string_lossy().trim_end().to_owned())
    }
}

impl Drop for CopyConnection {
    fn drop(&mut self) {
        // SAFETY: the connection object is freed once, here.
        unsafe { pq_sys::PQfinish(self.conn.as_ptr()) };
    }
}

/// A `COPY … TO STDOUT` under way, owning its connection. Dropped before
/// its end, it asks the server to cancel the query before the connection
/// closes, so that an export nobody reads stops costing the database at
/// once.
pub struct CopyOut {
    connection: CopyConnection,
    finished: bool,
}

impl CopyOut {
    /// The next row as PostgreSQL wrote it, line end included (libpq
    /// returns whole rows only), or `None` after the last one.
    pub fn next_row(&mut self) -> Result<Option<CopyRow>, CopyError> {
        let conn = self.connection.conn.as_ptr();
        let mut buffer: *mut c_char = std::ptr::null_mut();
        // SAFETY: a live connection in the COPY OUT state; `buffer`
        // receives a libpq allocation when the length is positive.
        let length = unsafe { pq_sys::PQgetCopyData(conn, &mut buffer, 0) };
        match (usize::try_from(length), NonNull::new(buffer)) {
            (Ok(length), Some(data)) => Ok(Some(CopyRow { data, length })),
            // -1: the copy is done; its outcome is the command's result.
            _ if length == -1 => {
                self.finished = true;
                self.finish().map(|()| None)
            }
            _ => Err(self.connection.error()),
        }
    }

    /// Reads the results that follow the data: the command's own, then
    /// none.
    fn finish(&mut self) -> Result<(), CopyError> {
        let conn = self.connection.conn.as_ptr();
        let mut outcome = Ok(());
        loop {
            // SAFETY: a live connection.
            let result = unsafe { pq_sys::PQgetResult(conn) };
            if result.is_null() {
                return outcome;
            }
            let checked = self.connection.expect(result, ExecStatusType::PGRES_COMMAND_OK);
            // SAFETY: a live result, read, then freed once.
            let status = unsafe { pq_sys::PQresultStatus(result) };
            unsafe { pq_sys::PQclear(result) };
            if outcome.is_ok() {
                outcome = checked;
            }
            // In a copy state libpq hands out the same state again rather
            // than null: nothing more will come.
            if matches!(status, ExecStatusType::PGRES_COPY_OUT | ExecStatusType::PGRES_COPY_BOTH) {
                return outcome;
            }
        }
    }
}

impl Drop for CopyOut {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        // SAFETY: a live connection; the cancel object is freed once. The
        // cancel's own failure is of no consequence: the connection closes
        // right after (this `CopyOut` owns it), which ends the query at its
        // next row.
        unsafe {
            let cancel = pq_sys::PQgetCancel(self.connection.conn.as_ptr());
            if !cancel.is_null() {
                let mut message = [0 as c_char; 256];
                pq_sys::PQcancel(cancel, message.as_mut_ptr(), message.len() as i32);
                pq_sys::PQfreeCancel(cancel);
            }
        }
    }
}

/// One row of a copy, in libpq's memory until dropped.
pub struct CopyRow {
    data: NonNull<c_char>,
    length: usize,
}

impl std::ops::Deref for CopyRow {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        // SAFETY: libpq gave `length` bytes at `data`, alive until `drop`.
        unsafe { std::slice::from_raw_parts(self.data.as_ptr().cast(), self.length) }
    }
}

impl Drop for CopyRow {
    fn drop(&mut self) {
        // SAFETY: allocated by libpq's PQgetCopyData, freed once.
        unsafe { pq_sys::PQfreemem(self.data.as_ptr().cast()) };
    }
}

//! `COPY (query) TO STDOUT` on PostgreSQL, for exports of any size.
//!
//! With `COPY` PostgreSQL writes each row's text itself, as `psql`'s
//! `\copy` has it do; reading rows as values and writing them out again
//! cost lophoc more CPU than the query, on cores the query needs. diesel
//! runs `COPY` only for a whole table, not for a query, so this module
//! speaks to libpq (the library diesel's PostgreSQL connections are made
//! of) on a connection of its own, opened for one copy and closed after.
//!
//! `COPY` takes no parameters: values go into its text as literals quoted
//! by libpq ([`CopyConnection::literal`]), never by hand.

use std::ffi::{CStr, CString, c_char};
use std::fmt;
use std::ptr::NonNull;

use pq_sys::{ConnStatusType, ExecStatusType, PGconn};

/// What libpq or PostgreSQL said went wrong.
#[derive(Debug)]
pub struct CopyError(String);

impl fmt::Display for CopyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CopyError {}

/// A PostgreSQL connection of its own, closed when dropped.
pub struct CopyConnection {
    conn: NonNull<PGconn>,
}

impl CopyConnection {
    /// Connects to `url` (a `postgres://` URL, as libpq reads it).
    pub fn open(url: &str) -> Result<Self, CopyError> {
        let url = CString::new(url).map_err(|_| CopyError("a NUL byte in the URL".into()))?;
        // SAFETY: `url` is a valid C string; libpq returns a connection
        // object (possibly a failed one) or null when out of memory.
        let conn = NonNull::new(unsafe { pq_sys::PQconnectdb(url.as_ptr()) })
            .ok_or_else(|| CopyError("libpq is out of memory".into()))?;
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
        // SAFETY: the pointer and length describe `text`'s bytes; libpq
        // returns a new NUL-terminated string or null on failure.
        let quoted = unsafe {
            pq_sys::PQescapeLiteral(self.conn.as_ptr(), text.as_ptr().cast(), text.len())
        };
        let quoted = NonNull::new(quoted).ok_or_else(|| self.error())?;
        // SAFETY: `quoted` is a NUL-terminated string that libpq allocated;
        // it is copied before libpq frees it.
        let literal = unsafe { CStr::from_ptr(quoted.as_ptr()) }.to_string_lossy().into_owned();
        // SAFETY: allocated by libpq, freed once.
        unsafe { pq_sys::PQfreemem(quoted.as_ptr().cast()) };
        Ok(literal)
    }

    /// Starts `command`, a `COPY … TO STDOUT`.
    pub fn copy_out(&mut self, command: &str) -> Result<CopyOut<'_>, CopyError> {
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
        // SAFETY: `result` is a live result, read and then freed once.
        let status = unsafe { pq_sys::PQresultStatus(result) };
        let outcome = if status == expected { Ok(()) } else { Err(self.error()) };
        unsafe { pq_sys::PQclear(result) };
        outcome
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

/// A `COPY … TO STDOUT` under way. Dropped before its end, it asks the
/// server to cancel the query, so that an export nobody reads stops
/// costing the database at once.
pub struct CopyOut<'c> {
    connection: &'c mut CopyConnection,
    finished: bool,
}

impl CopyOut<'_> {
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
                self.finish()
            }
            _ => Err(self.connection.error()),
        }
    }

    /// Reads the results that follow the data: the command's own, then
    /// none.
    fn finish(&mut self) -> Result<Option<CopyRow>, CopyError> {
        let conn = self.connection.conn.as_ptr();
        let mut outcome = Ok(None);
        loop {
            // SAFETY: a live connection; each result is freed once.
            let result = unsafe { pq_sys::PQgetResult(conn) };
            if result.is_null() {
                return outcome;
            }
            let status = unsafe { pq_sys::PQresultStatus(result) };
            if status != ExecStatusType::PGRES_COMMAND_OK && outcome.is_ok() {
                outcome = Err(self.connection.error());
            }
            unsafe { pq_sys::PQclear(result) };
        }
    }
}

impl Drop for CopyOut<'_> {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        let conn = self.connection.conn.as_ptr();
        // SAFETY: a live connection; the cancel object is freed once. The
        // cancel's own failure is of no consequence: the connection is
        // closed right after either way, which ends the query at its next
        // row.
        unsafe {
            let cancel = pq_sys::PQgetCancel(conn);
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

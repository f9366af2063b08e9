//! Report queries are written as SQL text, because their shape (which
//! columns are grouped, which filters apply) is chosen per request. The
//! text holds only fragments written here; every value from a request is a
//! bound parameter, or, in a `COPY` (which takes none), a literal that
//! libpq quotes ([`Statement::with_literals`]). This is the one place that
//! knows how each backend spells a parameter and how it streams rows.

use std::sync::mpsc;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::backend::Backend;
use diesel::connection::DefaultLoadingMode;
use diesel::deserialize::QueryableByName;
use diesel::pg::{Pg, PgRowByRowLoadingMode};
use diesel::prelude::*;
use diesel::query_builder::{BoxedSqlQuery, SqlQuery};
use diesel::serialize::ToSql;
use diesel::sql_types::{Date, HasSqlType, Text, Timestamp};
use diesel::sqlite::Sqlite;

use crate::db::{Backend as DbKind, DbConnection};

/// A value bound to a parameter.
#[derive(Clone, Debug)]
pub enum Value {
    Text(String),
    Date(NaiveDate),
    Time(NaiveDateTime),
}

/// SQL text and its parameters, in the order they appear in the text.
#[derive(Debug)]
pub struct Statement {
    backend: DbKind,
    sql: String,
    values: Vec<Value>,
    /// Where each parameter's placeholder is in `sql`.
    placeholders: Vec<std::ops::Range<usize>>,
}

impl Statement {
    pub fn new(backend: DbKind) -> Self {
        Self { backend, sql: String::new(), values: Vec::new(), placeholders: Vec::new() }
    }

    pub fn backend(&self) -> DbKind {
        self.backend
    }

    /// An empty statement in the dialect of `conn`'s backend.
    pub fn for_connection(conn: &DbConnection) -> Self {
        Self::new(match conn {
            DbConnection::Sqlite(_) => DbKind::Sqlite,
            DbConnection::Postgresql(_) => DbKind::Postgres,
        })
    }

    pub fn push(&mut self, sql: &str) -> &mut Self {
        self.sql.push_str(sql);
        self
    }

    /// Appends a parameter holding `value`: `?` on SQLite, `$n` on
    /// PostgreSQL. Parameters must be appended in the order of the text.
    pub fn bind(&mut self, value: Value) -> &mut Self {
        self.values.push(value);
        let start = self.sql.len();
        match self.backend {
            DbKind::Sqlite => self.sql.push('?'),
            DbKind::Postgres => self.sql.push_str(&format!("${}", self.values.len())),
        }
        self.placeholders.push(start..self.sql.len());
        self
    }

    /// The text with each parameter written in as a literal that `quote`
    /// makes of its text, cast to the type it would be bound as: for
    /// PostgreSQL's `COPY`, which takes no parameters.
    pub fn with_literals<E>(
        &self,
        mut quote: impl FnMut(&str) -> Result<String, E>,
    ) -> Result<String, E> {
        let mut text = String::with_capacity(self.sql.len());
        let mut copied = 0;
        for (placeholder, value) in self.placeholders.iter().zip(&self.values) {
            text.push_str(&self.sql[copied..placeholder.start]);
            let (literal, cast) = match value {
                Value::Text(value) => (quote(value)?, "::text"),
                Value::Date(day) => (quote(&day.to_string())?, "::date"),
                Value::Time(time) => (quote(&time.to_string())?, "::timestamp"),
            };
            text.push_str(&literal);
            text.push_str(cast);
            copied = placeholder.end;
        }
        text.push_str(&self.sql[copied..]);
        Ok(text)
    }

    /// A text column compared byte by byte, so that both backends sort
    /// names alike (PostgreSQL would otherwise use the database's locale).
    pub fn push_text_order(&mut self, column: &str) -> &mut Self {
        self.push(column);
        match self.backend {
            DbKind::Sqlite => self,
            DbKind::Postgres => self.push(" COLLATE \"C\""),
        }
    }

    #[cfg(test)]
    pub fn text(&self) -> &str {
        &self.sql
    }

    fn boxed<DB>(self) -> BoxedSqlQuery<'static, DB, SqlQuery>
    where
        DB: Backend + HasSqlType<Text> + HasSqlType<Date> + HasSqlType<Timestamp>,
        String: ToSql<Text, DB>,
        NaiveDate: ToSql<Date, DB>,
        NaiveDateTime: ToSql<Timestamp, DB>,
    {
        let mut query = diesel::sql_query(self.sql).into_boxed::<DB>();
        for value in self.values {
            query = match value {
                Value::Text(text) => query.bind::<Text, _>(text),
                Value::Date(date) => query.bind::<Date, _>(date),
                Value::Time(time) => query.bind::<Timestamp, _>(time),
            };
        }
        query
    }
}

/// How many rows the PostgreSQL reader hands over at a time.
const BATCH_ROWS: usize = 1000;

/// Runs `statement` and gives its rows to `each`, one at a time, without
/// holding them all: SQLite steps through its result; PostgreSQL sends it
/// row by row (libpq's single-row mode).
///
/// Not through a cursor: PostgreSQL never runs a cursor's query in
/// parallel, and a million-row export then took twice as long as `psql`'s
/// `\copy` of the same query, which does. The price is paid only when the
/// writer stops early (an `Err` from `each`, a client gone): the rest of
/// the result is still read, and dropped, before the connection is free.
///
/// On PostgreSQL the rows are read on a thread of their own, at most two
/// batches ahead of `each`: the server computes the next rows while this
/// thread writes the last ones out, instead of each waiting on the other.
pub fn for_each_row<U, E>(
    conn: &mut DbConnection,
    statement: Statement,
    mut each: impl FnMut(U) -> Result<(), E>,
) -> Result<(), E>
where
    U: QueryableByName<Sqlite> + QueryableByName<Pg> + Send + 'static,
    E: From<diesel::result::Error>,
{
    match conn {
        DbConnection::Sqlite(conn) => {
            let rows = statement.boxed::<Sqlite>().load_iter::<U, DefaultLoadingMode>(conn)?;
            for row in rows {
                each(row?)?;
            }
            Ok(())
        }
        DbConnection::Postgresql(conn) => std::thread::scope(|scope| {
            let (batches, received) = mpsc::sync_channel::<Vec<U>>(2);
            let span = tracing::Span::current();
            let reader =
                scope.spawn(move || span.in_scope(|| read_rows(conn, statement, &batches)));
            let mut outcome = Ok(());
            'rows: for batch in received {
                for row in batch {
                    if let Err(err) = each(row) {
                        outcome = Err(err);
                        // Dropping the receiver (leaving the loop) stops the
                        // reader at its next batch.
                        break 'rows;
                    }
                }
            }
            let read = reader.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            outcome?;
            Ok(read?)
        }),
    }
}

/// Reads `statement` row by row into `batches` until it ends or the
/// receiving side is gone.
fn read_rows<U>(
    conn: &mut PgConnection,
    statement: Statement,
    batches: &mpsc::SyncSender<Vec<U>>,
) -> QueryResult<()>
where
    U: QueryableByName<Pg> + 'static,
{
    let rows = statement.boxed::<Pg>().load_iter::<U, PgRowByRowLoadingMode>(conn)?;
    let mut batch = Vec::with_capacity(BATCH_ROWS);
    for row in rows {
        batch.push(row?);
        if batch.len() == BATCH_ROWS {
            let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH_ROWS));
            if batches.send(full).is_err() {
                return Ok(());
            }
        }
    }
    // The receiver may be gone: then nobody wants these either.
    let _ = batches.send(batch);
    Ok(())
}

/// Runs `statement` and loads all its rows: for results known to be small
/// (a grouped table).
pub fn load<U>(conn: &mut DbConnection, statement: Statement) -> QueryResult<Vec<U>>
where
    U: QueryableByName<Sqlite> + QueryableByName<Pg> + 'static,
{
    match conn {
        DbConnection::Sqlite(conn) => statement.boxed::<Sqlite>().load(conn),
        DbConnection::Postgresql(conn) => statement.boxed::<Pg>().load(conn),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_take_the_places_of_the_parameters() {
        let mut statement = Statement::new(DbKind::Postgres);
        statement.push("SELECT ").bind(Value::Text("it's".into()));
        statement
            .push(" WHERE d >= ")
            .bind(Value::Date(NaiveDate::from_ymd_opt(2023, 10, 2).unwrap()));
        for n in 3..=11 {
            statement.push(", ").bind(Value::Text(n.to_string()));
        }
        let quote = |text: &str| Ok::<_, ()>(format!("'{}'", text.replace('\'', "''")));
        assert_eq!(
            statement.with_literals(quote).unwrap(),
            "SELECT 'it''s'::text WHERE d >= '2023-10-02'::date, '3'::text, '4'::text, '5'::text, \
             '6'::text, '7'::text, '8'::text, '9'::text, '10'::text, '11'::text"
        );
    }
}

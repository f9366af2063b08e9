//! What a model needs to read one page of a list: how many rows, after
//! which id. Lists are ordered by id, which is creation order (see
//! [`crate::id`]), so a page is "the next `limit` ids after the cursor".
//! The HTTP side, reading `?limit=&cursor=` and answering `next_cursor`,
//! is `http::pagination`.

use diesel::backend::Backend;
use diesel::dsl::{Asc, Gt};
use diesel::expression::{AsExpression, Expression};
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::query_dsl::methods::{FilterDsl, OrderDsl};
use diesel::sql_types::{SqlType, Text};
use diesel::{Column, ExpressionMethods, QueryResult, RunQueryDsl};

use crate::id::Id;

/// A checked page request.
#[derive(Clone, Debug)]
pub struct PageRequest {
    pub limit: i64,
    /// Only items with an id greater than this one.
    pub after: Option<Id>,
}

impl PageRequest {
    /// A page of at most `limit` items from the start of a list.
    pub fn first(limit: i64) -> Self {
        Self { limit, after: None }
    }

    /// How many rows to fetch: one more than the page, to know whether
    /// another page follows.
    pub fn fetch_limit(&self) -> i64 {
        self.limit + 1
    }
}

/// The page frame of a list query, written once: order by the id column,
/// start after the cursor, fetch one row more than the page. It comes last,
/// after the list's own filters, and gives the query to load.
pub trait Paged: Sized {
    fn page<C>(self, id: C, page: &PageRequest) -> Limited<Self>
    where
        C: Column + Expression<SqlType = Text> + ExpressionMethods + Copy,
        Id: AsExpression<C::SqlType>,
        C::SqlType: SqlType,
        Self: OrderDsl<Asc<C>, Output = Self> + FilterDsl<Gt<C, Id>, Output = Self>,
    {
        let ordered = self.order(id.asc());
        let query = match page.after {
            Some(after) => ordered.filter(id.gt(after)),
            None => ordered,
        };
        let rows = page.fetch_limit();
        Limited { query, limit: statement_limit(rows), rows }
    }
}

impl<Q> Paged for Q {}

/// The limits lists are read with: a page's rows rounded up to the next of
/// these, so that each list has a few statements, not one for every page
/// size from 1 to 200 (see [`Limited`]). The rows read beyond the page are
/// dropped as they are loaded.
const STATEMENT_LIMITS: [i64; 5] = [11, 26, 51, 101, 201];

fn statement_limit(rows: i64) -> i64 {
    STATEMENT_LIMITS.into_iter().find(|&limit| limit >= rows).unwrap_or(rows)
}

/// A query with `LIMIT n` written into its SQL as a number, where diesel's
/// own `limit` sends a parameter. PostgreSQL keeps one plan for a prepared
/// statement only when that plan, made without the parameters' values,
/// costs no more than plans made with them; not knowing the limit, it
/// assumes a tenth of the table and so planned every page of every list
/// anew: pgbench ran the participant list's statement at half the rate
/// (BENCHMARKS.md). Each limit is then a statement of its own, prepared
/// once per connection; [`STATEMENT_LIMITS`] keeps them few. The number is
/// ours, never a client's text. A query given to `page` must have no limit
/// of its own: it would get a second one.
pub struct Limited<Q> {
    query: Q,
    /// The `LIMIT` written into the SQL.
    limit: i64,
    /// How many rows the caller asked for: `load` returns no more.
    rows: i64,
}

impl<Q> Limited<Q> {
    /// The rows, at most as many as the page asked for. Called as
    /// `.load(conn)`, this comes before `RunQueryDsl::load`.
    pub fn load<'q, U, Conn>(self, conn: &mut Conn) -> QueryResult<Vec<U>>
    where
        Self: diesel::query_dsl::LoadQuery<'q, Conn, U>,
    {
        let rows = self.rows as usize;
        let mut loaded = RunQueryDsl::load(self, conn)?;
        loaded.truncate(rows);
        Ok(loaded)
    }
}

impl<Q: Query> Query for Limited<Q> {
    type SqlType = Q::SqlType;
}

impl<Q, DB> QueryFragment<DB> for Limited<Q>
where
    Q: QueryFragment<DB>,
    DB: Backend,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        self.query.walk_ast(out.reborrow())?;
        out.push_sql(&format!(" LIMIT {}", self.limit));
        Ok(())
    }
}

impl<Q> QueryId for Limited<Q> {
    type QueryId = ();
    // The SQL differs with the limit, so a prepared statement is found by
    // its text, never by the query's type.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q, Conn> RunQueryDsl<Conn> for Limited<Q> {}

#[cfg(test)]
mod tests {
    use diesel::connection::SimpleConnection;
    use diesel::debug_query;
    use diesel::pg::Pg;
    use diesel::prelude::*;
    use diesel::query_builder::QueryId;

    use super::{Id, Limited, PageRequest, Paged, statement_limit};
    use crate::db::schema::users;

    #[test]
    fn the_limit_is_written_into_the_sql_not_sent() {
        let page = PageRequest::first(50);
        let query = users::table.select(users::id).into_boxed::<Pg>().page(users::id, &page);
        let sql = debug_query::<Pg, _>(&query).to_string();
        assert!(sql.contains(r#"ORDER BY "users"."id" ASC LIMIT 51 -- binds: []"#), "{sql}");

        let after = Id::new();
        let page = PageRequest { limit: 10, after: Some(after) };
        let query = users::table
            .select(users::id)
            .filter(users::active.eq(true))
            .into_boxed::<Pg>()
            .page(users::id, &page);
        let sql = debug_query::<Pg, _>(&query).to_string();
        assert!(sql.contains(r#""users"."id" > $2)) ORDER BY "users"."id" ASC LIMIT 11"#), "{sql}");
        assert!(sql.ends_with(&format!("binds: [true, {after}]")), "{sql}");
    }

    diesel::table! {
        items (id) {
            id -> Text,
        }
    }

    #[test]
    fn a_page_loads_one_row_more_than_asked_however_many_the_statement_reads() {
        let mut conn = SqliteConnection::establish(":memory:").unwrap();
        conn.batch_execute("CREATE TABLE items (id TEXT PRIMARY KEY)").unwrap();
        let mut ids: Vec<Id> = (0..30).map(|_| Id::new()).collect();
        ids.sort_by_key(Id::to_string);
        for id in &ids {
            diesel::insert_into(items::table)
                .values(items::id.eq(id.to_string()))
                .execute(&mut conn)
                .unwrap();
        }
        // 21 rows asked for, 26 read by the statement.
        let page = PageRequest { limit: 20, after: Some(ids[2]) };
        let loaded: Vec<String> = items::table
            .select(items::id)
            .into_boxed()
            .page(items::id, &page)
            .load(&mut conn)
            .unwrap();
        let expected: Vec<String> = ids[3..24].iter().map(Id::to_string).collect();
        assert_eq!(loaded, expected);
    }

    #[test]
    fn statements_are_cached_by_their_text_and_few() {
        // By type, every limit of a list would share one statement.
        assert!(<Limited<users::BoxedQuery<'static, Pg>> as QueryId>::query_id().is_none());
        let limits: Vec<i64> = (1..=200).map(|rows| statement_limit(rows + 1)).collect();
        assert!((1..=200).all(|rows| limits[rows as usize - 1] > rows));
        let mut distinct = limits.clone();
        distinct.dedup();
        assert_eq!(distinct, [11, 26, 51, 101, 201]);
    }
}

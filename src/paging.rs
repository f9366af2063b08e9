//! What a model needs to read one page of a list: how many rows, after
//! which id. Lists are ordered by id, which is creation order (see
//! [`crate::id`]), so a page is "the next `limit` ids after the cursor".
//! The HTTP side, reading `?limit=&cursor=` and answering `next_cursor`,
//! is `http::pagination`.

use diesel::dsl::{Asc, Gt};
use diesel::expression::{AsExpression, Expression};
use diesel::query_dsl::methods::{FilterDsl, LimitDsl, OrderDsl};
use diesel::sql_types::{SqlType, Text};
use diesel::{Column, ExpressionMethods};

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
/// start after the cursor, fetch one row more than the page.
pub trait Paged: Sized {
    fn page<C>(self, id: C, page: &PageRequest) -> Self
    where
        C: Column + Expression<SqlType = Text> + ExpressionMethods + Copy,
        Id: AsExpression<C::SqlType>,
        C::SqlType: SqlType,
        Self: OrderDsl<Asc<C>, Output = Self>
            + LimitDsl<Output = Self>
            + FilterDsl<Gt<C, Id>, Output = Self>,
    {
        let ordered = self.order(id.asc()).limit(page.fetch_limit());
        match page.after {
            Some(after) => ordered.filter(id.gt(after)),
            None => ordered,
        }
    }
}

impl<Q> Paged for Q {}

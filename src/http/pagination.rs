//! The one list convention: `?limit=&cursor=` in, `{"items", "next_cursor"}`
//! out, ordered by id. Ids are UUIDv7, so that order is creation order and
//! the cursor is simply the last id seen. Any UUID is a valid cursor (the
//! page after it), so the document can type it exactly and a client need
//! not guess what else the server accepts.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{
    ArrayBuilder, KnownFormat, ObjectBuilder, Schema, SchemaFormat, SchemaType, Type,
};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{IntoParams, PartialSchema, ToSchema};

use crate::error::{AppError, FieldIssue, InvalidField};
use crate::id::Id;
use crate::paging::PageRequest;

const DEFAULT_LIMIT: i64 = 50;
const MAX_LIMIT: i64 = 200;

/// Read as text and checked by hand, so that a bad value gets a message
/// that names the parameter.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// How many items to return (1–200, default 50).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 200)]
    limit: Option<String>,
    /// `next_cursor` of the previous page: the items after it.
    #[param(format = Uuid)]
    cursor: Option<String>,
}

impl PageQuery {
    pub fn parse(&self) -> Result<PageRequest, AppError> {
        let mut problems = Vec::new();
        // An empty `limit` or `cursor` is refused like any other value the
        // document does not allow: a client that sends one has a bug.
        let limit = match self.limit.as_deref() {
            None => DEFAULT_LIMIT,
            Some(raw) => match raw.parse::<i64>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
                _ => {
                    problems.push(InvalidField::new(
                        "limit",
                        FieldIssue::Range { min: 1, max: MAX_LIMIT },
                    ));
                    DEFAULT_LIMIT
                }
            },
        };
        let after = match self.cursor.as_deref() {
            None => None,
            Some(cursor) => {
                let decoded = decode_cursor(cursor);
                if decoded.is_none() {
                    problems.push(InvalidField::new("cursor", FieldIssue::NotUuid));
                }
                decoded
            }
        };
        if problems.is_empty() {
            Ok(PageRequest { limit, after })
        } else {
            Err(AppError::BadParameter(problems))
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; `null` on the last one.
    pub next_cursor: Option<Id>,
}

/// Each list's page is a schema of its own (`SessionPage` for a page of
/// `SessionResponse`s) whose `items` refer to the item's named schema:
/// generated clients then share one item type between a list and a read.
/// utoipa's derive would name it `Page_SessionResponse` and copy the item
/// schema inline, so this is written by hand; each resource names its page
/// with a type alias, which the path macro reads as a plain name.
impl<T: ToSchema> ToSchema for Page<T> {
    fn name() -> Cow<'static, str> {
        let item = T::name();
        let stem = item.strip_suffix("Response").unwrap_or(&item);
        Cow::Owned(format!("{stem}Page"))
    }

    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((T::name().into_owned(), T::schema()));
        T::schemas(schemas);
    }
}

impl<T: ToSchema> PartialSchema for Page<T> {
    fn schema() -> RefOr<Schema> {
        let next_cursor = ObjectBuilder::new()
            .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid)))
            .description(Some("Pass as `cursor` to get the next page; `null` on the last one."));
        ObjectBuilder::new()
            .property("items", ArrayBuilder::new().items(Ref::from_schema_name(T::name())))
            .required("items")
            .property("next_cursor", next_cursor)
            .required("next_cursor")
            .into()
    }
}

impl<T> Page<T> {
    /// Builds a page from rows fetched with [`PageRequest::fetch_limit`],
    /// ordered by the id that `id_of` returns.
    pub fn from_rows<R>(
        mut rows: Vec<R>,
        request: &PageRequest,
        id_of: impl Fn(&R) -> Id,
        to_item: impl FnMut(R) -> T,
    ) -> Self {
        let has_more = rows.len() as i64 > request.limit;
        rows.truncate(request.limit as usize);
        let next_cursor = if has_more { rows.last().map(id_of) } else { None };
        Page { items: rows.into_iter().map(to_item).collect(), next_cursor }
    }
}

/// The id a cursor names, spelt canonically: ids are compared as text, and
/// only the canonical spelling sorts right.
fn decode_cursor(cursor: &str) -> Option<Id> {
    cursor.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(limit: Option<&str>, cursor: Option<&str>) -> PageQuery {
        PageQuery { limit: limit.map(Into::into), cursor: cursor.map(Into::into) }
    }

    #[test]
    fn limits() {
        assert_eq!(query(None, None).parse().unwrap().limit, 50);
        assert!(query(None, Some("")).parse().is_err());
        assert_eq!(query(Some("200"), None).parse().unwrap().limit, 200);
        for bad in ["0", "201", "-1", "ten", ""] {
            assert!(query(Some(bad), None).parse().is_err(), "{bad}");
        }
    }

    #[test]
    fn cursors_are_the_last_id_in_its_canonical_spelling() {
        let (id, later) = (Id::new(), Id::new());
        let page = Page::from_rows(vec![id, later], &PageRequest::first(1), |r| *r, |r| r);
        let cursor = page.next_cursor.unwrap().to_string();
        assert_eq!(query(None, Some(&cursor)).parse().unwrap().after, Some(id));
        assert!(query(None, Some("not-a-cursor")).parse().is_err());
        let upper = id.to_string().to_uppercase();
        let canonical = query(None, Some(&upper)).parse().unwrap().after.unwrap();
        assert_eq!(canonical.to_string(), upper.to_lowercase());
    }
}

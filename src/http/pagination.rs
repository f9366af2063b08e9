//! The one list convention: `?limit=&cursor=` in, `{"items", "next_cursor"}`
//! out, ordered by id. Ids are UUIDv7, so that order is creation order and
//! the cursor is simply the last id seen (opaque to clients).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::{AppError, FieldIssue, InvalidField};

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 200;

/// Read as text and checked by hand, so that a bad value gets a message
/// that names the parameter.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// How many items to return (1–200, default 50).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 200)]
    limit: Option<String>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// A checked page request.
#[derive(Clone, Debug)]
pub struct PageRequest {
    pub limit: i64,
    /// Only items with an id greater than this one.
    pub after: Option<String>,
}

impl PageQuery {
    pub fn parse(&self) -> Result<PageRequest, AppError> {
        let mut problems = Vec::new();
        // `?cursor=` and `?limit=` with nothing after them mean "not given":
        // clients that always send both on the first page are common.
        let limit = match self.limit.as_deref().filter(|raw| !raw.is_empty()) {
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
        let after = match self.cursor.as_deref().filter(|raw| !raw.is_empty()) {
            None => None,
            Some(cursor) => {
                let decoded = decode_cursor(cursor);
                if decoded.is_none() {
                    problems.push(InvalidField::new("cursor", FieldIssue::UnknownCursor));
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

impl PageRequest {
    /// How many rows to fetch: one more than the page, to know whether
    /// another page follows.
    pub fn fetch_limit(&self) -> i64 {
        self.limit + 1
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; `null` on the last one.
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Builds a page from rows fetched with [`PageRequest::fetch_limit`],
    /// ordered by the id that `id_of` returns.
    pub fn from_rows<R>(
        mut rows: Vec<R>,
        request: &PageRequest,
        id_of: impl Fn(&R) -> &str,
        to_item: impl FnMut(R) -> T,
    ) -> Self {
        let has_more = rows.len() as i64 > request.limit;
        rows.truncate(request.limit as usize);
        let next_cursor =
            if has_more { rows.last().map(|r| encode_cursor(id_of(r))) } else { None };
        Page { items: rows.into_iter().map(to_item).collect(), next_cursor }
    }
}

fn encode_cursor(id: &str) -> String {
    URL_SAFE_NO_PAD.encode(id)
}

fn decode_cursor(cursor: &str) -> Option<String> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    let id = String::from_utf8(bytes).ok()?;
    // Ids are compared as text: only the canonical spelling sorts right.
    Some(uuid::Uuid::parse_str(&id).ok()?.to_string())
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
        assert_eq!(query(Some(""), Some("")).parse().unwrap().limit, 50);
        assert_eq!(query(Some("200"), None).parse().unwrap().limit, 200);
        for bad in ["0", "201", "-1", "ten"] {
            assert!(query(Some(bad), None).parse().is_err(), "{bad}");
        }
    }

    #[test]
    fn cursors_round_trip_and_reject_forgeries() {
        let id = uuid::Uuid::now_v7().to_string();
        let page = Page::from_rows(
            vec![id.clone(), "later".into()],
            &PageRequest { limit: 1, after: None },
            |r| r.as_str(),
            |r| r,
        );
        let cursor = page.next_cursor.unwrap();
        assert_eq!(query(None, Some(&cursor)).parse().unwrap().after, Some(id));
        assert!(query(None, Some("not-a-cursor")).parse().is_err());
        let upper = uuid::Uuid::now_v7().to_string().to_uppercase();
        let canonical = query(None, Some(&encode_cursor(&upper))).parse().unwrap().after;
        assert_eq!(canonical, Some(upper.to_lowercase()));
        assert!(query(None, Some(&encode_cursor("not-a-uuid"))).parse().is_err());
    }
}

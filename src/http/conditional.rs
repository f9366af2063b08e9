//! Conditional requests (RFC 9110, section 13) on single resources: a read
//! carries an `ETag`, `If-None-Match` with it answers `304`, and a `PATCH`
//! whose `If-Match` no longer names the stored resource answers `412`, so
//! that two officials editing one record cannot overwrite each other.
//!
//! The tag is a digest of the JSON the caller is shown, so it changes with
//! anything that changes the answer (a session's seat counts included) and
//! differs between callers who are shown different fields.

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, HttpResponse, HttpResponseBuilder};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::db::DbConnection;
use crate::error::AppError;

/// A resource's JSON and its entity tag.
struct Tagged {
    body: Vec<u8>,
    etag: String,
}

impl Tagged {
    fn new<T: Serialize>(value: &T) -> Result<Self, AppError> {
        let body =
            serde_json::to_vec(value).map_err(|err| AppError::internal("serialising", err))?;
        let digest = Sha256::digest(&body);
        // 128 bits tell versions of one resource apart with room to spare.
        let etag = format!("\"{}\"", URL_SAFE_NO_PAD.encode(&digest[..16]));
        Ok(Self { body, etag })
    }

    /// The answer that `response` (its status) starts, with this body and
    /// its `ETag`.
    fn respond(self, mut response: HttpResponseBuilder) -> HttpResponse {
        response
            .insert_header((header::ETAG, self.etag))
            .content_type("application/json")
            .body(self.body)
    }
}

/// `200` with the resource and its `ETag`, or `304` with no body when the
/// request's `If-None-Match` names the same tag.
pub fn read_one<T: Serialize>(req: &HttpRequest, value: &T) -> Result<HttpResponse, AppError> {
    let tagged = Tagged::new(value)?;
    let if_none_match = tag_list(req, header::IF_NONE_MATCH);
    if if_none_match.is_some_and(|tags| matches_any(&tags, &tagged.etag, Comparison::Weak)) {
        return Ok(HttpResponse::NotModified().insert_header((header::ETAG, tagged.etag)).finish());
    }
    Ok(tagged.respond(HttpResponse::Ok()))
}

/// `200` with a changed resource and the `ETag` of what is now stored.
pub fn changed<T: Serialize>(value: &T) -> Result<HttpResponse, AppError> {
    Tagged::new(value).map(|tagged| tagged.respond(HttpResponse::Ok()))
}

/// The entity tags of a header, all its lines joined as one list. A line
/// that is not even text matches nothing: a precondition fails, not a guess.
fn tag_list(req: &HttpRequest, name: header::HeaderName) -> Option<String> {
    let mut lines = req.headers().get_all(name).peekable();
    lines.peek()?;
    let tags: Vec<&str> = lines.map(|line| line.to_str().unwrap_or("")).collect();
    Some(tags.join(","))
}

/// The `If-Match` header of a write, checked against the stored resource
/// inside the write's transaction (after its row is locked), so that no
/// other write can land between the check and the change.
pub struct IfMatch(Option<String>);

impl IfMatch {
    /// `412 precondition_failed` unless the header is absent or names
    /// `current`, as the caller would be shown it.
    pub fn check<T: Serialize>(&self, current: &T) -> Result<(), AppError> {
        let Some(tags) = &self.0 else { return Ok(()) };
        let etag = Tagged::new(current)?.etag;
        if matches_any(tags, &etag, Comparison::Strong) {
            Ok(())
        } else {
            Err(AppError::PreconditionFailed)
        }
    }
}

impl IfMatch {
    /// What a write expects of the row it changes (see
    /// [`crate::rows::update`]): that the row as stored, shown as `shown`
    /// presents it, is the version this header names.
    pub fn expects<R: Clone, T: Serialize>(
        self,
        shown: impl FnOnce(R) -> T,
    ) -> impl FnOnce(&mut DbConnection, &R) -> Result<(), AppError> {
        move |_, row| self.check(&shown(row.clone()))
    }
}

impl FromRequest for IfMatch {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(IfMatch(tag_list(req, header::IF_MATCH))))
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Comparison {
    /// For `If-None-Match`: `W/"x"` matches `"x"`.
    Weak,
    /// For `If-Match`: a weak tag never matches.
    Strong,
}

/// Whether a list of entity tags (`"a", W/"b"` or `*`) names `etag`.
fn matches_any(list: &str, etag: &str, comparison: Comparison) -> bool {
    list.split(',').map(str::trim).any(|tag| {
        if tag == "*" {
            return true;
        }
        match tag.strip_prefix("W/") {
            Some(weak) => comparison == Comparison::Weak && weak == etag,
            None => tag == etag,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_follow_the_content() {
        let a = Tagged::new(&serde_json::json!({"venue": "Hall A"})).unwrap().etag;
        let b = Tagged::new(&serde_json::json!({"venue": "Hall B"})).unwrap().etag;
        assert_ne!(a, b);
        assert!(a.starts_with('"') && a.ends_with('"') && a.len() == 24, "{a}");
    }

    #[test]
    fn lists_and_wildcards_match_as_rfc_9110_says() {
        let etag = "\"abc\"";
        assert!(matches_any("\"x\", \"abc\"", etag, Comparison::Strong));
        assert!(matches_any("*", etag, Comparison::Strong));
        assert!(matches_any("W/\"abc\"", etag, Comparison::Weak));
        assert!(!matches_any("W/\"abc\"", etag, Comparison::Strong));
        assert!(!matches_any("\"abd\"", etag, Comparison::Weak));
        assert!(!matches_any("", etag, Comparison::Strong));
    }
}

//! The JSON body extractor. Unlike actix's own, it tells apart the four ways
//! a body can be wrong, each with its own status: not JSON at all (415), too
//! big (413), not parseable (400), and parseable but of the wrong shape
//! (422, naming the field by its path).

use std::time::Duration;

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;

use crate::error::{AppError, FieldIssue, InvalidField};

/// The largest request body accepted, in bytes (app data).
#[derive(Clone, Copy, Debug)]
pub struct BodyLimit(pub usize);

/// How long a client has to send a request's body (app data): a body sent
/// a byte at a time would otherwise hold its connection and memory for as
/// long as the client likes.
#[derive(Clone, Copy, Debug)]
pub struct BodyDeadline(pub Duration);

/// The whole body of a request, within [`BodyLimit`] (`413`) and
/// [`BodyDeadline`] (`408`).
pub fn body(
    req: &HttpRequest,
    payload: &mut Payload,
) -> impl Future<Output = Result<web::Bytes, AppError>> + 'static {
    let limit = req.app_data::<BodyLimit>().map_or(1 << 20, |l| l.0);
    let deadline = req.app_data::<BodyDeadline>().map_or(Duration::from_secs(10), |d| d.0);
    let body = web::Bytes::from_request(req, payload);
    async move {
        match tokio::time::timeout(deadline, body).await {
            Ok(Ok(body)) => Ok(body),
            Ok(Err(err))
                if err.as_response_error().status_code() == StatusCode::PAYLOAD_TOO_LARGE =>
            {
                Err(AppError::PayloadTooLarge { limit })
            }
            Ok(Err(err)) => Err(AppError::MalformedJson(err.to_string())),
            Err(_) => Err(AppError::RequestTimeout),
        }
    }
}

pub struct Json<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        if !is_json(req) {
            return Box::pin(async { Err(AppError::UnsupportedMediaType) });
        }
        let body = body(req, payload);
        Box::pin(async move { decode(&body.await?).map(Json) })
    }
}

/// `application/json` or any `application/*+json`, with any parameters.
fn is_json(req: &HttpRequest) -> bool {
    let Some(content_type) = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

pub fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, AppError> {
    // A syntax-only pass first: a body that is not JSON at all is a 400
    // even when its beginning would already be missing a field.
    serde_json::from_slice::<serde::de::IgnoredAny>(body)
        .map_err(|err| AppError::MalformedJson(err.to_string()))?;
    // Every request body of this API is an object. serde would also read a
    // struct from an array of its fields in order, which no client means.
    if body.trim_ascii_start().first() != Some(&b'{') {
        return Err(AppError::validation(".", FieldIssue::NotObject));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|err| {
        let inner = err.inner();
        let path = err.path().to_string();
        let message = without_position(&inner.to_string());
        // serde reports a missing field at its parent's path; name the field.
        let field_error = match message.strip_prefix("missing field `") {
            Some(rest) => {
                let name = rest.trim_end_matches('`');
                let field = if path == "." { name.to_owned() } else { format!("{path}.{name}") };
                InvalidField::new(field, FieldIssue::Required)
            }
            None => InvalidField::new(path, FieldIssue::Invalid(message)),
        };
        AppError::Validation(vec![field_error])
    })?;
    Ok(value)
}

/// For `Option<Option<T>>` fields of an update: tells an explicit `null`
/// (`Some(None)`, clear it) from an absent field (`None`, keep it). Use with
/// `#[serde(default, deserialize_with = "nullable")]`.
pub fn nullable<'de, T, D>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    T: serde::Deserialize<'de>,
    D: serde::Deserializer<'de>,
{
    <Option<T> as serde::Deserialize>::deserialize(d).map(Some)
}

/// serde_json appends " at line L column C"; the field path says more.
pub fn without_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Body {
        name: String,
        inner: Option<Inner>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Inner {
        count: u32,
    }

    fn field_of(err: AppError) -> InvalidField {
        match err {
            AppError::Validation(mut fields) => fields.remove(0),
            other => panic!("expected 422, got {other:?}"),
        }
    }

    #[test]
    fn syntax_errors_are_malformed_json() {
        assert!(matches!(decode::<Body>(b"{\"name\": "), Err(AppError::MalformedJson(_))));
        assert!(matches!(decode::<Body>(b"{} {}"), Err(AppError::MalformedJson(_))));
        assert!(matches!(decode::<Body>(b""), Err(AppError::MalformedJson(_))));
    }

    #[test]
    fn bodies_are_objects() {
        let field = field_of(decode::<Body>(br#"["a", null]"#).unwrap_err());
        assert_eq!(field, InvalidField::new(".", FieldIssue::NotObject));
        assert!(decode::<Body>(b" \n {\"name\": \"a\"}").is_ok());
    }

    #[test]
    fn shape_errors_name_the_field() {
        let missing = field_of(decode::<Body>(b"{}").unwrap_err());
        assert_eq!(missing, InvalidField::new("name", FieldIssue::Required));

        let nested = field_of(decode::<Body>(br#"{"name":"a","inner":{"count":-1}}"#).unwrap_err());
        assert_eq!(nested.field, "inner.count");
        assert!(matches!(nested.issue, FieldIssue::Invalid(ref m) if !m.contains(" at line ")));
    }
}

//! The middleware that makes every error answer a problem document
//! (RFC 9457) in the caller's language, whoever produced it.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::error::InternalError;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderMap, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpResponse, ResponseError};

use super::json::BodyLimit;
use crate::error::{AppError, AuthFailure, PROBLEM_CONTENT_TYPE};
use crate::lang::Lang;

/// Middleware that makes every error answer a problem document in the
/// caller's language: an `AppError` is rendered again in Vietnamese when
/// asked for, and any other error status (from actix itself) is replaced by
/// the matching problem, so that no plain-text error body ever leaves.
pub async fn render_problems(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let lang = Lang::from_headers(req.headers());
    let body_limit = req.app_data::<BodyLimit>().map_or(0, |limit| limit.0);
    let response = match next.call(req).await {
        Ok(response) => response.map_into_boxed_body(),
        // Handlers' errors arrive as responses; only a middleware inside
        // this one could fail outright, and actix renders what we return.
        Err(err) => {
            let problem = match err.as_error::<AppError>() {
                Some(app_error) => app_error.to_response(lang),
                None => problem_for_status(err.as_response_error().status_code(), body_limit, lang),
            };
            return Err(InternalError::from_response(err, problem).into());
        }
    };
    let status = response.status();
    if !status.is_client_error() && !status.is_server_error() {
        return Ok(response);
    }
    let app_error = response.response().error().and_then(|err| err.as_error::<AppError>());
    let replacement = match app_error {
        Some(_) if lang == Lang::En => None,
        Some(err) => Some(err.to_response(lang)),
        None if is_problem(response.headers()) => None,
        None => Some(problem_for_status(status, body_limit, lang)),
    };
    Ok(match replacement {
        Some(mut new) => {
            // Headers that middleware inside this one added (CORS, say)
            // belong to the answer whatever its body says.
            let carried: Vec<_> = response
                .headers()
                .iter()
                .filter(|(name, _)| {
                    let describes_body =
                        *name == header::CONTENT_TYPE || *name == header::CONTENT_LENGTH;
                    !describes_body && !new.headers().contains_key(*name)
                })
                .map(|(name, value)| (name.clone(), value.clone()))
                .collect();
            for (name, value) in carried {
                new.headers_mut().append(name, value);
            }
            response.into_response(new)
        }
        None => response,
    })
}

/// The problem for an error status that did not come from an `AppError`,
/// keeping that status.
fn problem_for_status(status: StatusCode, body_limit: usize, lang: Lang) -> HttpResponse {
    let mut response = AppError::for_foreign_status(status, body_limit).to_response(lang);
    *response.status_mut() = status;
    response
}

fn is_problem(headers: &HeaderMap) -> bool {
    headers.get(header::CONTENT_TYPE) == Some(&HeaderValue::from_static(PROBLEM_CONTENT_TYPE))
}

impl AppError {
    /// The problem+json answer in `lang`, with the headers its status calls
    /// for.
    pub fn to_response(&self, lang: Lang) -> HttpResponse {
        let mut response = HttpResponse::build(self.status());
        response.insert_header((header::CONTENT_TYPE, PROBLEM_CONTENT_TYPE));
        match self {
            Self::Unauthenticated(_) => {
                response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
            }
            Self::MethodNotAllowed { allow } => {
                response.insert_header((header::ALLOW, allow.as_str()));
            }
            Self::TooManyRequests { retry_after_secs }
            | Self::ServiceUnavailable { retry_after_secs } => {
                response.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
            }
            _ => {}
        }
        let body = serde_json::to_vec(&self.problem(lang)).unwrap_or_default();
        response.body(body)
    }

    /// The problem to show for an error status that did not come from an
    /// `AppError` (actix's own extractors and payload limits).
    fn for_foreign_status(status: StatusCode, body_limit: usize) -> Self {
        match status.as_u16() {
            400 => Self::MalformedJson("unreadable request".into()),
            401 => Self::Unauthenticated(AuthFailure::MissingToken),
            403 => Self::Forbidden,
            404 => Self::NotFound,
            413 => Self::PayloadTooLarge { limit: body_limit },
            415 => Self::UnsupportedMediaType,
            408 => Self::RequestTimeout,
            431 => Self::HeadersTooLarge,
            412 => Self::PreconditionFailed,
            429 => Self::TooManyRequests { retry_after_secs: 60 },
            503 => Self::ServiceUnavailable { retry_after_secs: 5 },
            _ => Self::Internal,
        }
    }
}

/// How actix renders the `AppError` a handler returns: in English, which
/// `render_problems` renders again in the caller's language.
impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        self.status()
    }

    fn error_response(&self) -> HttpResponse {
        self.to_response(Lang::En)
    }
}

//! The conventions every answer follows, as middleware: `HEAD` served like
//! `GET`, the headers that keep answers out of caches and sniffers, and CORS
//! for the browser origins the operator names.

use actix_cors::Cors;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{Method, header::HeaderName};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpRequest};

/// Marks a `HEAD` request that [`head_as_get`] passed on as a `GET`.
#[derive(Clone, Copy)]
struct Head;

/// Answers `HEAD` with what `GET` would answer. The route runs as a `GET`;
/// the connection, which still knows the request was a `HEAD`, sends the
/// status and headers (`Content-Length` included) and leaves out the body.
pub async fn head_as_get(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if req.method() == Method::HEAD {
        req.head_mut().method = Method::GET;
        req.extensions_mut().insert(Head);
    }
    next.call(req).await
}

/// Whether the request came as a `HEAD`: a route whose body costs much (a
/// streamed export) answers its headers without making it.
pub fn is_head(req: &HttpRequest) -> bool {
    req.extensions().contains::<Head>()
}

/// On every answer: `X-Content-Type-Options: nosniff` (a browser runs
/// nothing it guesses is a script), `Referrer-Policy: no-referrer` (no
/// address, with the ids in it, goes to another site) and
/// `X-Frame-Options: DENY` (no page of another site shows the docs in a
/// frame to trick a click).
pub const PROTECTIVE_HEADERS: [(HeaderName, &str); 3] = [
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::REFERRER_POLICY, "no-referrer"),
    (header::X_FRAME_OPTIONS, "DENY"),
];

/// On every API answer besides: a content security policy that lets
/// nothing load or run (an answer is data, never a page).
pub const API_CONTENT_SECURITY_POLICY: &str = "default-src 'none'; frame-ancestors 'none'";

/// On the documentation pages: Swagger UI's own files and the document,
/// from this server only, and no inline script. The one inline style it
/// applies, the colours of its logo, is allowed by its hash (a later Swagger
/// UI may change it: `contract/check` reports anything the policy blocks on
/// the page). Its icons are `data:` images in its stylesheet; "Try it
/// out" calls this server.
const DOCS_CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
    style-src 'self' 'sha256-RL3ie0nH+Lzz2YNqQN83mnU0J1ot4QL7b99vMdIX99w='; \
    img-src 'self' data:; connect-src 'self'; \
    base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The headers above, each page's content security policy, and on every
/// API answer `Cache-Control: no-store` (they carry tokens or personal
/// data, which a shared computer's browser or a proxy must not keep; a
/// handler that sets its own keeps it).
pub async fn protective_headers(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    // The path as the router reads it (escapes decoded): `/%61pi/v1/me`
    // reaches the API too.
    let path = req.match_info().as_str();
    let is_api = path.starts_with("/api/");
    let is_docs = path == "/docs" || path.starts_with("/docs/");
    let mut response = next.call(req).await?;
    let headers = response.headers_mut();
    for (name, value) in PROTECTIVE_HEADERS {
        headers.insert(name, HeaderValue::from_static(value));
    }
    if is_api {
        if !headers.contains_key(header::CACHE_CONTROL) {
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(API_CONTENT_SECURITY_POLICY),
        );
    } else if is_docs {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(DOCS_CONTENT_SECURITY_POLICY),
        );
    }
    Ok(response)
}

/// Headers a browser app may read from an answer, beyond the CORS-safelisted
/// ones.
const EXPOSED: [&str; 7] = [
    "etag",
    "location",
    "x-request-id",
    "content-disposition",
    "retry-after",
    "www-authenticate",
    "idempotent-replayed",
];

/// Headers a browser app may send.
const ALLOWED: [&str; 7] = [
    "authorization",
    "content-type",
    "accept-language",
    "if-match",
    "if-none-match",
    "x-request-id",
    "idempotency-key",
];

/// CORS for `origins` only, preflight included. With no origins it allows
/// nothing cross-origin and adds no CORS header (the default: the API is
/// meant for apps, not other sites' pages).
pub fn cors(origins: &[String]) -> Cors {
    let mut cors = Cors::default()
        .allowed_methods([
            Method::GET,
            Method::HEAD,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ])
        .allowed_headers(ALLOWED.map(HeaderName::from_static))
        .expose_headers(EXPOSED.map(HeaderName::from_static))
        // A day: preflights need not repeat before every call.
        .max_age(86_400);
    for origin in origins {
        cors = cors.allowed_origin(origin);
    }
    cors
}

//! What a device token may call: marking work, and nothing else (PRODUCT.md,
//! "Trainers' devices and offline rosters"). This list is that rule, in
//! one place; each route on it takes the caller as an `access::Marker`,
//! which accepts a device. Every other request with a device's token is
//! refused here, before its handler reads a byte of it: `403` while the
//! device is live, `401` once it is revoked or its person can no longer
//! mark.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;

use super::model as devices;
use crate::auth::extractor::{app_state, device_token};
use crate::error::AppError;

/// The routes of marking work, by method and pattern: the rosters of the
/// trainer's sessions, their roll-calls, self check-in codes, walk-ins and
/// offline sync.
const MARKING_WORK: [(Method, &str); 6] = [
    (Method::GET, "/api/v1/me/rosters"),
    (Method::GET, "/api/v1/sessions/{id}/attendance"),
    (Method::PUT, "/api/v1/sessions/{id}/attendance"),
    (Method::POST, "/api/v1/sessions/{id}/check-in-code"),
    (Method::POST, "/api/v1/sessions/{id}/walk-ins"),
    (Method::POST, "/api/v1/attendance/sync"),
];

/// The middleware. Requests without a device's token pass untouched.
pub async fn marking_only(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let Some(token) = device_token(req.request()) else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let pattern = req.match_pattern();
    let marking = MARKING_WORK
        .iter()
        .any(|(method, route)| method == req.method() && pattern.as_deref() == Some(route));
    if marking {
        return Ok(next.call(req).await?.map_into_boxed_body());
    }
    let state = app_state(req.request())?;
    // A dead device is `401` here; a live one may not do this.
    state.db.run(move |conn| devices::live(conn, &token)).await?;
    Err(AppError::Forbidden.into())
}

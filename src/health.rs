//! Liveness and readiness probes.

use actix_web::{get, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::AppError;
use crate::notify::backlog::{self as notify, Backlog};
use crate::state::AppState;
use utoipa_actix_web::service_config::ServiceConfig;

#[derive(Debug, Serialize, Deserialize, ToSchema)]
struct HealthResponse {
    #[schema(example = "ok")]
    pub status: String,
}

/// Check that the process is serving
///
/// Open to anyone, without a token. A liveness probe: answers `200` with
/// `{"status": "ok"}` whenever the server can answer at all, without
/// touching the database.
#[utoipa::path(
    tag = "health",
    responses((status = 200, description = "The process is serving", body = HealthResponse))
)]
#[get("/health/live")]
pub async fn live() -> web::Json<HealthResponse> {
    web::Json(HealthResponse { status: "ok".into() })
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
struct ReadyResponse {
    #[schema(example = "ok")]
    pub status: String,
    /// What waits to be delivered: a backlog that grows, or an oldest time
    /// that falls behind, means events are not getting out.
    pub notifications: Backlog,
}

/// Check that the database answers
///
/// Open to anyone, without a token. A readiness probe: answers `200` with
/// `{"status": "ok"}` and the backlog of notifications (events, webhook
/// deliveries and emails waiting, and since when the oldest has waited),
/// or `503 service_unavailable` with `Retry-After` when the database does
/// not answer.
#[utoipa::path(
    tag = "health",
    responses(
        (status = 200, description = "The database answers", body = ReadyResponse),
        (status = 503, description = "The database does not answer"),
    )
)]
#[get("/health/ready")]
pub async fn ready(state: web::Data<AppState>) -> Result<web::Json<ReadyResponse>, AppError> {
    let notifications = state
        .db
        .run(|conn| {
            // The backlog's own queries are the check that the database answers.
            notify::backlog(conn).map_err(|err| {
                tracing::warn!(error = %err, "readiness check failed");
                AppError::ServiceUnavailable { retry_after_secs: 5 }
            })
        })
        .await?;
    Ok(web::Json(ReadyResponse { status: "ok".into(), notifications }))
}

/// The routes of the probes, for [`crate::routes`].
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(live).service(ready);
}

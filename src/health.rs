//! Liveness and readiness probes.

use actix_web::{get, web};
use diesel::connection::SimpleConnection;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::AppError;
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

/// Check that the database answers
///
/// Open to anyone, without a token. A readiness probe: runs a trivial query
/// and answers `200` with `{"status": "ok"}`, or `503 service_unavailable`
/// with `Retry-After` when the database does not answer.
#[utoipa::path(
    tag = "health",
    responses(
        (status = 200, description = "The database answers", body = HealthResponse),
        (status = 503, description = "The database does not answer"),
    )
)]
#[get("/health/ready")]
pub async fn ready(state: web::Data<AppState>) -> Result<web::Json<HealthResponse>, AppError> {
    state
        .db
        .run(|conn| {
            conn.batch_execute("SELECT 1").map_err(|err| {
                tracing::warn!(error = %err, "readiness check failed");
                AppError::ServiceUnavailable { retry_after_secs: 5 }
            })
        })
        .await?;
    Ok(web::Json(HealthResponse { status: "ok".into() }))
}

/// The routes of the probes, for [`crate::routes`].
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(live).service(ready);
}

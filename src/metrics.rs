//! `GET /metrics`: what an operator's Prometheus scrapes. Requests by
//! method, route and status, their durations, the database pool's use and
//! the exports in progress, counted in this process since it started.
//! Routes are patterns (`/api/v1/sessions/{id}`), never actual paths, so
//! that no id reaches the metrics and their number stays bounded.

use std::fmt::Write;

use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, HttpResponse, get, web};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::auth::SignedIn;
use crate::crypto::sha256_base64;
use crate::error::AppError;
use crate::notify::backlog::{self as notify, Backlog};
use crate::state::AppState;
use crate::telemetry::RequestMetrics;
use crate::vocab::Role;

/// The Prometheus text format of the requests counted and of the pool's
/// and the exports' state now.
fn render(requests: &RequestMetrics, state: &AppState, backlog: Option<&Backlog>) -> String {
    let mut out = String::new();
    requests.render(&mut out);
    let pool = state.db.pool_use();
    let exports_running = state.export_slots_total - state.export_slots.available_permits();
    let _ = write!(
        out,
        "# HELP lophoc_db_connections Pooled database connections, by state.\n\
         # TYPE lophoc_db_connections gauge\n\
         lophoc_db_connections{{state=\"in_use\"}} {}\n\
         lophoc_db_connections{{state=\"idle\"}} {}\n\
         # HELP lophoc_db_connections_max The pool's size.\n\
         # TYPE lophoc_db_connections_max gauge\n\
         lophoc_db_connections_max {}\n\
         # HELP lophoc_exports_in_progress Exports streaming now.\n\
         # TYPE lophoc_exports_in_progress gauge\n\
         lophoc_exports_in_progress {exports_running}\n",
        pool.in_use, pool.idle, pool.max
    );
    // Left out, not zero, when the database did not answer.
    if let Some(backlog) = backlog {
        let age = |at: Option<chrono::DateTime<chrono::Utc>>| {
            at.map_or(0, |at| (chrono::Utc::now() - at).num_seconds().max(0))
        };
        let _ = write!(
            out,
            "# HELP lophoc_notifications_waiting Events, webhook deliveries and emails not yet delivered.\n\
             # TYPE lophoc_notifications_waiting gauge\n\
             lophoc_notifications_waiting{{kind=\"event\"}} {}\n\
             lophoc_notifications_waiting{{kind=\"webhook_delivery\"}} {}\n\
             lophoc_notifications_waiting{{kind=\"email\"}} {}\n\
             # HELP lophoc_notifications_oldest_seconds How long the oldest of each has waited.\n\
             # TYPE lophoc_notifications_oldest_seconds gauge\n\
             lophoc_notifications_oldest_seconds{{kind=\"event\"}} {}\n\
             lophoc_notifications_oldest_seconds{{kind=\"webhook_delivery\"}} {}\n\
             lophoc_notifications_oldest_seconds{{kind=\"email\"}} {}\n",
            backlog.events,
            backlog.webhook_deliveries,
            backlog.emails,
            age(backlog.oldest_event_at),
            age(backlog.oldest_delivery_at),
            age(backlog.oldest_email_at),
        );
    }
    out
}

/// Read the server's metrics
///
/// For an admin's access token, or for `LOPHOC_METRICS_TOKEN` as a bearer
/// token when the operator has set one (a scraper needs no account). The
/// Prometheus text format: requests by method, route and status, their
/// durations as histograms, the database pool's use and the exports in
/// progress, counted by this server since it started. Others get `401` or
/// `403`.
#[utoipa::path(
    tag = "health",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The metrics, in the Prometheus text format", content_type = "text/plain; version=0.0.4", body = String),
        (status = 403, description = "Signed in, but not an admin"),
    )
)]
#[get("/metrics")]
pub async fn metrics(
    req: HttpRequest,
    state: web::Data<AppState>,
    requests: web::Data<RequestMetrics>,
) -> Result<HttpResponse, AppError> {
    if !holds_metrics_token(&req, &state) {
        let caller = SignedIn::extract(&req).await?;
        let user = caller.read(&state.db, |_, user| Ok(user.clone())).await?;
        if user.role != Role::Admin {
            return Err(AppError::Forbidden);
        }
    }
    let backlog = state.db.run(|conn| Ok(notify::backlog(conn)?)).await.ok();
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8"))
        .body(render(&requests, &state, backlog.as_ref())))
}

/// Whether the request's bearer token is the operator's metrics token,
/// compared by digest so that the time taken tells nothing of it.
fn holds_metrics_token(req: &HttpRequest, state: &AppState) -> bool {
    let Some(expected) = &state.config.metrics_token else { return false };
    let sent = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    let Some(token) = sent.and_then(|v| v.strip_prefix("Bearer ")) else { return false };
    sha256_base64(token.trim()) == sha256_base64(expected.expose())
}

/// The route of the metrics, for [`crate::routes`].
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(metrics);
}

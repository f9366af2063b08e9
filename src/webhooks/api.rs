//! Webhook endpoints, for admins: subscribe another system to events, see
//! how its deliveries went, and unsubscribe it.

use actix_web::{HttpResponse, delete, get, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::address::{self, UrlProblem};
use super::model::{self, Delivery, DeliveryStatus, Webhook};
use crate::audit::Actor;
use crate::auth::Admin;
use crate::error::{AppError, FieldIssue};
use crate::http;
use crate::http::json::Json;
use crate::http::pagination::{Page, PageQuery};
use crate::http::query::Query;
use crate::http::utc::{utc, utc_or_null};
use crate::id::Id;
use crate::outbox::model::EventType;
use crate::state::AppState;
use crate::validation::Validator;

/// The longest webhook URL taken.
const MAX_URL_CHARS: usize = 2000;

/// A webhook. Its secret is shown only when it is created.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
struct WebhookResponse {
    pub id: Id,
    #[schema(example = "https://so-gddt.example.vn/lophoc/events")]
    pub url: String,
    /// The event types delivered to it.
    pub events: Vec<EventType>,
    #[serde(serialize_with = "utc")]
    pub created_at: DateTime<Utc>,
    /// When a delivery last gave up after 24 hours of retries; `null` when
    /// none has, or when one arrived since.
    #[serde(serialize_with = "utc_or_null")]
    #[schema(required = true)]
    pub failed_at: Option<DateTime<Utc>>,
}

impl From<Webhook> for WebhookResponse {
    fn from(w: Webhook) -> Self {
        Self {
            id: w.id,
            events: w.event_types(),
            url: w.url,
            created_at: w.created_at.and_utc(),
            failed_at: w.failed_at.map(|t| t.and_utc()),
        }
    }
}

/// A page of [`WebhookResponse`]s, under its own name in the document.
type WebhookPage = Page<WebhookResponse>;

#[derive(Debug, Serialize, Deserialize, ToSchema)]
struct CreatedWebhookResponse {
    #[serde(flatten)]
    pub webhook: WebhookResponse,
    /// The key of `Lophoc-Signature`. Shown only here: keep it.
    #[schema(example = "whsec_3q2+7w...")]
    pub secret: String,
}

#[derive(Debug, Deserialize, ToSchema)]
struct CreateWebhookRequest {
    /// Where events are `POST`ed: `http` or `https`, on a public address
    /// unless the server allows private ones.
    #[schema(example = "https://so-gddt.example.vn/lophoc/events")]
    pub url: String,
    /// At least one event type.
    #[schema(min_items = 1)]
    pub events: Vec<EventType>,
}

/// One event for one webhook, and how its tries went.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
struct DeliveryResponse {
    pub id: Id,
    /// The event's id, also sent as `Lophoc-Event-Id`: the same for every
    /// webhook and every retry, so that a receiver can tell repeats.
    pub event_id: Id,
    pub event_type: EventType,
    pub status: DeliveryStatus,
    pub attempts: i32,
    #[serde(serialize_with = "utc")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "utc_or_null")]
    #[schema(required = true)]
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// When it is tried next; `null` once delivered or given up.
    #[serde(serialize_with = "utc_or_null")]
    #[schema(required = true)]
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// The HTTP status of the receiver's last answer; `null` when it gave
    /// none (no connection, no answer within 10 seconds).
    #[schema(required = true)]
    pub last_status_code: Option<i32>,
    /// Why the last try failed: the connection's error, or the start of
    /// the answer that was not `2xx`.
    #[schema(required = true)]
    pub last_error: Option<String>,
    #[serde(serialize_with = "utc_or_null")]
    #[schema(required = true)]
    pub delivered_at: Option<DateTime<Utc>>,
}

impl From<Delivery> for DeliveryResponse {
    fn from(d: Delivery) -> Self {
        Self {
            id: d.id,
            event_id: d.event_id,
            event_type: d.event_type,
            status: d.status,
            attempts: d.attempts,
            created_at: d.created_at.and_utc(),
            last_attempt_at: d.last_attempt_at.map(|t| t.and_utc()),
            next_attempt_at: (d.status == DeliveryStatus::Pending)
                .then(|| d.next_attempt_at.and_utc()),
            last_status_code: d.last_status_code,
            last_error: d.last_error,
            delivered_at: d.delivered_at.map(|t| t.and_utc()),
        }
    }
}

/// A page of [`DeliveryResponse`]s, under its own name in the document.
type DeliveryPage = Page<DeliveryResponse>;

/// Subscribe a system to events
///
/// Admins only. Every event of the listed types is then `POST`ed to the URL
/// as JSON `{"id", "type", "occurred_at", "data"}`, with the headers
/// `Lophoc-Event-Id`, `Lophoc-Timestamp` (Unix seconds) and
/// `Lophoc-Signature: v1=<hex HMAC-SHA256 of "<timestamp>.<body>" keyed
/// with the secret>`. A delivery that gets no `2xx` within 10 seconds is
/// retried with growing delays for 24 hours, then given up, which marks the
/// webhook failed. Delivery is at least once: a receiver tells repeats by
/// the event id. The URL must be `http(s)`; one that is or resolves to a
/// private, loopback or link-local address is `422` unless the server runs
/// with `LOPHOC_WEBHOOK_ALLOW_PRIVATE=true`. The answer holds the `secret`,
/// shown only here.
#[utoipa::path(
    tag = "webhooks",
    security(("bearer" = [])),
    request_body = CreateWebhookRequest,
    responses(
        (status = 201, description = "Subscribed; the secret is shown only here", body = CreatedWebhookResponse, headers(("Location" = String, description = "The new resource's path"))),
        (status = 403, description = "Not an admin"),
        (status = 422, description = "A URL that is not http(s), does not resolve or points inside; no or unknown event types"),
    )
)]
#[post("/webhooks")]
async fn create_webhook(
    state: web::Data<AppState>,
    caller: Admin,
    Json(body): Json<CreateWebhookRequest>,
) -> Result<HttpResponse, AppError> {
    let mut v = Validator::new();
    let url = v.text("url", &body.url, MAX_URL_CHARS);
    if body.events.is_empty() {
        v.add("events", FieldIssue::EmptyList);
    }
    v.finish()?;
    let url_issue = |problem| {
        let issue = match problem {
            UrlProblem::NotHttp => FieldIssue::NotWebhookUrl,
            UrlProblem::Unresolvable => FieldIssue::Unresolvable,
            UrlProblem::NotPublic => FieldIssue::NotPublicAddress,
        };
        AppError::validation("url", issue)
    };
    let parsed = address::parse(&url).map_err(url_issue)?;
    address::check_destination(&parsed, state.config.notify.webhook_allow_private)
        .await
        .map_err(url_issue)?;
    let mut events = body.events;
    events.sort_by_key(|e| e.as_str());
    events.dedup();
    let actor = Actor::user(caller.id());
    let url = parsed.to_string();
    let webhook =
        state.db.write(move |conn| Ok(model::create(conn, &actor, url, &events)?)).await?;
    let secret = webhook.secret.clone();
    let response = CreatedWebhookResponse { webhook: webhook.into(), secret };
    Ok(http::created(&format!("/webhooks/{}", response.webhook.id), &response))
}

/// List webhooks
///
/// Admins only. Every webhook, oldest first, without secrets. Answers a
/// page.
#[utoipa::path(
    tag = "webhooks",
    security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, description = "A page of webhooks, oldest first", body = WebhookPage),
        (status = 403, description = "Not an admin"),
    )
)]
#[get("/webhooks")]
async fn list_webhooks(
    state: web::Data<AppState>,
    _caller: Admin,
    Query(page): Query<PageQuery>,
) -> Result<web::Json<WebhookPage>, AppError> {
    let page = page.parse()?;
    let result = state
        .db
        .run(move |conn| {
            let rows = model::list(conn, &page)?;
            Ok(Page::from_rows(rows, &page, |w| w.id, WebhookResponse::from))
        })
        .await?;
    Ok(web::Json(result))
}

/// Read a webhook
///
/// Admins only. The webhook without its secret, and whether its
/// deliveries lately gave up (`failed_at`).
#[utoipa::path(
    tag = "webhooks",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The webhook's id")),
    responses(
        (status = 200, description = "The webhook", body = WebhookResponse),
        (status = 403, description = "Not an admin"),
        (status = 404, description = "No such webhook"),
    )
)]
#[get("/webhooks/{id}")]
async fn get_webhook(
    state: web::Data<AppState>,
    _caller: Admin,
    id: web::Path<Id>,
) -> Result<web::Json<WebhookResponse>, AppError> {
    let id = id.into_inner();
    let webhook =
        state.db.run(move |conn| model::find(conn, id)?.ok_or(AppError::NotFound)).await?;
    Ok(web::Json(webhook.into()))
}

/// Unsubscribe a system
///
/// Admins only. Deletes the webhook and its deliveries log; deliveries not
/// yet sent are not sent. Answers `204`.
#[utoipa::path(
    tag = "webhooks",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The webhook's id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "Not an admin"),
        (status = 404, description = "No such webhook"),
    )
)]
#[delete("/webhooks/{id}")]
async fn delete_webhook(
    state: web::Data<AppState>,
    caller: Admin,
    id: web::Path<Id>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let actor = Actor::user(caller.id());
    let deleted = state.db.write(move |conn| Ok(model::delete(conn, &actor, id)?)).await?;
    if !deleted {
        return Err(AppError::NotFound);
    }
    Ok(HttpResponse::NoContent().finish())
}

/// List a webhook's deliveries
///
/// Admins only. Each event sent to the webhook, oldest first: its status
/// (`pending`, `delivered`, `failed`), how many tries it took, when the
/// next one is, and the receiver's last answer. Settled deliveries are
/// kept for 30 days. Answers a page.
#[utoipa::path(
    tag = "webhooks",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The webhook's id"), PageQuery),
    responses(
        (status = 200, description = "A page of deliveries, oldest first", body = DeliveryPage),
        (status = 403, description = "Not an admin"),
        (status = 404, description = "No such webhook"),
    )
)]
#[get("/webhooks/{id}/deliveries")]
async fn list_deliveries(
    state: web::Data<AppState>,
    _caller: Admin,
    id: web::Path<Id>,
    Query(page): Query<PageQuery>,
) -> Result<web::Json<DeliveryPage>, AppError> {
    let id = id.into_inner();
    let page = page.parse()?;
    let result = state
        .db
        .run(move |conn| {
            model::find(conn, id)?.ok_or(AppError::NotFound)?;
            let rows = model::deliveries(conn, id, &page)?;
            Ok(Page::from_rows(rows, &page, |d| d.id, DeliveryResponse::from))
        })
        .await?;
    Ok(web::Json(result))
}

/// The routes of `webhooks`, for [`crate::routes`].
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(create_webhook)
        .service(list_webhooks)
        .service(get_webhook)
        .service(delete_webhook)
        .service(list_deliveries);
}

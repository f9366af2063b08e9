//! `GET /api/v1/audit-events`: the audit trail, for admins.

use actix_web::{get, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::model::{self, AuditEvent, AuditFilter};
use super::{Action, EntityType, FieldChange};
use crate::auth::Admin;
use crate::error::AppError;
use crate::http::pagination::{Page, PageQuery};
use crate::http::query::Query;
use crate::http::utc::utc;
use crate::id::Id;
use crate::state::AppState;
use crate::validation;
use utoipa_actix_web::service_config::ServiceConfig;

#[derive(Debug, Serialize, Deserialize, ToSchema)]
struct AuditEventResponse {
    pub id: Id,
    #[serde(serialize_with = "utc")]
    pub occurred_at: DateTime<Utc>,
    /// Who made the change; `null` for lophoc itself (start-up, demo data).
    #[schema(required = true)]
    pub actor_id: Option<Id>,
    /// The paired device the actor used; `null` for anything else.
    #[schema(required = true)]
    pub device_id: Option<Id>,
    pub action: Action,
    pub entity_type: EntityType,
    pub entity_id: Id,
    /// The fields that changed; personal ones are named without values.
    pub changes: Vec<FieldChange>,
}

/// A page of [`AuditEventResponse`]s, under its own name in the document.
type AuditEventPage = Page<AuditEventResponse>;

impl From<AuditEvent> for AuditEventResponse {
    fn from(event: AuditEvent) -> Self {
        Self {
            // Written by `record` from the same type, so it always parses.
            changes: serde_json::from_str(&event.changes).unwrap_or_default(),
            id: event.id,
            occurred_at: event.occurred_at.and_utc(),
            actor_id: event.actor_id,
            device_id: event.device_id,
            action: event.action,
            entity_type: event.entity_type,
            entity_id: event.entity_id,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct AuditListQuery {
    pub actor_id: Option<Id>,
    pub entity_type: Option<EntityType>,
    pub entity_id: Option<Id>,
    pub action: Option<Action>,
    /// Events at or after this time (RFC 3339).
    pub from: Option<DateTime<Utc>>,
    /// Events before this time (RFC 3339).
    pub to: Option<DateTime<Utc>>,
}

/// List audit events
///
/// Admins only (others get `403 forbidden`). Lists every recorded write,
/// login, logout and export, oldest first: who (`null` for lophoc itself),
/// when, the action, the entity and the changed fields, with personal
/// fields named but their values left out. Filters by actor, entity type
/// and id, action, and time (`from` inclusive, `to` exclusive).
#[utoipa::path(
    tag = "audit",
    security(("bearer" = [])),
    params(PageQuery, AuditListQuery),
    responses(
        (status = 200, description = "A page of events, oldest first", body = AuditEventPage),
        (status = 403, description = "Not an admin"),
    )
)]
#[get("/audit-events")]
async fn list_audit_events(
    state: web::Data<AppState>,
    _caller: Admin,
    Query(page): Query<PageQuery>,
    Query(query): Query<AuditListQuery>,
) -> Result<web::Json<AuditEventPage>, AppError> {
    let page = page.parse()?;
    let filter = AuditFilter {
        actor_id: query.actor_id,
        entity_type: query.entity_type,
        entity_id: query.entity_id,
        action: query.action,
        from: query.from.map(validation::filter_time),
        to: query.to.map(validation::filter_time),
    };
    let rows = {
        let page = page.clone();
        state.db.run(move |conn| Ok(model::list(conn, &filter, &page)?)).await?
    };
    Ok(web::Json(Page::from_rows(rows, &page, |e| e.id, AuditEventResponse::from)))
}

/// The routes of `audit`, for [`crate::routes`].
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(list_audit_events);
}

//! `/api/v1/organizations`: the units. Anyone may read them (sign-up forms
//! list them; they hold no personal data); only admins create them.

use actix_web::{HttpRequest, HttpResponse, get, patch, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::Organization;
use super::model::{self, OrganizationUpdate};
use crate::audit::Actor;
use crate::auth::Admin;
use crate::db;
use crate::error::AppError;
use crate::http;
use crate::http::conditional::{self, IfMatch};
use crate::http::json::{Json, nullable};
use crate::http::pagination::{Page, PageQuery};
use crate::http::query::Query;
use crate::http::utc::utc;
use crate::id::Id;
use crate::state::AppState;
use crate::validation::{MAX_NAME_CHARS, Validator};
use crate::vocab::OrganizationKind;
use utoipa_actix_web::service_config::ServiceConfig;

const MAX_CODE_CHARS: usize = 50;

#[derive(Debug, Serialize, Deserialize, ToSchema)]
struct OrganizationResponse {
    pub id: Id,
    pub kind: OrganizationKind,
    #[schema(example = "Trường THCS Trung Hội")]
    pub name: String,
    #[schema(required = true)]
    pub code: Option<String>,
    #[schema(required = true)]
    pub parent_id: Option<Id>,
    #[serde(serialize_with = "utc")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "utc")]
    pub updated_at: DateTime<Utc>,
}

/// A page of [`OrganizationResponse`]s, under its own name in the document.
type OrganizationPage = Page<OrganizationResponse>;

impl From<Organization> for OrganizationResponse {
    fn from(unit: Organization) -> Self {
        Self {
            id: unit.id,
            kind: unit.kind,
            name: unit.name,
            code: unit.code,
            parent_id: unit.parent_id,
            created_at: unit.created_at.and_utc(),
            updated_at: unit.updated_at.and_utc(),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
struct CreateOrganizationRequest {
    pub kind: OrganizationKind,
    #[schema(example = "Trường THCS Trung Hội", min_length = 1, max_length = 200)]
    pub name: String,
    /// A short unique code, such as the unit's code in reports.
    #[schema(max_length = 50)]
    pub code: Option<String>,
    pub parent_id: Option<Id>,
}

/// Any subset of fields; absent ones stay as they are, `null` clears a
/// nullable one.
#[derive(Debug, Deserialize, ToSchema)]
struct UpdateOrganizationRequest {
    pub kind: Option<OrganizationKind>,
    #[schema(min_length = 1, max_length = 200)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, max_length = 50)]
    pub code: Option<Option<String>>,
    /// Not the unit itself or one of its sub-units.
    #[serde(default, deserialize_with = "nullable")]
    pub parent_id: Option<Option<Id>>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct OrganizationListQuery {
    pub kind: Option<OrganizationKind>,
    /// Only the direct sub-units of this unit.
    pub parent_id: Option<Id>,
}

/// Create a unit
///
/// Admins only (others get `403 forbidden`). Creates a unit (school,
/// hamlet, agency, ...) with an optional unique `code` and an optional
/// parent unit. A code that another unit has answers `409 code_taken`; an
/// unknown `parent_id` or a bad name answers `422 validation_failed`.
/// Answers `201` with the unit.
#[utoipa::path(
    tag = "organizations",
    security(("bearer" = [])),
    request_body = CreateOrganizationRequest,
    responses(
        (status = 201, description = "Created", body = OrganizationResponse, headers(("Location" = String, description = "The new resource's path"))),
        (status = 403, description = "Not an admin"),
        (status = 409, description = "Code taken (`code_taken`)"),
    )
)]
#[post("/organizations")]
pub async fn create_organization(
    state: web::Data<AppState>,
    caller: Admin,
    Json(body): Json<CreateOrganizationRequest>,
) -> Result<HttpResponse, AppError> {
    let mut v = Validator::new();
    let name = v.text("name", &body.name, MAX_NAME_CHARS);
    let code = v.optional_text("code", body.code.as_deref(), MAX_CODE_CHARS);
    v.finish()?;
    let now = db::now();
    let unit = Organization {
        id: Id::new(),
        kind: body.kind,
        name,
        code,
        parent_id: body.parent_id,
        created_at: now,
        updated_at: now,
    };
    let actor = Actor::user(caller.id());
    let unit = state.db.write(move |conn| model::create(conn, &actor, unit)).await?;
    let response = OrganizationResponse::from(unit);
    Ok(http::created(&format!("/organizations/{}", response.id), &response))
}

/// List units
///
/// Open to anyone, without a token, so that sign-up forms can offer the
/// units. Filters by `kind` and by `parent_id` (direct sub-units only).
/// Answers a page of units, oldest first.
#[utoipa::path(
    tag = "organizations",
    params(PageQuery, OrganizationListQuery),
    responses((status = 200, description = "A page of units, oldest first", body = OrganizationPage))
)]
#[get("/organizations")]
async fn list_organizations(
    state: web::Data<AppState>,
    Query(page): Query<PageQuery>,
    Query(filter): Query<OrganizationListQuery>,
) -> Result<web::Json<OrganizationPage>, AppError> {
    let page = page.parse()?;
    let (kind, parent_id) = (filter.kind, filter.parent_id);
    let units = state
        .db
        .run(move |conn| Ok(model::list(conn, kind, parent_id, &page).map(|rows| (rows, page))?))
        .await?;
    let (rows, page) = units;
    Ok(web::Json(Page::from_rows(rows, &page, |u| u.id, OrganizationResponse::from)))
}

/// Get a unit
///
/// Open to anyone, without a token. Answers the unit, or `404 not_found`.
#[utoipa::path(
    tag = "organizations",
    params(("id" = Uuid, Path, description = "The unit's id")),
    responses(
        (status = 200, description = "The unit", body = OrganizationResponse),
        (status = 404, description = "No such unit"),
    )
)]
#[get("/organizations/{id}")]
pub async fn get_organization(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<Id>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let unit = state.db.run(move |conn| model::find(conn, id)?.ok_or(AppError::NotFound)).await?;
    conditional::read_one(&req, &OrganizationResponse::from(unit))
}

/// Change a unit
///
/// Admins only (others get `403 forbidden`). Changes any of kind, name,
/// code and parent; absent fields stay, `null` clears code or parent. A
/// parent that does not exist, or that is the unit itself or one of its
/// sub-units, answers `422 validation_failed`; a code another unit has
/// answers `409 code_taken`. Answers the unit, or `404 not_found`.
#[utoipa::path(
    tag = "organizations",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The unit's id")),
    request_body = UpdateOrganizationRequest,
    responses(
        (status = 200, description = "The changed unit", body = OrganizationResponse),
        (status = 403, description = "Not an admin"),
        (status = 404, description = "No such unit"),
        (status = 409, description = "Code taken (`code_taken`)"),
    )
)]
#[patch("/organizations/{id}")]
pub async fn update_organization(
    state: web::Data<AppState>,
    caller: Admin,
    id: web::Path<Id>,
    if_match: IfMatch,
    Json(body): Json<UpdateOrganizationRequest>,
) -> Result<HttpResponse, AppError> {
    let mut v = Validator::new();
    let update = OrganizationUpdate {
        kind: body.kind,
        name: body.name.as_deref().map(|name| v.text("name", name, MAX_NAME_CHARS)),
        code: body.code.map(|code| v.optional_text("code", code.as_deref(), MAX_CODE_CHARS)),
        parent_id: body.parent_id,
    };
    v.finish()?;
    let (actor, id) = (Actor::user(caller.id()), id.into_inner());
    let unit = state
        .db
        .write(move |conn| {
            model::update(conn, &actor, id, if_match.expects(OrganizationResponse::from), update)
        })
        .await?;
    conditional::changed(&OrganizationResponse::from(unit))
}

/// The routes of `organizations`, for [`crate::routes`].
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(create_organization)
        .service(list_organizations)
        .service(get_organization)
        .service(update_organization);
}

//! `/api/v1/programmes`: readable by every signed-in user, written by admins.

use actix_web::{HttpRequest, HttpResponse, get, patch, post, web};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::Programme;
use super::model::{self, ProgrammeUpdate};
use crate::audit::Actor;
use crate::auth::{Admin, SignedIn};
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
use crate::validation::{self, MAX_NAME_CHARS, MAX_TEXT_CHARS, Validator};
use utoipa_actix_web::service_config::ServiceConfig;

#[derive(Debug, Serialize, Deserialize, ToSchema)]
struct ProgrammeResponse {
    pub id: Id,
    #[schema(example = "Tuần lễ hưởng ứng học tập suốt đời 2023")]
    pub name: String,
    #[schema(example = "Xây dựng năng lực tự học trong kỷ nguyên số", required = true)]
    pub theme: Option<String>,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    #[serde(serialize_with = "utc")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "utc")]
    pub updated_at: DateTime<Utc>,
}

/// A page of [`ProgrammeResponse`]s, under its own name in the document.
type ProgrammePage = Page<ProgrammeResponse>;

impl From<Programme> for ProgrammeResponse {
    fn from(p: Programme) -> Self {
        Self {
            id: p.id,
            name: p.name,
            theme: p.theme,
            starts_on: p.starts_on,
            ends_on: p.ends_on,
            created_at: p.created_at.and_utc(),
            updated_at: p.updated_at.and_utc(),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
struct CreateProgrammeRequest {
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    #[schema(max_length = 2000)]
    pub theme: Option<String>,
    pub starts_on: NaiveDate,
    /// Not before `starts_on`.
    pub ends_on: NaiveDate,
}

/// Any subset of fields; absent ones stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
struct UpdateProgrammeRequest {
    #[schema(min_length = 1, max_length = 200)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, max_length = 2000)]
    pub theme: Option<Option<String>>,
    pub starts_on: Option<NaiveDate>,
    pub ends_on: Option<NaiveDate>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ProgrammeListQuery {
    /// Only programmes running on this day.
    pub on: Option<NaiveDate>,
}

/// Create a programme
///
/// Admins only (others get `403 forbidden`). Creates a programme (such as a
/// learning week) with a name, an optional theme and its first and last
/// days. Dates outside the years 2000 to 2100, or `ends_on` before
/// `starts_on`, answer `422 validation_failed`. Answers `201` with the
/// programme.
#[utoipa::path(
    tag = "programmes",
    security(("bearer" = [])),
    request_body = CreateProgrammeRequest,
    responses(
        (status = 201, description = "Created", body = ProgrammeResponse, headers(("Location" = String, description = "The new resource's path"))),
        (status = 403, description = "Not an admin"),
    )
)]
#[post("/programmes")]
pub async fn create_programme(
    state: web::Data<AppState>,
    caller: Admin,
    Json(body): Json<CreateProgrammeRequest>,
) -> Result<HttpResponse, AppError> {
    let mut v = Validator::new();
    let name = v.text("name", &body.name, MAX_NAME_CHARS);
    let theme = v.optional_paragraphs("theme", body.theme.as_deref(), MAX_TEXT_CHARS);
    let starts_on = v.planning_date("starts_on", body.starts_on);
    let ends_on = v.planning_date("ends_on", body.ends_on);
    v.finish()?;
    let now = db::now();
    let programme = Programme {
        id: Id::new(),
        name,
        theme,
        starts_on,
        ends_on,
        created_at: now,
        updated_at: now,
    };
    let actor = Actor::user(caller.id());
    let programme = state.db.write(move |conn| model::create(conn, &actor, programme)).await?;
    let response = ProgrammeResponse::from(programme);
    Ok(http::created(&format!("/programmes/{}", response.id), &response))
}

/// List programmes
///
/// Any signed-in user. With `on`, only the programmes running on that day
/// (started on or before it, not ended before it). Answers a page of
/// programmes, oldest first.
#[utoipa::path(
    tag = "programmes",
    security(("bearer" = [])),
    params(PageQuery, ProgrammeListQuery),
    responses((status = 200, description = "A page of programmes, oldest first", body = ProgrammePage))
)]
#[get("/programmes")]
async fn list_programmes(
    state: web::Data<AppState>,
    caller: SignedIn,
    Query(page): Query<PageQuery>,
    Query(filter): Query<ProgrammeListQuery>,
) -> Result<web::Json<ProgrammePage>, AppError> {
    let page = page.parse()?;
    let on = filter.on.map(validation::filter_date);
    let rows = {
        let page = page.clone();
        caller.read(&state.db, move |conn, _| Ok(model::list(conn, on, &page)?)).await?
    };
    Ok(web::Json(Page::from_rows(rows, &page, |p| p.id, ProgrammeResponse::from)))
}

/// Get a programme
///
/// Any signed-in user. Answers the programme, or `404 not_found`.
#[utoipa::path(
    tag = "programmes",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The programme's id")),
    responses(
        (status = 200, description = "The programme", body = ProgrammeResponse),
        (status = 404, description = "No such programme"),
    )
)]
#[get("/programmes/{id}")]
pub async fn get_programme(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: SignedIn,
    id: web::Path<Id>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let programme = caller
        .read(&state.db, move |conn, _| model::find(conn, id)?.ok_or(AppError::NotFound))
        .await?;
    conditional::read_one(&req, &ProgrammeResponse::from(programme))
}

/// Change a programme
///
/// Admins only (others get `403 forbidden`). Changes any of name, theme and
/// dates; absent fields stay, `null` clears the theme. The result must still
/// end on or after the day it starts (`422 validation_failed`). Answers the
/// programme, or `404 not_found`.
#[utoipa::path(
    tag = "programmes",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The programme's id")),
    request_body = UpdateProgrammeRequest,
    responses(
        (status = 200, description = "The changed programme", body = ProgrammeResponse),
        (status = 403, description = "Not an admin"),
        (status = 404, description = "No such programme"),
    )
)]
#[patch("/programmes/{id}")]
pub async fn update_programme(
    state: web::Data<AppState>,
    caller: Admin,
    id: web::Path<Id>,
    if_match: IfMatch,
    Json(body): Json<UpdateProgrammeRequest>,
) -> Result<HttpResponse, AppError> {
    let mut v = Validator::new();
    let update = ProgrammeUpdate {
        name: body.name.as_deref().map(|name| v.text("name", name, MAX_NAME_CHARS)),
        theme: body
            .theme
            .map(|theme| v.optional_paragraphs("theme", theme.as_deref(), MAX_TEXT_CHARS)),
        starts_on: body.starts_on.map(|date| v.planning_date("starts_on", date)),
        ends_on: body.ends_on.map(|date| v.planning_date("ends_on", date)),
    };
    v.finish()?;
    let (actor, id) = (Actor::user(caller.id()), id.into_inner());
    let programme = state
        .db
        .write(move |conn| {
            model::update(conn, &actor, id, if_match.expects(ProgrammeResponse::from), update)
        })
        .await?;
    conditional::changed(&ProgrammeResponse::from(programme))
}

/// The routes of `programmes`, for [`crate::routes`].
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(create_programme)
        .service(list_programmes)
        .service(get_programme)
        .service(update_programme);
}

//! `/api/v1/sessions`: readable by every signed-in user, written by admins.

use actix_web::{HttpRequest, HttpResponse, get, patch, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::Session;
use super::model::{self, SessionDetails, SessionFilter, SessionUpdate};
use crate::audit::Actor;
use crate::auth::{Admin, SignedIn};
use crate::courses::api::check_categories;
use crate::db;
use crate::error::{AppError, FieldIssue};
use crate::http;
use crate::http::conditional::{self, IfMatch};
use crate::http::json::{Json, nullable};
use crate::http::pagination::{Page, PageQuery};
use crate::http::query::Query;
use crate::http::utc::{utc, utc_or_null};
use crate::id::Id;
use crate::operations;
use crate::state::AppState;
use crate::validation::{self, MAX_NAME_CHARS, Validator};
use crate::vocab::{Category, SessionStatus};
use utoipa_actix_web::service_config::ServiceConfig;

/// The most seats a session may have; more is a typing mistake.
const MAX_CAPACITY: i32 = 10_000;
/// The most trainers a session may have.
const MAX_TRAINERS: usize = 20;

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SessionResponse {
    pub id: Id,
    pub course_id: Id,
    /// The course's programme.
    #[schema(required = true)]
    pub programme_id: Option<Id>,
    #[serde(serialize_with = "utc")]
    pub starts_at: DateTime<Utc>,
    #[serde(serialize_with = "utc")]
    pub ends_at: DateTime<Utc>,
    #[schema(example = "Nhà văn hoá xóm Đồng Tâm")]
    pub venue: String,
    pub capacity: i32,
    pub trainer_ids: Vec<Id>,
    pub status: SessionStatus,
    #[schema(required = true)]
    #[serde(serialize_with = "utc_or_null")]
    pub enrolment_opens_at: Option<DateTime<Utc>>,
    #[schema(required = true)]
    #[serde(serialize_with = "utc_or_null")]
    pub enrolment_closes_at: Option<DateTime<Utc>>,
    /// Who may enrol: the session's own categories, or its course's.
    pub eligible_categories: Vec<Category>,
    /// Whether people may wait for a place when the session is full.
    pub waitlist: bool,
    pub enrolled_count: i32,
    pub waitlisted_count: i32,
    pub seats_left: i32,
    #[serde(serialize_with = "utc")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "utc")]
    pub updated_at: DateTime<Utc>,
}

/// A page of [`SessionResponse`]s, under its own name in the document.
pub type SessionPage = Page<SessionResponse>;

impl From<SessionDetails> for SessionResponse {
    fn from(details: SessionDetails) -> Self {
        let eligible_categories = details.eligible_categories();
        let seats_left = details.seats_left();
        let s = details.session;
        Self {
            id: s.id,
            course_id: s.course_id,
            programme_id: details.programme_id,
            starts_at: s.starts_at.and_utc(),
            ends_at: s.ends_at.and_utc(),
            venue: s.venue,
            capacity: s.capacity,
            trainer_ids: details.trainer_ids,
            status: s.status,
            enrolment_opens_at: s.enrolment_opens_at.map(|t| t.and_utc()),
            enrolment_closes_at: s.enrolment_closes_at.map(|t| t.and_utc()),
            eligible_categories,
            waitlist: s.waitlist,
            enrolled_count: s.enrolled_count,
            waitlisted_count: s.waitlisted_count,
            seats_left,
            created_at: s.created_at.and_utc(),
            updated_at: s.updated_at.and_utc(),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
struct CreateSessionRequest {
    pub course_id: Id,
    pub starts_at: DateTime<Utc>,
    /// After `starts_at`.
    pub ends_at: DateTime<Utc>,
    #[schema(min_length = 1, max_length = 200)]
    pub venue: String,
    #[schema(minimum = 1, maximum = 10000)]
    pub capacity: i32,
    /// Accounts with the `trainer` role; may be empty until assigned.
    #[schema(max_items = 20)]
    pub trainer_ids: Vec<Id>,
    /// Default false.
    pub waitlist: Option<bool>,
    pub enrolment_opens_at: Option<DateTime<Utc>>,
    /// After `enrolment_opens_at`.
    pub enrolment_closes_at: Option<DateTime<Utc>>,
    /// Default: the course's target categories.
    #[schema(min_items = 1)]
    pub eligible_categories: Option<Vec<Category>>,
}

/// Any subset of fields; absent ones stay as they are, `null` clears a
/// nullable one (`eligible_categories: null` goes back to the course's).
#[derive(Debug, Deserialize, ToSchema)]
struct UpdateSessionRequest {
    pub course_id: Option<Id>,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    #[schema(min_length = 1, max_length = 200)]
    pub venue: Option<String>,
    /// Not below `enrolled_count`.
    #[schema(minimum = 1, maximum = 10000)]
    pub capacity: Option<i32>,
    #[schema(max_items = 20)]
    pub trainer_ids: Option<Vec<Id>>,
    pub status: Option<SessionStatus>,
    pub waitlist: Option<bool>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub enrolment_opens_at: Option<Option<DateTime<Utc>>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub enrolment_closes_at: Option<Option<DateTime<Utc>>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Vec<Category>>, min_items = 1)]
    pub eligible_categories: Option<Option<Vec<Category>>>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct SessionListQuery {
    /// Sessions starting at or after this time (RFC 3339).
    pub from: Option<DateTime<Utc>>,
    /// Sessions starting before this time (RFC 3339).
    pub to: Option<DateTime<Utc>>,
    pub course_id: Option<Id>,
    pub programme_id: Option<Id>,
    pub trainer_id: Option<Id>,
    pub status: Option<SessionStatus>,
    /// `true`: only sessions with a seat left; `false`: only full ones.
    pub has_seats: Option<bool>,
}

fn check_capacity(v: &mut Validator, capacity: i32) -> i32 {
    if !(1..=MAX_CAPACITY).contains(&capacity) {
        v.add("capacity", FieldIssue::Range { min: 1, max: MAX_CAPACITY.into() });
    }
    capacity
}

fn trainer_ids(v: &mut Validator, ids: Vec<Id>) -> Vec<Id> {
    if ids.len() > MAX_TRAINERS {
        v.add("trainer_ids", FieldIssue::Range { min: 0, max: MAX_TRAINERS as i64 });
    }
    ids
}

/// Schedule a session of a course
///
/// Admins only (others get `403 forbidden`). Creates a `scheduled` session
/// with its times, venue, capacity (1 to 10,000), trainers (active
/// `trainer` accounts, up to 20), optional enrolment window, waitlist
/// choice and eligible categories (the course's if absent). An unknown
/// course, a non-trainer id, `ends_at` not after `starts_at` or a window
/// that closes before it opens answer `422 validation_failed`. Answers
/// `201` with the session.
#[utoipa::path(
    tag = "sessions",
    security(("bearer" = [])),
    request_body = CreateSessionRequest,
    responses(
        (status = 201, description = "Created, `scheduled`", body = SessionResponse, headers(("Location" = String, description = "The new resource's path"))),
        (status = 403, description = "Not an admin"),
    )
)]
#[post("/sessions")]
pub async fn create_session(
    state: web::Data<AppState>,
    caller: Admin,
    Json(body): Json<CreateSessionRequest>,
) -> Result<HttpResponse, AppError> {
    let mut v = Validator::new();
    let now = db::now();
    let session = Session {
        id: Id::new(),
        course_id: body.course_id,
        starts_at: v.planning_time("starts_at", body.starts_at),
        ends_at: v.planning_time("ends_at", body.ends_at),
        venue: v.text("venue", &body.venue, MAX_NAME_CHARS),
        capacity: check_capacity(&mut v, body.capacity),
        status: SessionStatus::Scheduled,
        enrolment_opens_at: body
            .enrolment_opens_at
            .map(|t| v.planning_time("enrolment_opens_at", t)),
        enrolment_closes_at: body
            .enrolment_closes_at
            .map(|t| v.planning_time("enrolment_closes_at", t)),
        eligible_categories: body
            .eligible_categories
            .as_deref()
            .map(|categories| check_categories(&mut v, "eligible_categories", categories)),
        waitlist: body.waitlist.unwrap_or(false),
        enrolled_count: 0,
        waitlisted_count: 0,
        created_at: now,
        updated_at: now,
    };
    let trainers = trainer_ids(&mut v, body.trainer_ids);
    v.finish()?;
    let actor = Actor::user(caller.id());
    let zone = state.config.timezone;
    let details =
        state.db.write(move |conn| model::create(conn, &actor, session, &trainers, zone)).await?;
    let response = SessionResponse::from(details);
    Ok(http::created(&format!("/sessions/{}", response.id), &response))
}

/// List sessions
///
/// Any signed-in user. Filters by start time (`from` inclusive, `to`
/// exclusive), course, programme, trainer, status and whether a seat is
/// left. Answers a page of sessions in the order they were created (not by
/// start time), each with its counts of enrolled and waitlisted places and
/// the seats left.
#[utoipa::path(
    tag = "sessions",
    security(("bearer" = [])),
    params(PageQuery, SessionListQuery),
    responses((status = 200, description = "A page of sessions, oldest first", body = SessionPage))
)]
#[get("/sessions")]
async fn list_sessions(
    state: web::Data<AppState>,
    caller: SignedIn,
    Query(page): Query<PageQuery>,
    Query(query): Query<SessionListQuery>,
) -> Result<web::Json<SessionPage>, AppError> {
    let page = page.parse()?;
    let filter = SessionFilter {
        from: query.from.map(validation::filter_time),
        to: query.to.map(validation::filter_time),
        course_id: query.course_id,
        programme_id: query.programme_id,
        trainer_id: query.trainer_id,
        status: query.status,
        has_seats: query.has_seats,
    };
    let rows = {
        let page = page.clone();
        state
            .db
            .run(move |conn| {
                let rows = model::list(conn, &filter, &page, caller.live())?;
                if rows.is_empty() {
                    caller.confirm(conn)?;
                }
                Ok(rows)
            })
            .await?
    };
    Ok(web::Json(Page::from_rows(rows, &page, |s| s.session.id, SessionResponse::from)))
}

/// Get a session
///
/// Any signed-in user. Answers the session with its trainers, eligible
/// categories and place counts, or `404 not_found`.
#[utoipa::path(
    tag = "sessions",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The session's id")),
    responses(
        (status = 200, description = "The session", body = SessionResponse),
        (status = 404, description = "No such session"),
    )
)]
#[get("/sessions/{id}")]
pub async fn get_session(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: SignedIn,
    id: web::Path<Id>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let details = state
        .db
        .run(move |conn| match model::find_for(conn, id, caller.live())? {
            Some(details) => Ok(details),
            None => {
                caller.confirm(conn)?;
                Err(AppError::NotFound)
            }
        })
        .await?;
    conditional::read_one(&req, &SessionResponse::from(details))
}

/// Change, cancel or complete a session
///
/// Admins only (others get `403 forbidden`). Changes any planned field,
/// the trainers or the `status`; absent fields stay, `null` clears. A
/// capacity below the places already taken answers
/// `409 capacity_below_enrolled`; broken rules `422 validation_failed`.
/// Setting `cancelled` cancels every place; raising the capacity of a
/// session not yet over gives the new seats to the people waiting. Answers
/// the session as it now is, or `404 not_found`.
#[utoipa::path(
    tag = "sessions",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The session's id")),
    request_body = UpdateSessionRequest,
    responses(
        (status = 200, description = "The changed session", body = SessionResponse),
        (status = 403, description = "Not an admin"),
        (status = 404, description = "No such session"),
        (status = 409, description = "Capacity below the places already taken (`capacity_below_enrolled`)"),
    )
)]
#[patch("/sessions/{id}")]
pub async fn update_session(
    state: web::Data<AppState>,
    caller: Admin,
    id: web::Path<Id>,
    if_match: IfMatch,
    Json(body): Json<UpdateSessionRequest>,
) -> Result<HttpResponse, AppError> {
    let mut v = Validator::new();
    let update = SessionUpdate {
        course_id: body.course_id,
        starts_at: body.starts_at.map(|t| v.planning_time("starts_at", t)),
        ends_at: body.ends_at.map(|t| v.planning_time("ends_at", t)),
        venue: body.venue.as_deref().map(|venue| v.text("venue", venue, MAX_NAME_CHARS)),
        capacity: body.capacity.map(|capacity| check_capacity(&mut v, capacity)),
        status: body.status,
        enrolment_opens_at: body
            .enrolment_opens_at
            .map(|t| t.map(|t| v.planning_time("enrolment_opens_at", t))),
        enrolment_closes_at: body
            .enrolment_closes_at
            .map(|t| t.map(|t| v.planning_time("enrolment_closes_at", t))),
        eligible_categories: body.eligible_categories.map(|categories| {
            categories.map(|c| check_categories(&mut v, "eligible_categories", &c))
        }),
        waitlist: body.waitlist,
        trainer_ids: body.trainer_ids.map(|ids| trainer_ids(&mut v, ids)),
    };
    v.finish()?;
    let (actor, id) = (Actor::user(caller.id()), id.into_inner());
    let zone = state.config.timezone;
    let details = state
        .db
        .write(move |conn| {
            let expected = if_match.expects(SessionResponse::from);
            operations::sessions::change_session(conn, &actor, id, expected, update, zone)
        })
        .await?;
    conditional::changed(&SessionResponse::from(details))
}

/// The routes of `sessions`, for [`crate::routes`].
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(create_session).service(list_sessions).service(get_session).service(update_session);
}

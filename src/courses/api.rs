//! `/api/v1/courses`: readable by every signed-in user, written by admins.

use actix_web::{HttpRequest, HttpResponse, get, patch, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::Course;
use super::model::{self, CourseUpdate};
use crate::audit::Actor;
use crate::auth::{Admin, SignedIn};
use crate::db;
use crate::error::{AppError, FieldIssue};
use crate::http;
use crate::http::conditional::{self, IfMatch};
use crate::http::json::{Json, nullable};
use crate::http::pagination::{Page, PageQuery};
use crate::http::query::Query;
use crate::http::utc::utc;
use crate::id::Id;
use crate::state::AppState;
use crate::validation::{MAX_NAME_CHARS, MAX_TEXT_CHARS, Validator};
use crate::vocab::Category;
use utoipa_actix_web::service_config::ServiceConfig;

/// At most this many topics, each at most [`MAX_NAME_CHARS`].
const MAX_TOPICS: usize = 50;
/// A course lasts from a minute to a day.
const MAX_DURATION_MINUTES: i32 = 24 * 60;

#[derive(Debug, Serialize, Deserialize, ToSchema)]
struct CourseResponse {
    pub id: Id,
    #[schema(example = "Tìm kiếm và đánh giá thông tin trên Internet")]
    pub title: String,
    #[schema(required = true)]
    pub summary: Option<String>,
    pub topics: Vec<String>,
    /// The audiences the course is for; sessions default to them.
    pub target_categories: Vec<Category>,
    #[schema(example = 90)]
    pub duration_minutes: i32,
    #[schema(required = true)]
    pub programme_id: Option<Id>,
    #[serde(serialize_with = "utc")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "utc")]
    pub updated_at: DateTime<Utc>,
}

/// A page of [`CourseResponse`]s, under its own name in the document.
type CoursePage = Page<CourseResponse>;

impl From<Course> for CourseResponse {
    fn from(c: Course) -> Self {
        Self {
            topics: db::split_lines(&c.topics).into_iter().map(str::to_owned).collect(),
            target_categories: Category::split(&c.target_categories),
            id: c.id,
            title: c.title,
            summary: c.summary,
            duration_minutes: c.duration_minutes,
            programme_id: c.programme_id,
            created_at: c.created_at.and_utc(),
            updated_at: c.updated_at.and_utc(),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
struct CreateCourseRequest {
    #[schema(min_length = 1, max_length = 200)]
    pub title: String,
    #[schema(max_length = 2000)]
    pub summary: Option<String>,
    /// Up to 50, each up to 200 characters.
    #[serde(default)]
    pub topics: Vec<String>,
    /// Default: every category.
    #[schema(min_items = 1)]
    pub target_categories: Option<Vec<Category>>,
    #[schema(minimum = 1, maximum = 1440)]
    pub duration_minutes: i32,
    pub programme_id: Option<Id>,
}

/// Any subset of fields; absent ones stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
struct UpdateCourseRequest {
    #[schema(min_length = 1, max_length = 200)]
    pub title: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, max_length = 2000)]
    pub summary: Option<Option<String>>,
    pub topics: Option<Vec<String>>,
    #[schema(min_items = 1)]
    pub target_categories: Option<Vec<Category>>,
    #[schema(minimum = 1, maximum = 1440)]
    pub duration_minutes: Option<i32>,
    #[serde(default, deserialize_with = "nullable")]
    pub programme_id: Option<Option<Id>>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct CourseListQuery {
    pub programme_id: Option<Id>,
}

fn check_topics(v: &mut Validator, topics: &[String]) -> String {
    if topics.len() > MAX_TOPICS {
        v.add("topics", FieldIssue::Range { min: 0, max: MAX_TOPICS as i64 });
    }
    let topics: Vec<String> = topics
        .iter()
        .enumerate()
        .map(|(i, topic)| v.text(&format!("topics[{i}]"), topic, MAX_NAME_CHARS))
        .collect();
    db::join_lines(&topics)
}

/// A non-empty set of categories, as stored.
pub fn check_categories(v: &mut Validator, field: &str, categories: &[Category]) -> String {
    if categories.is_empty() {
        v.add(field, FieldIssue::EmptyList);
    }
    Category::join(categories)
}

fn check_duration(v: &mut Validator, minutes: i32) -> i32 {
    if !(1..=MAX_DURATION_MINUTES).contains(&minutes) {
        v.add("duration_minutes", FieldIssue::Range { min: 1, max: MAX_DURATION_MINUTES.into() });
    }
    minutes
}

/// Create a course
///
/// Admins only (others get `403 forbidden`). Creates a course with a title,
/// an optional summary, up to 50 topics, its target categories (every
/// category if absent; never an empty list), a duration of 1 to 1440
/// minutes and an optional programme. Broken rules and an unknown
/// `programme_id` answer `422 validation_failed`. Answers `201` with the
/// course.
#[utoipa::path(
    tag = "courses",
    security(("bearer" = [])),
    request_body = CreateCourseRequest,
    responses(
        (status = 201, description = "Created", body = CourseResponse, headers(("Location" = String, description = "The new resource's path"))),
        (status = 403, description = "Not an admin"),
    )
)]
#[post("/courses")]
pub async fn create_course(
    state: web::Data<AppState>,
    caller: Admin,
    Json(body): Json<CreateCourseRequest>,
) -> Result<HttpResponse, AppError> {
    let mut v = Validator::new();
    let targets = body.target_categories.unwrap_or_else(|| Category::VARIANTS.to_vec());
    let now = db::now();
    let course = Course {
        id: Id::new(),
        title: v.text("title", &body.title, MAX_NAME_CHARS),
        summary: v.optional_paragraphs("summary", body.summary.as_deref(), MAX_TEXT_CHARS),
        topics: check_topics(&mut v, &body.topics),
        target_categories: check_categories(&mut v, "target_categories", &targets),
        duration_minutes: check_duration(&mut v, body.duration_minutes),
        programme_id: body.programme_id,
        created_at: now,
        updated_at: now,
    };
    v.finish()?;
    let actor = Actor::user(caller.id());
    let course = state.db.write(move |conn| model::create(conn, &actor, course)).await?;
    let response = CourseResponse::from(course);
    Ok(http::created(&format!("/courses/{}", response.id), &response))
}

/// List courses
///
/// Any signed-in user. Optionally only the courses of one programme
/// (`programme_id`). Answers a page of courses, oldest first.
#[utoipa::path(
    tag = "courses",
    security(("bearer" = [])),
    params(PageQuery, CourseListQuery),
    responses((status = 200, description = "A page of courses, oldest first", body = CoursePage))
)]
#[get("/courses")]
async fn list_courses(
    state: web::Data<AppState>,
    caller: SignedIn,
    Query(page): Query<PageQuery>,
    Query(filter): Query<CourseListQuery>,
) -> Result<web::Json<CoursePage>, AppError> {
    let page = page.parse()?;
    let programme = filter.programme_id;
    let rows = {
        let page = page.clone();
        caller.read(&state.db, move |conn, _| Ok(model::list(conn, programme, &page)?)).await?
    };
    Ok(web::Json(Page::from_rows(rows, &page, |c| c.id, CourseResponse::from)))
}

/// Get a course
///
/// Any signed-in user. Answers the course, or `404 not_found`.
#[utoipa::path(
    tag = "courses",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The course's id")),
    responses(
        (status = 200, description = "The course", body = CourseResponse),
        (status = 404, description = "No such course"),
    )
)]
#[get("/courses/{id}")]
pub async fn get_course(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: SignedIn,
    id: web::Path<Id>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let course = caller
        .read(&state.db, move |conn, _| model::find(conn, id)?.ok_or(AppError::NotFound))
        .await?;
    conditional::read_one(&req, &CourseResponse::from(course))
}

/// Change a course
///
/// Admins only (others get `403 forbidden`). Changes any of title, summary,
/// topics, target categories, duration and programme; absent fields stay,
/// `null` clears summary or programme. The same rules as on creation apply
/// (`422 validation_failed`). Existing sessions keep their own times and
/// categories. Answers the course, or `404 not_found`.
#[utoipa::path(
    tag = "courses",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The course's id")),
    request_body = UpdateCourseRequest,
    responses(
        (status = 200, description = "The changed course", body = CourseResponse),
        (status = 403, description = "Not an admin"),
        (status = 404, description = "No such course"),
    )
)]
#[patch("/courses/{id}")]
pub async fn update_course(
    state: web::Data<AppState>,
    caller: Admin,
    id: web::Path<Id>,
    if_match: IfMatch,
    Json(body): Json<UpdateCourseRequest>,
) -> Result<HttpResponse, AppError> {
    let mut v = Validator::new();
    let update = CourseUpdate {
        title: body.title.as_deref().map(|title| v.text("title", title, MAX_NAME_CHARS)),
        summary: body
            .summary
            .map(|summary| v.optional_paragraphs("summary", summary.as_deref(), MAX_TEXT_CHARS)),
        topics: body.topics.as_deref().map(|topics| check_topics(&mut v, topics)),
        target_categories: body
            .target_categories
            .as_deref()
            .map(|targets| check_categories(&mut v, "target_categories", targets)),
        duration_minutes: body.duration_minutes.map(|minutes| check_duration(&mut v, minutes)),
        programme_id: body.programme_id,
    };
    v.finish()?;
    let (actor, id) = (Actor::user(caller.id()), id.into_inner());
    let course = state
        .db
        .write(move |conn| {
            model::update(conn, &actor, id, if_match.expects(CourseResponse::from), update)
        })
        .await?;
    conditional::changed(&CourseResponse::from(course))
}

/// The routes of `courses`, for [`crate::routes`].
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(create_course).service(list_courses).service(get_course).service(update_course);
}

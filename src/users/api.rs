//! `/api/v1/users`: admin management of accounts.

use actix_web::{HttpRequest, HttpResponse, get, patch, post, web};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::User;
use super::model::{self, AccountUpdate, UserFilter};
use crate::audit::Actor;
use crate::auth::Admin;
use crate::auth::password::check_new_password;
use crate::db::DbConnection;
use crate::error::{AppError, Conflict, FieldIssue};
use crate::http;
use crate::http::conditional::{self, IfMatch};
use crate::http::json::{Json, nullable};
use crate::http::pagination::{Page, PageQuery};
use crate::http::query::Query;
use crate::http::utc::utc;
use crate::id::Id;
use crate::operations::accounts::{self, NewAccount};
use crate::participants::model::ProfileFields;
use crate::state::AppState;
use crate::validation::Validator;
use crate::vocab::{Category, Gender, Role};
use utoipa_actix_web::service_config::ServiceConfig;

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct UserResponse {
    pub id: Id,
    pub email: String,
    pub full_name: String,
    pub role: Role,
    /// The coordinator's unit; `null` for other roles.
    #[schema(required = true)]
    pub organization_id: Option<Id>,
    pub active: bool,
    /// The participant profile linked to this account, if any.
    #[schema(required = true)]
    pub participant_id: Option<Id>,
    #[serde(serialize_with = "utc")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "utc")]
    pub updated_at: DateTime<Utc>,
}

/// A page of [`UserResponse`]s, under its own name in the document.
type UserPage = Page<UserResponse>;

impl UserResponse {
    pub fn new(user: User, participant_id: Option<Id>) -> Self {
        Self {
            id: user.id,
            email: user.email,
            full_name: user.full_name,
            role: user.role,
            organization_id: user.organization_id,
            active: user.active,
            participant_id,
            created_at: user.created_at.and_utc(),
            updated_at: user.updated_at.and_utc(),
        }
    }
}

/// An account created by an admin. A coordinator needs a unit; a
/// participant account gets a linked profile (in the unit, if given), so it
/// needs a category.
#[derive(Deserialize, ToSchema)]
struct CreateUserRequest {
    #[schema(example = "thu.nguyen@example.vn", format = Email, max_length = 254)]
    pub email: String,
    #[schema(format = Password, min_length = 8, max_length = 128)]
    pub password: String,
    #[schema(min_length = 1, max_length = 200)]
    pub full_name: String,
    pub role: Role,
    pub organization_id: Option<Id>,
    /// Required for `participant`; ignored otherwise.
    pub category: Option<Category>,
    pub gender: Option<Gender>,
    pub birth_date: Option<NaiveDate>,
    #[schema(example = "+84 912 345 678", max_length = 20)]
    pub phone: Option<String>,
}

/// Any subset of fields; absent ones stay as they are. Setting `active` to
/// false or a new `password` ends all of the user's login sessions.
#[derive(Deserialize, ToSchema)]
struct UpdateUserRequest {
    #[schema(min_length = 1, max_length = 200)]
    pub full_name: Option<String>,
    pub role: Option<Role>,
    /// `null` clears it; required (kept or given) for coordinators.
    #[serde(default, deserialize_with = "nullable")]
    pub organization_id: Option<Option<Id>>,
    pub active: Option<bool>,
    #[schema(format = Password, min_length = 8, max_length = 128)]
    pub password: Option<String>,
}

/// Refuses an email that is taken before a hash is spent on it; the insert
/// checks again inside its transaction.
pub async fn refuse_taken_email(state: &AppState, email: &str) -> Result<(), AppError> {
    let email = email.to_owned();
    if state.db.run(move |conn| Ok(model::email_taken(conn, &email)?)).await? {
        return Err(AppError::Conflict(Conflict::EmailTaken));
    }
    Ok(())
}

/// The account as clients see it, with its linked participant profile.
pub fn user_response(conn: &mut DbConnection, user: User) -> Result<UserResponse, AppError> {
    let participant_id = model::linked_participants(conn, &[user.id])?.remove(&user.id);
    Ok(UserResponse::new(user, participant_id))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct UserListQuery {
    pub role: Option<Role>,
    pub active: Option<bool>,
}

/// Create an account
///
/// Admins only (others get `403 forbidden`). Creates an active account with
/// any role. A coordinator needs `organization_id` (their unit); admins and
/// trainers may not have one; a participant account needs `category` and
/// gets a linked participant profile (in the unit, if given). Invalid fields
/// answer `422 validation_failed`, an email in use `409 email_taken`.
/// Answers `201` with the account.
#[utoipa::path(
    tag = "users",
    security(("bearer" = [])),
    request_body = CreateUserRequest,
    responses(
        (status = 201, description = "Created", body = UserResponse, headers(("Location" = String, description = "The new resource's path"))),
        (status = 403, description = "Not an admin"),
        (status = 409, description = "Email taken (`email_taken`)"),
    )
)]
#[post("/users")]
pub async fn create_user(
    state: web::Data<AppState>,
    caller: Admin,
    Json(body): Json<CreateUserRequest>,
) -> Result<HttpResponse, AppError> {
    let mut v = Validator::new();
    let email = v.email("email", &body.email);
    check_new_password(&mut v, "password", &body.password);
    let full_name = v.name("full_name", &body.full_name);
    // A coordinator's unit is the account's; a participant's is their
    // profile's; other roles have none.
    let unit = body.organization_id;
    match (body.role, &unit) {
        (Role::Coordinator, None) => v.add("organization_id", FieldIssue::Required),
        (Role::Admin | Role::Trainer, Some(_)) => {
            v.add("organization_id", FieldIssue::NotAllowedForRole)
        }
        _ => {}
    }
    let profile = match (body.role, body.category) {
        (Role::Participant, None) => {
            v.add("category", FieldIssue::Required);
            None
        }
        (Role::Participant, Some(category)) => {
            let profile = ProfileFields {
                full_name: full_name.clone(),
                category,
                organization_id: unit,
                gender: body.gender,
                birth_date: body.birth_date,
                phone: v.phone("phone", body.phone.as_deref()),
                email: Some(email.clone()),
            };
            profile.check(&mut v);
            Some(profile)
        }
        _ => None,
    };
    v.finish()?;

    refuse_taken_email(&state, &email).await?;
    let password_hash = state.passwords.hash(body.password).await?;
    let mut user = User::new(email, password_hash, full_name, body.role);
    if body.role == Role::Coordinator {
        user.organization_id = unit;
    }
    let account = NewAccount { user, profile, created_by: Actor::user(caller.id()) };
    let (user, participant_id) =
        state.db.write(move |conn| accounts::create_account(conn, account)).await?;
    Ok(http::created(&format!("/users/{}", user.id), &UserResponse::new(user, participant_id)))
}

/// List accounts
///
/// Admins only (others get `403 forbidden`). Answers a page of accounts,
/// oldest first, optionally filtered by `role` and `active`, each with the
/// id of its linked participant profile if any.
#[utoipa::path(
    tag = "users",
    security(("bearer" = [])),
    params(PageQuery, UserListQuery),
    responses(
        (status = 200, description = "A page of accounts, oldest first", body = UserPage),
        (status = 403, description = "Not an admin"),
    )
)]
#[get("/users")]
async fn list_users(
    state: web::Data<AppState>,
    _caller: Admin,
    Query(page): Query<PageQuery>,
    Query(filter): Query<UserListQuery>,
) -> Result<web::Json<UserPage>, AppError> {
    let page = page.parse()?;
    let filter = UserFilter { role: filter.role, active: filter.active };
    let result = state
        .db
        .run(move |conn| {
            let users = model::list(conn, &filter, &page)?;
            let ids: Vec<Id> = users.iter().map(|u| u.id).collect();
            let mut profiles = model::linked_participants(conn, &ids)?;
            Ok(Page::from_rows(
                users,
                &page,
                |u| u.id,
                |u| {
                    let participant_id = profiles.remove(&u.id);
                    UserResponse::new(u, participant_id)
                },
            ))
        })
        .await?;
    Ok(web::Json(result))
}

/// Get an account
///
/// Admins only (others get `403 forbidden`). Answers the account with the
/// id of its linked participant profile, or `404 not_found`.
#[utoipa::path(
    tag = "users",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The user's id")),
    responses(
        (status = 200, description = "The account", body = UserResponse),
        (status = 403, description = "Not an admin"),
        (status = 404, description = "No such user"),
    )
)]
#[get("/users/{id}")]
pub async fn get_user(
    req: HttpRequest,
    state: web::Data<AppState>,
    _caller: Admin,
    id: web::Path<Id>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let response = state
        .db
        .run(move |conn| {
            let user = model::find(conn, id)?.ok_or(AppError::NotFound)?;
            user_response(conn, user)
        })
        .await?;
    conditional::read_one(&req, &response)
}

/// Change an account
///
/// Admins only (others get `403 forbidden`). Changes any of name, role,
/// unit, `active` and password; absent fields stay. Only coordinators have a
/// unit, and they must keep one (`422 validation_failed`); changing a
/// coordinator to another role drops the unit. Demoting or deactivating the
/// last active admin answers `409 last_admin`. Deactivating or setting a
/// password ends all of the user's login sessions. Answers the account.
#[utoipa::path(
    tag = "users",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The user's id")),
    request_body = UpdateUserRequest,
    responses(
        (status = 200, description = "The changed account", body = UserResponse),
        (status = 403, description = "Not an admin"),
        (status = 404, description = "No such user"),
        (status = 409, description = "It would leave no active admin (`last_admin`)"),
    )
)]
#[patch("/users/{id}")]
pub async fn update_user(
    state: web::Data<AppState>,
    caller: Admin,
    id: web::Path<Id>,
    if_match: IfMatch,
    Json(body): Json<UpdateUserRequest>,
) -> Result<HttpResponse, AppError> {
    let mut v = Validator::new();
    let full_name = body.full_name.as_deref().map(|name| v.name("full_name", name));
    if let Some(password) = &body.password {
        check_new_password(&mut v, "password", password);
    }
    v.finish()?;
    let password_hash = match body.password {
        Some(password) => Some(state.passwords.hash(password).await?),
        None => None,
    };
    let update = AccountUpdate {
        full_name,
        role: body.role,
        organization_id: body.organization_id,
        active: body.active,
        password_hash,
    };
    let id = id.into_inner();
    let response = state
        .db
        .write(move |conn| {
            let expected = |conn: &mut DbConnection, current: &User| {
                if_match.check(&user_response(conn, current.clone())?)
            };
            let actor = Actor::user(caller.id());
            let user = accounts::update_account(conn, &actor, id, expected, update)?;
            user_response(conn, user)
        })
        .await?;
    conditional::changed(&response)
}

/// The routes of `users`, for [`crate::routes`].
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(create_user).service(list_users).service(get_user).service(update_user);
}

//! `/api/v1/auth/*` and `/api/v1/me`: sign-up, login, refresh, logout, and
//! the caller's own account.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::AuthUser;
use super::logins::{self, Grant, Rotation};
use super::password::{MAX_PASSWORD_CHARS, check_new_password};
use super::throttle::{self, Attempt, PendingAttempt};
use crate::access::ParticipantScope;
use crate::audit::{self, Action, Actor, EntityType};
use crate::error::{AppError, AuthFailure, FieldIssue};
use crate::http;
use crate::http::json::Json;
use crate::id::Id;
use crate::operations::accounts::{self, NewAccount};
use crate::participants;
use crate::participants::api::ParticipantResponse;
use crate::participants::model::ProfileFields;
use crate::state::AppState;
use crate::users::User;
use crate::users::api::{UserResponse, refuse_taken_email, user_response};
use crate::users::model as users;
use crate::validation::{Validator, is_plausible_email, normalize_email};
use crate::vocab::{Category, Gender, Role};
use utoipa_actix_web::service_config::ServiceConfig;

/// Self sign-up. The account is always a `participant` (a `role` in the
/// body is ignored) and gets its own linked participant profile.
#[derive(Deserialize, ToSchema)]
struct RegisterRequest {
    #[schema(example = "lan.tran@example.vn", format = Email, max_length = 254)]
    pub email: String,
    #[schema(format = Password, min_length = 8, max_length = 128)]
    pub password: String,
    #[schema(example = "Trần Thị Lan", min_length = 1, max_length = 200)]
    pub full_name: String,
    pub category: Category,
    pub organization_id: Option<Id>,
    pub gender: Option<Gender>,
    /// Required for students.
    pub birth_date: Option<NaiveDate>,
    #[schema(example = "+84 912 345 678", max_length = 20)]
    pub phone: Option<String>,
}

#[derive(Deserialize, ToSchema)]
struct LoginRequest {
    pub email: String,
    #[schema(format = Password)]
    pub password: String,
}

#[derive(Deserialize, ToSchema)]
struct RefreshRequest {
    pub refresh_token: String,
}

#[derive(Deserialize, ToSchema)]
struct ChangePasswordRequest {
    #[schema(format = Password)]
    pub current_password: String,
    #[schema(format = Password, min_length = 8, max_length = 128)]
    pub new_password: String,
}

#[derive(Serialize, Deserialize, ToSchema)]
struct TokenResponse {
    /// A JWT for `Authorization: Bearer`.
    pub access_token: String,
    /// Single use: trade it at `/auth/refresh` for the next pair.
    pub refresh_token: String,
    #[schema(example = "Bearer")]
    pub token_type: String,
    /// Seconds until the access token expires.
    #[schema(example = 900)]
    pub expires_in: u64,
    pub user: UserResponse,
}

/// Sign up as a participant
///
/// Open to anyone, without a token. Creates an active `participant` account
/// (a `role` in the body is ignored) and its own linked participant profile,
/// made from the name, category, unit, gender, birth date, phone and email.
/// An email already in use answers `409 email_taken`; invalid fields (an
/// unknown `organization_id`, a student without `birth_date`, a password
/// outside 8 to 128 characters) answer `422 validation_failed`. One client
/// address may sign up 20 accounts in 15 minutes; beyond, `429
/// too_many_requests` with `Retry-After`. Answers `201` with the account,
/// whose `participant_id` is the new profile; it does not log in.
#[utoipa::path(
    tag = "auth",
    request_body = RegisterRequest,
    responses(
        (status = 201, description = "Registered as a participant", body = UserResponse, headers(("Location" = String, description = "The new resource's path"))),
        (status = 409, description = "Email taken (`email_taken`)"),
        (status = 429, description = "Too many sign-ups from this address; see `Retry-After`"),
    )
)]
#[post("/auth/register")]
pub async fn register(
    req: HttpRequest,
    state: web::Data<AppState>,
    Json(body): Json<RegisterRequest>,
) -> Result<HttpResponse, AppError> {
    let mut v = Validator::new();
    let email = v.email("email", &body.email);
    check_new_password(&mut v, "password", &body.password);
    let profile = ProfileFields {
        full_name: v.name("full_name", &body.full_name),
        category: body.category,
        organization_id: body.organization_id,
        gender: body.gender,
        birth_date: body.birth_date,
        phone: v.phone("phone", body.phone.as_deref()),
        email: Some(email.clone()),
    };
    profile.check(&mut v);
    v.finish()?;

    let (limits, address) = (state.config.login_throttle, client_address(&req));
    state.db.write(move |conn| throttle::admit_signup(conn, &limits, address.as_deref())).await?;
    refuse_taken_email(&state, &email).await?;
    let password_hash = state.passwords.hash(body.password).await?;
    let user = User::new(email, password_hash, profile.full_name.clone(), Role::Participant);
    let created_by = Actor::user(user.id);
    let account = NewAccount { user, profile: Some(profile), created_by };
    let (user, participant_id) =
        state.db.write(move |conn| accounts::create_account(conn, account)).await?;
    // The new account reads itself at `/me`; `/users/{id}` is for admins.
    Ok(http::created("/me", &UserResponse::new(user, participant_id)))
}

/// Log in with email and password
///
/// Open to anyone, without a token. Starts a login session and answers an
/// access token (15 minutes) and a single-use refresh token (30 days),
/// with the account. An unknown email, a wrong password and an inactive
/// account all answer the same `401 invalid_credentials`. Failures are
/// limited per account from one client address and per address, and an
/// account under attack is slowed for the addresses that failed on it (the
/// owner elsewhere is not held up): past a limit the answer
/// is `429 too_many_requests` with `Retry-After`.
#[utoipa::path(
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in", body = TokenResponse),
        (status = 401, description = "Unknown email, wrong password or inactive account: one answer for all (`invalid_credentials`)"),
        (status = 429, description = "Too many failures for this account or address; see `Retry-After`"),
    )
)]
#[post("/auth/login")]
pub async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    Json(body): Json<LoginRequest>,
) -> Result<web::Json<TokenResponse>, AppError> {
    // No stored password is this long, so it cannot match: refuse it
    // before it costs a hash.
    if body.password.chars().count() > MAX_PASSWORD_CHARS {
        return Err(AppError::validation(
            "password",
            FieldIssue::TooLong { max: MAX_PASSWORD_CHARS },
        ));
    }
    let email = normalize_email(&body.email);
    let attempt = Attempt::new(&email, client_address(&req).as_deref());
    let limits = state.config.login_throttle;
    let (pending, user) = state
        .db
        .write(move |conn| {
            let pending = throttle::begin(conn, &limits, &attempt)?;
            // No account has an implausible email: skip the lookup (a NUL
            // in it would upset PostgreSQL) but not the hash, for timing.
            let user = match is_plausible_email(&email) {
                true => users::find_by_email(conn, &email)?,
                false => None,
            };
            Ok((pending, user))
        })
        .await?;
    let stored_hash = user.as_ref().map(|u| u.password_hash.clone());
    let (password_matches, pending) =
        verify_attempt(&state, pending, body.password, stored_hash).await?;

    match user {
        Some(user) if password_matches && user.active => {
            let ttl = state.config.refresh_token_ttl;
            let granted = state
                .db
                .write(move |conn| {
                    // A reset password or a deactivation while we hashed wins.
                    if !users::unchanged_since(conn, &user)? {
                        throttle::abandon(conn, pending)?;
                        return Ok(None);
                    }
                    throttle::succeeded(conn, pending)?;
                    let actor = Actor::user(user.id);
                    audit::record(conn, &actor, Action::Login, EntityType::User, user.id, vec![])?;
                    let grant = logins::start(conn, user, ttl)?;
                    let user = user_response(conn, grant.user.clone())?;
                    Ok(Some((grant, user)))
                })
                .await?;
            let (grant, user) =
                granted.ok_or(AppError::Unauthenticated(AuthFailure::InvalidCredentials))?;
            token_response(&state, grant, user)
        }
        _ => {
            state.db.write(move |conn| Ok(throttle::failed(conn, pending)?)).await?;
            Err(AppError::Unauthenticated(AuthFailure::InvalidCredentials))
        }
    }
}

/// Checks a password for a throttled attempt. When it cannot be checked
/// (no hashing slot in time), the attempt is abandoned rather than left to
/// count against the caller.
async fn verify_attempt(
    state: &AppState,
    pending: PendingAttempt,
    password: String,
    stored_hash: Option<String>,
) -> Result<(bool, PendingAttempt), AppError> {
    match state.passwords.verify(password, stored_hash).await {
        Ok(matches) => Ok((matches, pending)),
        Err(err) => {
            state.db.write(move |conn| Ok(throttle::abandon(conn, pending)?)).await?;
            Err(err)
        }
    }
}

/// Trade a refresh token for a new token pair
///
/// Open to anyone, without an access token. Each refresh token works once:
/// the answer carries a new access token and the next refresh token, with
/// the account. An unknown, expired, revoked or already used token, or one
/// whose account is inactive, answers `401 invalid_refresh_token`;
/// presenting a used token again also ends its whole login session.
#[utoipa::path(
    tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "A new token pair; the presented refresh token no longer works", body = TokenResponse),
        (status = 401, description = "Invalid, expired, revoked or already used (`invalid_refresh_token`); reusing a used token also ends its login session"),
    )
)]
#[post("/auth/refresh")]
pub async fn refresh(
    state: web::Data<AppState>,
    Json(body): Json<RefreshRequest>,
) -> Result<web::Json<TokenResponse>, AppError> {
    let ttl = state.config.refresh_token_ttl;
    let rotated = state
        .db
        .write(move |conn| match logins::rotate(conn, &body.refresh_token, ttl)? {
            Rotation::Rotated(grant) => {
                let user = user_response(conn, grant.user.clone())?;
                Ok(Some((grant, user)))
            }
            Rotation::Refused => Ok(None),
        })
        .await?;
    let (grant, user) =
        rotated.ok_or(AppError::Unauthenticated(AuthFailure::InvalidRefreshToken))?;
    token_response(&state, grant, user)
}

/// Log out of a login session
///
/// Open to anyone who holds the refresh token; no access token is needed.
/// Ends the login session the token belongs to, so that its refresh token
/// and its access tokens stop working. Answers `204` whether or not the
/// token named an open session.
#[utoipa::path(
    tag = "auth",
    request_body = RefreshRequest,
    responses((status = 204, description = "The login session is over: its refresh and access tokens no longer work"))
)]
#[post("/auth/logout")]
pub async fn logout(
    state: web::Data<AppState>,
    Json(body): Json<RefreshRequest>,
) -> Result<HttpResponse, AppError> {
    state
        .db
        .write(move |conn| {
            if let Some(user_id) = logins::revoke_by_token(conn, &body.refresh_token)? {
                let actor = Actor::user(user_id);
                audit::record(conn, &actor, Action::Logout, EntityType::User, user_id, vec![])?;
            }
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The caller's account, with their participant profile (`participant_id`)
/// and the profiles of their dependants.
#[derive(Serialize, Deserialize, ToSchema)]
struct MeResponse {
    #[serde(flatten)]
    pub account: UserResponse,
    /// Participants whose guardian is the caller's profile (a parent's
    /// children), oldest first.
    pub dependants: Vec<ParticipantResponse>,
}

/// Get the caller's account and dependants
///
/// Any signed-in user. Answers the caller's account, with the id of their
/// linked participant profile (`participant_id`, `null` if none) and the
/// full profiles of their dependants (people whose guardian is that
/// profile), whatever the caller's role.
#[utoipa::path(
    tag = "auth",
    security(("bearer" = [])),
    responses((status = 200, description = "The caller's account, profile and dependants", body = MeResponse))
)]
#[get("/me")]
pub async fn me(
    state: web::Data<AppState>,
    caller: AuthUser,
) -> Result<web::Json<MeResponse>, AppError> {
    let user = caller.user;
    let response = state
        .db
        .run(move |conn| {
            // Shown as to a guardian, whatever the caller's role.
            let scope = ParticipantScope::own(conn, &user)?;
            let account = user_response(conn, user)?;
            let dependants = match account.participant_id {
                Some(profile) => participants::model::dependants(conn, profile)?,
                None => Vec::new(),
            };
            let dependants =
                dependants.into_iter().map(|p| ParticipantResponse::new(p, &scope)).collect();
            Ok(MeResponse { account, dependants })
        })
        .await?;
    Ok(web::Json(response))
}

/// Change the caller's own password
///
/// Any signed-in user, who must give their current password. A wrong
/// current password or a new one of the wrong length answers
/// `422 validation_failed`; wrong current passwords count against the same
/// limits as failed logins (`429 too_many_requests` with `Retry-After`).
/// On success every other login session of the caller ends and the answer
/// is `204`; the caller's own session stays open.
#[utoipa::path(
    tag = "auth",
    security(("bearer" = [])),
    request_body = ChangePasswordRequest,
    responses(
        (status = 204, description = "Changed; every other login session of the caller is over"),
        (status = 422, description = "The new password breaks the length rule, or the current one is wrong"),
        (status = 429, description = "Too many wrong current passwords; see `Retry-After`"),
    )
)]
#[post("/me/password")]
pub async fn change_password(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: AuthUser,
    Json(body): Json<ChangePasswordRequest>,
) -> Result<HttpResponse, AppError> {
    let mut v = Validator::new();
    check_new_password(&mut v, "new_password", &body.new_password);
    if body.current_password.chars().count() > MAX_PASSWORD_CHARS {
        v.add("current_password", FieldIssue::Incorrect);
    }
    v.finish()?;

    // Guessing the current password with a stolen access token counts
    // against the same limits as guessing it at login.
    let attempt = Attempt::new(&caller.user.email, client_address(&req).as_deref());
    let limits = state.config.login_throttle;
    let pending = state.db.write(move |conn| throttle::begin(conn, &limits, &attempt)).await?;
    let stored_hash = Some(caller.user.password_hash.clone());
    let (current_matches, pending) =
        verify_attempt(&state, pending, body.current_password, stored_hash).await?;
    if !current_matches {
        state.db.write(move |conn| Ok(throttle::failed(conn, pending)?)).await?;
        return Err(AppError::validation("current_password", FieldIssue::Incorrect));
    }

    let password_hash = match state.passwords.hash(body.new_password).await {
        Ok(hash) => hash,
        Err(err) => {
            state.db.write(move |conn| Ok(throttle::abandon(conn, pending)?)).await?;
            return Err(err);
        }
    };
    let AuthUser { user, session_id } = caller;
    let changed = state
        .db
        .write(move |conn| {
            let changed = accounts::change_own_password(conn, &user, session_id, password_hash)?;
            match changed {
                true => throttle::succeeded(conn, pending)?,
                false => throttle::abandon(conn, pending)?,
            }
            Ok(changed)
        })
        .await?;
    if !changed {
        return Err(AppError::Unauthenticated(AuthFailure::InvalidToken));
    }
    Ok(HttpResponse::NoContent().finish())
}

fn token_response(
    state: &AppState,
    grant: Grant,
    user: UserResponse,
) -> Result<web::Json<TokenResponse>, AppError> {
    let access_token = state.tokens.issue(
        grant.user.id,
        grant.session_id,
        grant.user.role,
        grant.user.organization_id,
    )?;
    Ok(web::Json(TokenResponse {
        access_token,
        refresh_token: grant.refresh_token,
        token_type: "Bearer".into(),
        expires_in: state.tokens.ttl().as_secs(),
        user,
    }))
}

/// The client's IP as the connection shows it. Behind a reverse proxy every
/// client shares the proxy's address; see the README.
pub(crate) fn client_address(req: &HttpRequest) -> Option<String> {
    use std::net::IpAddr;
    req.peer_addr().map(|addr| match addr.ip() {
        IpAddr::V4(v4) => v4.to_string(),
        // One IPv6 client commonly holds a whole /64: counted by address,
        // it would have endless fresh ones.
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let [a, b, c, d, ..] = v6.segments();
                format!("{a:x}:{b:x}:{c:x}:{d:x}::/64")
            }
        },
    })
}

/// The routes of `auth`, for [`crate::routes`].
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(register)
        .service(login)
        .service(refresh)
        .service(logout)
        .service(me)
        .service(change_password);
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::client_address;

    fn from(peer: &str) -> Option<String> {
        client_address(&TestRequest::default().peer_addr(peer.parse().unwrap()).to_http_request())
    }

    #[test]
    fn an_ipv6_client_counts_as_its_64_block() {
        let block = Some("2001:db8:1:2::/64".to_owned());
        assert_eq!(from("[2001:db8:1:2:aaaa::1]:5000"), block);
        assert_eq!(from("[2001:db8:1:2:ffff:1:2:3]:6000"), block);
        assert_ne!(from("[2001:db8:1:3::1]:5000"), block);
        assert_eq!(from("[::ffff:10.0.0.7]:5000").as_deref(), Some("10.0.0.7"));
        assert_eq!(from("10.0.0.7:5000").as_deref(), Some("10.0.0.7"));
    }
}

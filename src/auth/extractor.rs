//! `AuthUser`: the caller, from `Authorization: Bearer <access token>`.
//!
//! Besides the signature and expiry, each request checks that the user is
//! still active and the login session not revoked, and takes the role from
//! the database: deactivation, logout, a password change and a role change
//! all apply at once, not when the token expires.

use std::ops::Deref;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::future::LocalBoxFuture;

use super::logins;
use crate::access;
use crate::error::{AppError, AuthFailure};
use crate::id::Id;
use crate::state::AppState;
use crate::users::User;
use crate::vocab::{EnrolmentSource, Role};

#[derive(Clone, Debug)]
pub struct AuthUser {
    pub user: User,
    pub session_id: Id,
}

impl AuthUser {
    pub fn id(&self) -> Id {
        self.user.id
    }
}

impl FromRequest for AuthUser {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = bearer_token(req);
        Box::pin(async move {
            let state =
                state.ok_or_else(|| AppError::internal("auth", "AppState is not registered"))?;
            let token = token.ok_or(AppError::Unauthenticated(AuthFailure::MissingToken))?;
            let claims = state.tokens.verify(&token)?;
            let session_id = claims.sid;
            let user = state
                .db
                .run(move |conn| Ok(logins::active_user_of_session(conn, session_id)?))
                .await?;
            match user {
                Some(user) if user.id == claims.sub => Ok(AuthUser { user, session_id }),
                _ => Err(AppError::Unauthenticated(AuthFailure::InvalidToken)),
            }
        })
    }
}

/// Runs the `AuthUser` extractor, then `admit`, which turns the caller into
/// the extractor a handler asks for, or refuses them (403) before the
/// handler runs.
fn admitted<T: 'static>(
    req: &HttpRequest,
    payload: &mut Payload,
    admit: fn(AuthUser) -> Result<T, AppError>,
) -> LocalBoxFuture<'static, Result<T, AppError>> {
    let caller = AuthUser::from_request(req, payload);
    Box::pin(async move { admit(caller.await?) })
}

/// A caller who must be an admin: the handler's signature shows the role it
/// needs, and anyone else signed in is turned away with `403` before the
/// handler runs.
pub struct Admin(AuthUser);

impl Deref for Admin {
    type Target = AuthUser;

    fn deref(&self) -> &AuthUser {
        &self.0
    }
}

impl FromRequest for Admin {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        admitted(req, payload, |caller| match caller.user.role {
            Role::Admin => Ok(Admin(caller)),
            _ => Err(AppError::Forbidden),
        })
    }
}

/// A caller who may enrol people: an admin, a coordinator or a participant
/// (see [`access::enrolment_source`]), with how their enrolments are
/// recorded. Whom they may enrol is their `ParticipantScope`.
#[derive(Clone)]
pub struct Enroller {
    caller: AuthUser,
    pub source: EnrolmentSource,
}

impl Deref for Enroller {
    type Target = AuthUser;

    fn deref(&self) -> &AuthUser {
        &self.caller
    }
}

impl FromRequest for Enroller {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        admitted(req, payload, |caller| {
            let source = access::enrolment_source(caller.user.role)?;
            Ok(Enroller { caller, source })
        })
    }
}

/// A caller who reads statistics and exports: an admin, or a coordinator
/// for their unit (see [`access::report_unit`]).
pub struct ReportReader(AuthUser);

impl Deref for ReportReader {
    type Target = AuthUser;

    fn deref(&self) -> &AuthUser {
        &self.0
    }
}

impl FromRequest for ReportReader {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        admitted(req, payload, |caller| {
            access::report_unit(&caller.user, None)?;
            Ok(ReportReader(caller))
        })
    }
}

fn bearer_token(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then(|| token.to_owned())
}

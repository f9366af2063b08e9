//! `AuthUser`: the caller, from `Authorization: Bearer <access token>`.
//!
//! Besides the signature and expiry, each request checks that the user is
//! still active and the login session not revoked, and takes the role from
//! the database: deactivation, logout, a password change and a role change
//! all apply at once, not when the token expires.
//!
//! A paired device's token (see [`crate::devices`]) is accepted only by
//! [`Marker`], for marking work; requests outside it are refused before
//! they reach a handler (`devices::scope`), and to every other extractor
//! it is no access token (`401`).

use std::ops::Deref;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::future::LocalBoxFuture;

use super::logins;
use super::token::Claims;
use crate::access::{self, Marker};
use crate::db::{Db, DbConnection};
use crate::devices::model::{self as devices, TOKEN_PREFIX};
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
        let claims = verified_claims(req);
        let state = app_state(req);
        Box::pin(async move {
            let Claims { sub: user_id, sid: session_id, .. } = claims?;
            let user = state?.db.run(move |conn| live_user(conn, user_id, session_id)).await?;
            Ok(AuthUser { user, session_id })
        })
    }
}

/// A caller doing marking work: a person signed in (as [`AuthUser`]), or a
/// paired device acting for its person, while the device is live and the
/// person active and still a trainer or an admin (else `401`). Which
/// sessions they mark is [`Marker::check`]'s to say.
impl FromRequest for Marker {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let Some(token) = device_token(req) else {
            let caller = AuthUser::from_request(req, payload);
            return Box::pin(async move { Ok(Marker::person(caller.await?.user)) });
        };
        let state = app_state(req);
        Box::pin(async move {
            let state = state?;
            let device = state.db.run(move |conn| devices::live(conn, &token)).await?;
            if device.seen_long_ago() {
                // Bookkeeping, beside the answer and never in its way: a
                // busy database holds up no roll-call for it.
                let id = device.device_id;
                actix_web::rt::spawn(async move {
                    let noted = state.db.write(move |conn| Ok(devices::note_seen(conn, id)?));
                    if let Err(err) = noted.await {
                        tracing::debug!(error = %err, "a device's last_seen_at was not noted");
                    }
                });
            }
            Ok(Marker { user: device.user, device: Some(device.device_id) })
        })
    }
}

/// A request's bearer token, when it is a device's.
pub fn device_token(req: &HttpRequest) -> Option<String> {
    bearer_token(req).filter(|token| token.starts_with(TOKEN_PREFIX))
}

/// The application's state, which every extractor here reads the
/// database and tokens through.
pub fn app_state(req: &HttpRequest) -> Result<web::Data<AppState>, AppError> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| AppError::internal("auth", "AppState is not registered"))
}

/// A caller whose token is good (signature, expiry) but whose login has not
/// been checked against the database yet: the handler checks it on the
/// connection it reads with, so that the request makes one hop to the
/// blocking pool and takes one pooled connection, where `AuthUser` and the
/// read take two of each. A read open to everyone signed in puts the check
/// in its own statement ([`SignedIn::live`]), and asks
/// [`SignedIn::confirm`] only when that finds nothing, whether the login is
/// gone (`401`) or the data is (`404`, or an empty list). A read that
/// depends on the caller's role asks `confirm` first.
///
/// A read whose statement depends on the caller's role and unit may take
/// them from the token ([`SignedIn::claimed`]) and check them in that same
/// statement ([`SignedIn::live_as`]); when it finds nothing, it confirms
/// the caller and reads again by what the account says now.
pub struct SignedIn {
    user_id: Id,
    session_id: Id,
    claimed: Option<Reach>,
}

/// A role and unit, as an access token carries them from its issue.
#[derive(Clone, Copy, Debug)]
pub struct Reach {
    pub role: Role,
    pub unit: Option<Id>,
}

impl Reach {
    /// Whether `user` still has this role and unit: what
    /// [`SignedIn::live_as`] checks in a statement, for an account already
    /// read.
    pub fn is_held_by(&self, user: &User) -> bool {
        (self.role, self.unit) == (user.role, user.organization_id)
    }
}

impl SignedIn {
    pub fn user_id(&self) -> Id {
        self.user_id
    }

    /// True when the login is live; filter the read by it.
    pub fn live(&self) -> logins::holds_live_session {
        logins::holds_live_session(self.session_id, self.user_id)
    }

    /// The role and unit the token was issued with (none in tokens older
    /// than this claim). They may have changed since: a read that relies
    /// on them filters by [`SignedIn::live_as`].
    pub fn claimed(&self) -> Option<Reach> {
        self.claimed
    }

    /// True when the login is live and the account still has `reach`'s role
    /// and unit; filter the read by it.
    pub fn live_as(&self, reach: Reach) -> logins::holds_live_session_as {
        logins::holds_live_session_as(self.session_id, self.user_id, reach.role, reach.unit)
    }

    /// The caller's account, or `401` when the login has ended: for a read
    /// that found nothing, which may be because the login ended, or one
    /// that needs the caller's role and unit, checked on the connection it
    /// reads with.
    pub fn confirm(&self, conn: &mut DbConnection) -> Result<User, AppError> {
        live_user(conn, self.user_id, self.session_id)
    }

    /// Runs `read` on the blocking pool once the login is confirmed, with
    /// the caller's account, on the same connection.
    pub async fn read<T: Send + 'static>(
        self,
        db: &Db,
        read: impl FnOnce(&mut DbConnection, &User) -> Result<T, AppError> + Send + 'static,
    ) -> Result<T, AppError> {
        db.run(move |conn| {
            let user = self.confirm(conn)?;
            read(conn, &user)
        })
        .await
    }
}

impl FromRequest for SignedIn {
    type Error = AppError;
    type Future = std::future::Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(signed_in(req))
    }
}

fn signed_in(req: &HttpRequest) -> Result<SignedIn, AppError> {
    verified_claims(req).map(|claims| SignedIn {
        user_id: claims.sub,
        session_id: claims.sid,
        claimed: claims.role.map(|role| Reach { role, unit: claims.unit }),
    })
}

/// The account behind a token, or `401` when its login has ended.
fn live_user(conn: &mut DbConnection, user_id: Id, session_id: Id) -> Result<User, AppError> {
    match logins::active_user_of_session(conn, session_id)? {
        Some(user) if user.id == user_id => Ok(user),
        _ => Err(AppError::Unauthenticated(AuthFailure::InvalidToken)),
    }
}

/// The person a request's access token names, when its signature and
/// expiry hold; whether its login is still live is left to
/// [`SignedIn::confirm`]. A device's token names no one here.
pub fn token_caller(req: &HttpRequest) -> Option<SignedIn> {
    signed_in(req).ok()
}

/// What a request's token says, once its signature and expiry are checked.
fn verified_claims(req: &HttpRequest) -> Result<Claims, AppError> {
    let state = app_state(req)?;
    let token = bearer_token(req).ok_or(AppError::Unauthenticated(AuthFailure::MissingToken))?;
    state.tokens.verify(&token)
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

//! `Idempotency-Key` (PRODUCT.md, "Retrying safely"): a phone that lost its
//! connection mid-request sends the same `POST` again with the same key,
//! and gets the first answer again instead of a second participant or a
//! second walk-in.
//!
//! The first answer is kept in the database per caller (the account the
//! token names, or the paired device) for 24 hours, so that a retry
//! reaching another server replays it too. A key is claimed before its request runs, in a row that
//! a concurrent retry meets (`409` while the first runs). A retry with
//! another method, path or body under the same key is `422`. Answers that
//! do not describe the request (`5xx`, `401`, `408`, `429`) are not kept:
//! the key is released and a retry runs again.
//!
//! A server that dies mid-request leaves its key claimed; after
//! [`ABANDONED_AFTER`] a retry runs again. Whether the first run's writes
//! were committed is then unknown to the retry, which is why that wait is
//! long.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{HttpResponse, web};
use chrono::{NaiveDateTime, TimeDelta};
use diesel::dsl;
use diesel::prelude::*;

use crate::auth::extractor::{SignedIn, device_token, token_caller};
use crate::crypto::sha256_base64;
use crate::db::schema::idempotency_keys;
use crate::db::{self, DbConnection};
use crate::devices::model as devices;
use crate::error::{AppError, Conflict, FieldIssue, InvalidField};
use crate::http::json;
use crate::id::Id;
use crate::lang::Lang;
use crate::on_own_connection;
use crate::state::AppState;

pub const HEADER: &str = "Idempotency-Key";
/// Marks an answer given again from the store.
pub const REPLAYED: &str = "Idempotent-Replayed";
/// How long a first answer is kept.
const KEPT_FOR: TimeDelta = TimeDelta::hours(24);
/// How long a claimed key whose answer never came stays claimed: far longer
/// than any request runs (the longest, an import, takes seconds).
const ABANDONED_AFTER: TimeDelta = TimeDelta::minutes(10);
/// The headers of an answer that are kept with its body: what describes
/// the body or names what was made. The rest (request id, security
/// headers, CORS) is added afresh to each answer.
const KEPT_HEADERS: [HeaderName; 4] =
    [header::CONTENT_TYPE, header::LOCATION, header::ETAG, header::CONTENT_DISPOSITION];

/// Whether a path takes `Idempotency-Key`: every `POST` of the API but
/// sign-up, login and tokens, which create no resource a retry could
/// duplicate and run before there is a caller to keep keys for, and those
/// whose answer is a secret kept only as a digest (a device's pairing code,
/// a calendar feed's URL), which a kept answer would hold in clear. A
/// retry of those makes another, and the one lost is never used.
pub fn applies_to(method: &Method, path: &str) -> bool {
    const SECRET_ANSWERS: [&str; 2] = ["/api/v1/devices", "/api/v1/me/calendar"];
    method == Method::POST
        && path.starts_with("/api/v1/")
        && !path.starts_with("/api/v1/auth/")
        && !SECRET_ANSWERS.contains(&path)
}

/// The middleware. Requests without the header, or that the rule does not
/// cover, pass untouched; so do requests without a valid token, which
/// their route refuses with `401`.
pub async fn replay_retries(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    // The path as the router reads it, so that an escaped spelling of a
    // path cannot slip past the rule.
    let path = req.match_info().as_str().to_owned();
    let (Some(key), true) = (req.headers().get(HEADER), applies_to(req.method(), &path)) else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let key = parse_key(key)?;
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let Some(caller) = KeyHolder::of(req.request(), &state).await? else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let body = {
        let (http_req, payload) = req.parts_mut();
        json::body(http_req, payload).await?
    };
    // Kept as keyed digests: a body may carry a password (a new account,
    // a password change), which a plain digest would hand to anyone who
    // reads the database; and a path may hold what a text column cannot.
    let target = format!("{path}?{}", req.query_string());
    let mut request = KeyedRequest {
        caller: caller.id(),
        key,
        method: req.method().to_string(),
        target_digest: digest(&state.idempotency_secret, target.as_bytes()),
        body_digest: digest(&state.idempotency_secret, &body),
        claimed_at: None,
    };
    req.set_payload(actix_web::dev::Payload::from(body));

    let claimed = request.clone();
    match state.db.run(move |conn| claim(conn, &claimed, &caller)).await? {
        Claim::Replay(first) => return Ok(req.into_response(first.replay())),
        Claim::Run { claimed_at } => request.claimed_at = Some(claimed_at),
    }
    let lang = Lang::from_headers(req.headers());
    let answer = match next.call(req).await {
        Ok(answer) => answer,
        Err(err) => {
            release(&state, request).await;
            return Err(err);
        }
    };
    let (req, answer) = answer.into_parts();
    let status = answer.status();
    // An error is kept as the caller saw it, in their language (the
    // problem renderer outside this middleware would translate it).
    let answer = match answer.error().and_then(|err| err.as_error::<AppError>()) {
        Some(err) if is_kept(status) => err.to_response(lang),
        _ => answer.map_into_boxed_body(),
    };
    if !is_kept(status) {
        release(&state, request).await;
        return Ok(ServiceResponse::new(req, answer));
    }
    let (head, body) = answer.into_parts();
    let body = actix_web::body::to_bytes(body)
        .await
        .map_err(|_| AppError::internal("idempotency", "answer body unreadable"))?;
    let first = FirstAnswer {
        status: status.as_u16(),
        headers: kept_headers(head.headers()),
        body: body.to_vec(),
    };
    let answer = head.set_body(BoxBody::new(body));
    let stored = state.db.run(move |conn| store(conn, &request, &first).map_err(AppError::from));
    if let Err(err) = stored.await {
        // The answer stands; only its replay is lost, and a retry will
        // wait for the key to be abandoned.
        tracing::warn!(error = %err, "idempotency: first answer not stored");
    }
    Ok(ServiceResponse::new(req, answer))
}

/// Whose keys a request's are: a person's (their account's), or a paired
/// device's own, so that two tablets of one trainer never share a key.
enum KeyHolder {
    Person(SignedIn),
    Device { id: Id, token: String },
}

impl KeyHolder {
    /// The caller a request's token names, if any; a device's token is
    /// looked up, to know which device it is.
    async fn of(
        req: &actix_web::HttpRequest,
        state: &web::Data<AppState>,
    ) -> Result<Option<Self>, AppError> {
        let Some(token) = device_token(req) else {
            return Ok(token_caller(req).map(Self::Person));
        };
        let device = state
            .db
            .run(move |conn| {
                let found = devices::authenticate(conn, &token)?;
                Ok(found.map(|found| Self::Device { id: found.device_id, token }))
            })
            .await?;
        Ok(device)
    }

    fn id(&self) -> Id {
        match self {
            Self::Person(signed_in) => signed_in.user_id(),
            Self::Device { id, .. } => *id,
        }
    }

    /// `401` unless the login or the device is still live.
    fn confirm(&self, conn: &mut DbConnection) -> Result<(), AppError> {
        match self {
            Self::Person(signed_in) => signed_in.confirm(conn).map(drop),
            Self::Device { token, .. } => devices::live(conn, token).map(drop),
        }
    }
}

/// The parts of a request its key is bound to.
#[derive(Clone)]
struct KeyedRequest {
    caller: Id,
    key: String,
    method: String,
    /// Of the path and query.
    target_digest: String,
    body_digest: String,
    /// When this request claimed the key: what it stores or releases is
    /// its own claim, never a later one.
    claimed_at: Option<NaiveDateTime>,
}

/// What a claim came to.
enum Claim {
    /// The key is this request's: it runs.
    Run { claimed_at: NaiveDateTime },
    /// The first answer, given again.
    Replay(FirstAnswer),
}

/// The key under which requests are digested, from the server's secret:
/// the same on every server of one deployment.
pub fn digest_key(server_secret: &[u8]) -> Vec<u8> {
    let mut key = b"lophoc idempotency:".to_vec();
    key.extend_from_slice(server_secret);
    key
}

/// A digest of `data` under `key`, which no one without the key can check
/// guesses against.
pub fn digest(key: &[u8], data: &[u8]) -> String {
    sha256_base64([key, b":", data].concat())
}

/// A first answer, as kept.
struct FirstAnswer {
    status: u16,
    /// `name: value` lines.
    headers: String,
    body: Vec<u8>,
}

impl FirstAnswer {
    fn replay(self) -> HttpResponse {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::OK);
        let mut answer = HttpResponse::build(status);
        for (name, value) in self.headers.lines().filter_map(|line| line.split_once(": ")) {
            answer.append_header((name, value));
        }
        answer.insert_header((REPLAYED, "true"));
        answer.body(self.body)
    }
}

fn parse_key(value: &HeaderValue) -> Result<String, AppError> {
    let bytes = value.as_bytes();
    let visible = (1..=255).contains(&bytes.len()) && bytes.iter().all(|b| b.is_ascii_graphic());
    match value.to_str() {
        Ok(key) if visible => Ok(key.to_owned()),
        _ => Err(AppError::BadParameter(vec![InvalidField::new(
            HEADER,
            FieldIssue::NotIdempotencyKey,
        )])),
    }
}

/// Answers that describe the request, and so are given again.
fn is_kept(status: StatusCode) -> bool {
    let passing = matches!(
        status,
        StatusCode::UNAUTHORIZED | StatusCode::REQUEST_TIMEOUT | StatusCode::TOO_MANY_REQUESTS
    );
    !status.is_server_error() && !passing
}

fn kept_headers(headers: &header::HeaderMap) -> String {
    KEPT_HEADERS
        .iter()
        .filter_map(|name| Some((name, headers.get(name)?.to_str().ok()?)))
        .map(|(name, value)| format!("{name}: {value}\n"))
        .collect()
}

/// Claims the key for `request`, or gives the first answer to it.
fn claim(
    conn: &mut DbConnection,
    request: &KeyedRequest,
    caller: &KeyHolder,
) -> Result<Claim, AppError> {
    db::write_transaction(conn, |conn| {
        let now = db::now();
        // Keys past their day, anyone's, go; and this key if its first
        // request was abandoned.
        diesel::delete(
            idempotency_keys::table.filter(idempotency_keys::created_at.le(now - KEPT_FOR)),
        )
        .execute(conn)?;
        diesel::delete(this_key(request))
            .filter(idempotency_keys::status.is_null())
            .filter(idempotency_keys::created_at.le(now - ABANDONED_AFTER))
            .execute(conn)?;
        let claim = (
            idempotency_keys::caller_id.eq(request.caller),
            idempotency_keys::key.eq(&request.key),
            idempotency_keys::method.eq(&request.method),
            idempotency_keys::target_digest.eq(&request.target_digest),
            idempotency_keys::body_digest.eq(&request.body_digest),
            idempotency_keys::created_at.eq(now),
        );
        // A concurrent claim of the same key waits here for the first to
        // commit, then inserts nothing.
        let inserted = on_own_connection!(conn, |c| diesel::insert_into(idempotency_keys::table)
            .values(claim)
            .on_conflict_do_nothing()
            .execute(c)?);
        if inserted == 1 {
            return Ok(Claim::Run { claimed_at: now });
        }
        let (method, target, digest, status, headers, body) = this_key(request)
            .select((
                idempotency_keys::method,
                idempotency_keys::target_digest,
                idempotency_keys::body_digest,
                idempotency_keys::status,
                idempotency_keys::headers,
                idempotency_keys::body,
            ))
            .first::<(String, String, String, Option<i32>, String, Option<Vec<u8>>)>(conn)?;
        // What is said of a key already used (its answer may hold personal
        // data) is said only to a login still live; a request that runs is
        // checked by its route.
        caller.confirm(conn)?;
        if (&method, &target, &digest)
            != (&request.method, &request.target_digest, &request.body_digest)
        {
            return Err(AppError::IdempotencyKeyReused);
        }
        match status {
            None => Err(AppError::Conflict(Conflict::IdempotencyKeyInFlight)),
            Some(status) => Ok(Claim::Replay(FirstAnswer {
                status: u16::try_from(status).unwrap_or(200),
                headers,
                body: body.unwrap_or_default(),
            })),
        }
    })
}

/// The row of a caller's key while it is one request's unanswered claim.
type OwnClaim = dsl::Filter<
    Unanswered,
    dsl::Eq<dsl::Nullable<idempotency_keys::created_at>, Option<NaiveDateTime>>,
>;
type Unanswered = dsl::Filter<ThisKey, dsl::IsNull<idempotency_keys::status>>;

/// The row of a caller's key.
type ThisKey = dsl::Filter<
    dsl::Filter<idempotency_keys::table, dsl::Eq<idempotency_keys::caller_id, Id>>,
    dsl::Eq<idempotency_keys::key, String>,
>;

fn this_key(request: &KeyedRequest) -> ThisKey {
    idempotency_keys::table
        .filter(idempotency_keys::caller_id.eq(request.caller))
        .filter(idempotency_keys::key.eq(request.key.clone()))
}

/// The key's row while it is still this request's claim: unanswered, and
/// claimed when this request claimed it (not by a retry after the claim
/// was abandoned).
fn own_claim(request: &KeyedRequest) -> OwnClaim {
    this_key(request)
        .filter(idempotency_keys::status.is_null())
        .filter(idempotency_keys::created_at.nullable().eq(request.claimed_at))
}

fn store(
    conn: &mut DbConnection,
    request: &KeyedRequest,
    first: &FirstAnswer,
) -> QueryResult<usize> {
    diesel::update(own_claim(request))
        .set((
            idempotency_keys::status.eq(i32::from(first.status)),
            idempotency_keys::headers.eq(&first.headers),
            idempotency_keys::body.eq(&first.body),
        ))
        .execute(conn)
}

/// Frees the key of a request whose answer is not kept, so that a retry
/// runs again. An answer not kept is often the database failing, when
/// freeing fails too: it is tried again a few times in the background,
/// rather than leaving retries at `409` until the claim is abandoned.
async fn release(state: &web::Data<AppState>, request: KeyedRequest) {
    let free = |state: web::Data<AppState>, request: KeyedRequest| async move {
        let freed = state.db.run(move |conn| {
            diesel::delete(own_claim(&request)).execute(conn).map_err(AppError::from)
        });
        freed.await.is_ok()
    };
    if free(state.clone(), request.clone()).await {
        return;
    }
    let state = state.clone();
    actix_web::rt::spawn(async move {
        for wait in [1, 5, 30] {
            actix_web::rt::time::sleep(std::time::Duration::from_secs(wait)).await;
            if free(state.clone(), request.clone()).await {
                return;
            }
        }
        tracing::warn!("idempotency: a key stays claimed until it is abandoned");
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_visible_ascii_of_1_to_255() {
        for good in ["a", "0f3c-22", &"k".repeat(255), "!~"] {
            assert_eq!(parse_key(&HeaderValue::from_str(good).unwrap()).unwrap(), good);
        }
        for bad in ["", "has space", &"k".repeat(256), "tab\tin"] {
            assert!(parse_key(&HeaderValue::from_str(bad).unwrap()).is_err(), "{bad:?}");
        }
        assert!(parse_key(&HeaderValue::from_bytes(b"caf\xc3\xa9").unwrap()).is_err());
    }

    #[test]
    fn only_api_posts_outside_auth_and_secret_answers() {
        assert!(applies_to(&Method::POST, "/api/v1/participants"));
        assert!(!applies_to(&Method::POST, "/api/v1/auth/login"));
        assert!(!applies_to(&Method::PUT, "/api/v1/participants/1/consent"));
        assert!(!applies_to(&Method::POST, "/health/live"));
        assert!(!applies_to(&Method::POST, "/api/v1/devices"));
        assert!(!applies_to(&Method::POST, "/api/v1/me/calendar"));
        assert!(applies_to(&Method::POST, "/api/v1/sessions/1/walk-ins"));
    }

    #[test]
    fn answers_about_the_caller_or_the_server_are_not_kept() {
        for kept in [200, 201, 400, 403, 404, 409, 413, 422] {
            assert!(is_kept(StatusCode::from_u16(kept).unwrap()), "{kept}");
        }
        for passing in [401, 408, 429, 500, 503] {
            assert!(!is_kept(StatusCode::from_u16(passing).unwrap()), "{passing}");
        }
    }
}

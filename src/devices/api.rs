//! Device endpoints: a trainer creates a pairing code, the tablet
//! exchanges it for its own token, and the trainer sees and revokes their
//! devices.

use actix_web::{HttpRequest, HttpResponse, delete, get, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::model::{self, Device, Guesser, NewPairing, Pairing};
use crate::access;
use crate::audit::Actor;
use crate::auth::AuthUser;
use crate::auth::api::client_address;
use crate::error::{AppError, Refusal};
use crate::http;
use crate::http::fallback;
use crate::http::json::Json;
use crate::http::pagination::{Page, PageQuery};
use crate::http::query::Query;
use crate::http::utc::{utc, utc_or_null};
use crate::id::Id;
use crate::state::AppState;
use crate::validation::Validator;
use crate::vocab::Role;

const MAX_NAME_CHARS: usize = 100;

/// A paired (or waiting) device. Its code and token are never shown again.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
struct DeviceResponse {
    pub id: Id,
    /// The person it acts for.
    pub user_id: Id,
    #[schema(example = "Máy tính bảng nhà văn hoá xóm Đông")]
    pub name: String,
    #[serde(serialize_with = "utc")]
    pub created_at: DateTime<Utc>,
    /// Until when its pairing code works; `null` once paired or revoked.
    #[serde(serialize_with = "utc_or_null")]
    #[schema(required = true)]
    pub pairing_expires_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "utc_or_null")]
    #[schema(required = true)]
    pub paired_at: Option<DateTime<Utc>>,
    /// When it last called, to the minute.
    #[serde(serialize_with = "utc_or_null")]
    #[schema(required = true)]
    pub last_seen_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "utc_or_null")]
    #[schema(required = true)]
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A page of [`DeviceResponse`]s, under its own name in the document.
type DevicePage = Page<DeviceResponse>;

impl From<Device> for DeviceResponse {
    fn from(d: Device) -> Self {
        Self {
            id: d.id,
            user_id: d.user_id,
            name: d.name,
            created_at: d.created_at.and_utc(),
            pairing_expires_at: d.pairing_expires_at.map(|t| t.and_utc()),
            paired_at: d.paired_at.map(|t| t.and_utc()),
            last_seen_at: d.last_seen_at.map(|t| t.and_utc()),
            revoked_at: d.revoked_at.map(|t| t.and_utc()),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
struct CreateDeviceRequest {
    /// What the trainer calls it.
    #[schema(min_length = 1, max_length = 100, example = "Máy tính bảng nhà văn hoá xóm Đông")]
    pub name: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
struct CreateDeviceResponse {
    pub id: Id,
    /// Eight letters and digits, typed on the device (case, spaces and
    /// dashes do not matter). Works once, for ten minutes.
    #[schema(example = "7KQ2M9XH")]
    pub pairing_code: String,
    /// The same code with this server's address, for a client to show as
    /// a QR code that the device scans.
    #[schema(example = "lophoc://pair?server=https%3A%2F%2Flophoc.example.vn&code=7KQ2M9XH")]
    pub pairing_uri: String,
    #[serde(serialize_with = "utc")]
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Deserialize, ToSchema)]
struct PairRequest {
    #[schema(example = "7KQ2M9XH")]
    pub pairing_code: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
struct PairResponse {
    /// Sent as `Authorization: Bearer …` from now on. Shown once; it does
    /// not expire, and stops when the device is revoked or its person can
    /// no longer mark attendance.
    pub device_token: String,
    pub device: DeviceResponse,
}

/// Start pairing a device
///
/// Trainers and admins; others get `403 forbidden`. Creates a device for
/// the caller with a pairing code that works once, for 10 minutes, and a
/// `pairing_uri` to show as a QR code. The code is shown only here. Once
/// paired, the device acts for the caller, and only for marking work: the
/// rosters of the sessions they teach (`GET /me/rosters`), their
/// roll-calls, self check-in codes, walk-ins and offline sync; any other
/// request with its token is `403`.
#[utoipa::path(
    tag = "devices",
    security(("bearer" = [])),
    request_body = CreateDeviceRequest,
    responses(
        (status = 201, description = "A device waiting to be paired, with its one-time code", body = CreateDeviceResponse, headers(("Location" = String, description = "The new resource's path"))),
        (status = 403, description = "Not a trainer or an admin, or a device's token"),
    )
)]
#[post("/devices")]
async fn create_device(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: AuthUser,
    Json(body): Json<CreateDeviceRequest>,
) -> Result<HttpResponse, AppError> {
    if !access::takes_roll_calls(&caller.user) {
        return Err(AppError::Forbidden);
    }
    let mut v = Validator::new();
    let name = v.text("name", &body.name, MAX_NAME_CHARS);
    v.finish()?;
    let NewPairing { device, pairing_code, expires_at } = state
        .db
        .write(move |conn| Ok(model::create(conn, &Actor::user(caller.id()), caller.id(), name)?))
        .await?;
    let connection = req.connection_info();
    let server = format!("{}://{}", connection.scheme(), connection.host());
    let query = serde_urlencoded::to_string([("server", server.as_str()), ("code", &pairing_code)])
        .map_err(|err| AppError::internal("a pairing URI", err))?;
    let response = CreateDeviceResponse {
        id: device.id,
        pairing_uri: format!("lophoc://pair?{query}"),
        pairing_code,
        expires_at: expires_at.and_utc(),
    };
    Ok(http::created(&format!("/devices/{}", device.id), &response))
}

/// Pair a device with its code
///
/// No token: the device sends the code its trainer created. Answers the
/// device's own token, once: a code works a single time, and a wrong,
/// expired or used one is `422 invalid_pairing_code`. Too many wrong codes
/// from one address answer `429` with `Retry-After`.
#[utoipa::path(
    tag = "devices",
    request_body = PairRequest,
    responses(
        (status = 200, description = "Paired: the device's token, shown once, and the device", body = PairResponse),
        (status = 422, description = "A wrong, expired or already used code (`invalid_pairing_code`)"),
        (status = 429, description = "Too many wrong codes from this address; see `Retry-After`"),
    )
)]
#[post("/devices/pair")]
async fn pair_device(
    req: HttpRequest,
    state: web::Data<AppState>,
    Json(body): Json<PairRequest>,
) -> Result<web::Json<PairResponse>, AppError> {
    let code = model::normalize_code(&body.pairing_code);
    let address = client_address(&req);
    // An address out of tries is turned away on a read, before any write
    // or lock: a flood of guesses holds up no one else's pairing.
    let guesser = Guesser::at(address.as_deref());
    if let Some(retry_after_secs) = state.db.run(move |conn| Ok(guesser.waits(conn)?)).await? {
        return Err(AppError::TooManyRequests { retry_after_secs });
    }
    let pairing =
        state.db.write(move |conn| Ok(model::pair(conn, &code, address.as_deref())?)).await?;
    match pairing {
        Pairing::Paired(device, device_token) => {
            Ok(web::Json(PairResponse { device_token, device: device.into() }))
        }
        Pairing::WrongCode => Err(AppError::Refused(Refusal::InvalidPairingCode)),
        Pairing::Throttled(retry_after_secs) => Err(AppError::TooManyRequests { retry_after_secs }),
    }
}

/// List devices
///
/// Any signed-in person: their own devices, or every device for an admin,
/// oldest first, with when each was paired, last seen and revoked. Answers
/// a page.
#[utoipa::path(
    tag = "devices",
    security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, description = "A page of the caller's devices (an admin's: everyone's), oldest first", body = DevicePage),
        (status = 403, description = "A device's token"),
    )
)]
#[get("/devices")]
async fn list_devices(
    state: web::Data<AppState>,
    caller: AuthUser,
    Query(page): Query<PageQuery>,
) -> Result<web::Json<DevicePage>, AppError> {
    let page = page.parse()?;
    let owner = (caller.user.role != Role::Admin).then(|| caller.id());
    let result = state
        .db
        .run(move |conn| {
            let rows = model::list(conn, owner, &page)?;
            Ok(Page::from_rows(rows, &page, |d| d.id, DeviceResponse::from))
        })
        .await?;
    Ok(web::Json(result))
}

/// Revoke a device
///
/// The person it acts for, or an admin; anyone else gets `404 not_found`,
/// as if there were no such device. Its token stops working at once (`401`
/// afterwards), as does a pairing code not yet used; the marks it took
/// keep naming it. Revoking again changes nothing. Answers the device.
#[utoipa::path(
    tag = "devices",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The device's id")),
    responses(
        (status = 200, description = "Revoked, now or before", body = DeviceResponse),
        (status = 403, description = "A device's token"),
        (status = 404, description = "No such device, or not the caller's"),
    )
)]
#[delete("/devices/{id}")]
async fn revoke_device(
    state: web::Data<AppState>,
    caller: AuthUser,
    id: web::Path<Id>,
) -> Result<web::Json<DeviceResponse>, AppError> {
    let id = id.into_inner();
    let revoked = state
        .db
        .write(move |conn| {
            let device = model::find_visible(conn, id, &caller.user)?.ok_or(AppError::NotFound)?;
            Ok(model::revoke(conn, &Actor::user(caller.id()), &device)?)
        })
        .await?;
    Ok(web::Json(revoked.into()))
}

/// The routes of `devices`, for [`crate::routes`]. Any other method on the
/// pairing path answers `405`: `pair` is not a device's id.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(create_device)
        .service(pair_device)
        .route("/devices/pair", web::route().to(fallback::no_route))
        .service(list_devices)
        .service(revoke_device);
}

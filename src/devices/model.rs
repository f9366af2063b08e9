//! Trainers' devices: a hall's tablet or a phone, paired with a one-time
//! code instead of a person's password, then acting for the person who
//! paired it with a token of its own (PRODUCT.md, "Trainers' devices and
//! offline rosters"). Codes and tokens are stored as SHA-256 digests only;
//! a revoked device keeps its row, so that the marks it took still name it.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use crate::access::MARKING_ROLES;
use crate::audit::{self, Action, Actor, EntityType, FieldChange};
use crate::crypto::{crockford, random_bytes, random_token, sha256_base64};
use crate::db::schema::{devices, pairing_failures, users};
use crate::db::{self, DbConnection};
use crate::error::{AppError, AuthFailure};
use crate::id::Id;
use crate::paging::{PageRequest, Paged};
use crate::users::User;
use crate::vocab::Role;

/// How long a pairing code works.
const PAIRING_CODE_TTL: Duration = Duration::minutes(10);
/// How many letters a pairing code has: 40 random bits, so that even a
/// thousand live codes leave a guess one chance in a billion.
const PAIRING_CODE_CHARS: u32 = 8;
/// Wrong codes allowed from one client address in [`PAIRING_GUESS_WINDOW`]:
/// enough for a trainer's typing mistakes, far too few to guess a code.
const PAIRING_GUESSES_PER_ADDRESS: i64 = 10;
const PAIRING_GUESS_WINDOW: Duration = Duration::minutes(10);
/// How often `last_seen_at` is written per device at most.
const LAST_SEEN_EVERY: Duration = Duration::minutes(1);
/// What a device token starts with, which tells it from an access token
/// (a JWT) before anything is looked up.
pub const TOKEN_PREFIX: &str = "lhd_";

/// A device as it is shown: never its code or token.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = devices)]
pub struct Device {
    pub id: Id,
    pub user_id: Id,
    pub name: String,
    pub created_at: NaiveDateTime,
    /// Until when its pairing code works; `None` once paired or revoked.
    pub pairing_expires_at: Option<NaiveDateTime>,
    pub paired_at: Option<NaiveDateTime>,
    pub last_seen_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
}

/// A new device, with the code that pairs it (shown once).
pub struct NewPairing {
    pub device: Device,
    pub pairing_code: String,
    pub expires_at: NaiveDateTime,
}

/// A pairing code as typed: without spaces or dashes, in capitals, with the
/// letters Crockford's base 32 reads as digits (I and L as 1, O as 0).
pub fn normalize_code(typed: &str) -> String {
    typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| match c.to_ascii_uppercase() {
            'I' | 'L' => '1',
            'O' => '0',
            c => c,
        })
        .collect()
}

fn code_hash(code: &str) -> String {
    sha256_base64(format!("device-pairing:{code}"))
}

fn token_hash(token: &str) -> String {
    sha256_base64(format!("device-token:{token}"))
}

/// Creates a device for `owner` with a new pairing code. Call inside a
/// write transaction.
pub fn create(
    conn: &mut DbConnection,
    actor: &Actor,
    owner: Id,
    name: String,
) -> QueryResult<NewPairing> {
    let mut bits = [0u8; 8];
    bits[..5].copy_from_slice(&random_bytes::<5>());
    let pairing_code = crockford(u64::from_le_bytes(bits), PAIRING_CODE_CHARS);
    let now = db::now();
    let expires_at = now + PAIRING_CODE_TTL;
    let device = Device {
        id: Id::new(),
        user_id: owner,
        name,
        created_at: now,
        pairing_expires_at: Some(expires_at),
        paired_at: None,
        last_seen_at: None,
        revoked_at: None,
    };
    diesel::insert_into(devices::table)
        .values((
            devices::id.eq(device.id),
            devices::user_id.eq(device.user_id),
            devices::name.eq(&device.name),
            devices::pairing_code_hash.eq(code_hash(&pairing_code)),
            devices::pairing_expires_at.eq(device.pairing_expires_at),
            devices::created_at.eq(device.created_at),
        ))
        .execute(conn)?;
    let changes = vec![FieldChange::redacted("pairing_code")];
    audit::record(conn, actor, Action::Create, EntityType::Device, device.id, changes)?;
    Ok(NewPairing { device, pairing_code, expires_at })
}

/// What a pairing attempt came to.
pub enum Pairing {
    /// The device, and its token (shown once).
    Paired(Device, String),
    /// No device waits for this code (wrong, expired or used); the failure
    /// is recorded.
    WrongCode,
    /// Too many wrong codes from this address lately; try again after this
    /// many seconds.
    Throttled(u64),
}

/// Where wrong pairing codes come from: a client address, as a digest.
pub struct Guesser(String);

impl Guesser {
    pub fn at(address: Option<&str>) -> Self {
        Self(sha256_base64(format!("pairing:{}", address.unwrap_or("-"))))
    }

    /// How many seconds this address waits before it may try a code
    /// again, if it has used up its wrong codes. Only reads: a flood of
    /// guesses is turned away before any write (see the API), and [`pair`]
    /// asks again under its lock.
    pub fn waits(&self, conn: &mut DbConnection) -> QueryResult<Option<u64>> {
        let now = db::now();
        let failures: Vec<NaiveDateTime> = pairing_failures::table
            .filter(pairing_failures::subject_hash.eq(&self.0))
            .filter(pairing_failures::failed_at.gt(now - PAIRING_GUESS_WINDOW))
            .select(pairing_failures::failed_at)
            .order(pairing_failures::failed_at.asc())
            .load(conn)?;
        Ok((failures.len() as i64 >= PAIRING_GUESSES_PER_ADDRESS)
            .then(|| (failures[0] + PAIRING_GUESS_WINDOW - now).num_seconds().max(1) as u64))
    }
}

/// Exchanges a pairing code for a device token, once: the code is cleared
/// in the same statement that sets the token, so two devices sending one
/// code cannot both be paired. Wrong codes are counted per client address;
/// the failure is committed with the answer, so call inside a write
/// transaction and keep `WrongCode` an `Ok`.
pub fn pair(conn: &mut DbConnection, code: &str, address: Option<&str>) -> QueryResult<Pairing> {
    // Counting and recording guesses must not interleave, across servers
    // either.
    db::serialize_with_others(conn, db::LockKey::DevicePairing)?;
    let now = db::now();
    let guesser = Guesser::at(address);
    diesel::delete(
        pairing_failures::table.filter(pairing_failures::failed_at.le(now - PAIRING_GUESS_WINDOW)),
    )
    .execute(conn)?;
    if let Some(retry_after) = guesser.waits(conn)? {
        return Ok(Pairing::Throttled(retry_after));
    }
    let token = format!("{TOKEN_PREFIX}{}", random_token());
    // A code made by someone who may no longer mark pairs nothing.
    let live_owners =
        users::table.filter(users::active.eq(true)).filter(users::role.eq_any(MARKING_ROLES));
    let waiting = devices::pairing_code_hash
        .eq(code_hash(code))
        .and(devices::pairing_expires_at.gt(now))
        .and(devices::revoked_at.is_null())
        .and(devices::user_id.eq_any(live_owners.select(users::id)));
    let paired = diesel::update(devices::table.filter(waiting))
        .set((
            devices::pairing_code_hash.eq(None::<String>),
            devices::pairing_expires_at.eq(None::<NaiveDateTime>),
            devices::token_hash.eq(token_hash(&token)),
            devices::paired_at.eq(now),
        ))
        .execute(conn)?;
    if paired == 0 {
        diesel::insert_into(pairing_failures::table)
            .values((
                pairing_failures::id.eq(Id::new()),
                pairing_failures::subject_hash.eq(&guesser.0),
                pairing_failures::failed_at.eq(now),
            ))
            .execute(conn)?;
        return Ok(Pairing::WrongCode);
    }
    let device: Device = devices::table
        .filter(devices::token_hash.eq(token_hash(&token)))
        .select(Device::as_select())
        .first(conn)?;
    let actor = Actor::user_on(device.user_id, Some(device.id));
    audit::record(conn, &actor, Action::Pair, EntityType::Device, device.id, Vec::new())?;
    Ok(Pairing::Paired(device, token))
}

/// A live device, as its token finds it.
pub struct DeviceCaller {
    /// The person it acts for.
    pub user: User,
    pub device_id: Id,
    last_seen_at: Option<NaiveDateTime>,
}

impl DeviceCaller {
    /// Whether [`note_seen`] should run: `last_seen_at` is kept to the
    /// minute, so that a busy tablet does not turn every read into a write.
    pub fn seen_long_ago(&self) -> bool {
        self.last_seen_at.is_none_or(|seen| seen <= db::now() - LAST_SEEN_EVERY)
    }
}

/// The device a token names, with the person it acts for, while the
/// device is paired and not revoked and its person active and still
/// marking attendance; `None` otherwise. Writes nothing.
pub fn authenticate(conn: &mut DbConnection, token: &str) -> QueryResult<Option<DeviceCaller>> {
    let found: Option<(Id, Option<NaiveDateTime>, User)> = devices::table
        .inner_join(users::table)
        .filter(devices::token_hash.eq(token_hash(token)))
        .filter(devices::revoked_at.is_null())
        .filter(users::active.eq(true))
        .filter(users::role.eq_any(MARKING_ROLES))
        .select((devices::id, devices::last_seen_at, users::all_columns))
        .first(conn)
        .optional()?;
    Ok(found.map(|(device_id, last_seen_at, user)| DeviceCaller { user, device_id, last_seen_at }))
}

/// The live device a token names, or `401`: what every request with a
/// device's token asks first.
pub fn live(conn: &mut DbConnection, token: &str) -> Result<DeviceCaller, AppError> {
    authenticate(conn, token)?.ok_or(AppError::Unauthenticated(AuthFailure::InvalidToken))
}

/// Notes that the device called just now.
pub fn note_seen(conn: &mut DbConnection, device_id: Id) -> QueryResult<()> {
    diesel::update(devices::table.find(device_id))
        .set(devices::last_seen_at.eq(db::now()))
        .execute(conn)
        .map(drop)
}

/// Revokes every device of `user`, when they may no longer mark
/// (deactivated, or given a role that does not mark): like their logins,
/// their devices end for good, and a reactivated account pairs anew.
/// Call inside the write transaction of that change.
pub fn revoke_all_of(conn: &mut DbConnection, actor: &Actor, user: Id) -> QueryResult<()> {
    let live: Vec<Device> = devices::table
        .filter(devices::user_id.eq(user))
        .filter(devices::revoked_at.is_null())
        .select(Device::as_select())
        .load(conn)?;
    for device in &live {
        revoke(conn, actor, device)?;
    }
    Ok(())
}

/// A page of devices, oldest first: `owner`'s, or everyone's for `None`.
pub fn list(
    conn: &mut DbConnection,
    owner: Option<Id>,
    page: &PageRequest,
) -> QueryResult<Vec<Device>> {
    let mut query = devices::table.select(Device::as_select()).into_boxed();
    if let Some(owner) = owner {
        query = query.filter(devices::user_id.eq(owner));
    }
    query.page(devices::id, page).load(conn)
}

/// The device, if `viewer` may see it: their own, or any for an admin.
pub fn find_visible(conn: &mut DbConnection, id: Id, viewer: &User) -> QueryResult<Option<Device>> {
    let device: Option<Device> =
        devices::table.find(id).select(Device::as_select()).first(conn).optional()?;
    Ok(device.filter(|d| viewer.role == Role::Admin || d.user_id == viewer.id))
}

/// Revokes a device at once: its token and any pairing code stop working.
/// Revoking it again changes nothing. Call inside a write transaction.
pub fn revoke(conn: &mut DbConnection, actor: &Actor, device: &Device) -> QueryResult<Device> {
    let revoked =
        diesel::update(devices::table.find(device.id).filter(devices::revoked_at.is_null()))
            .set((
                devices::revoked_at.eq(db::now()),
                devices::token_hash.eq(None::<String>),
                devices::pairing_code_hash.eq(None::<String>),
                devices::pairing_expires_at.eq(None::<NaiveDateTime>),
            ))
            .execute(conn)?;
    // Revoked by someone else meanwhile: only the first is recorded.
    if revoked == 1 {
        audit::record(conn, actor, Action::Revoke, EntityType::Device, device.id, Vec::new())?;
    }
    devices::table.find(device.id).select(Device::as_select()).first(conn)
}

#[cfg(test)]
mod tests {
    use super::normalize_code;

    #[test]
    fn typed_codes_forgive_case_dashes_and_look_alike_letters() {
        assert_eq!(normalize_code(" abcd-efgh "), "ABCDEFGH");
        assert_eq!(normalize_code("1lIoO0"), "111000");
    }
}

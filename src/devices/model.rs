//! Trainers' devices: a hall's tablet or a phone, paired with a one-time
//! code instead of a person's password, then acting for the person who
//! paired it with a token of its own (PRODUCT.md, "Trainers' devices and
//! offline rosters"). Codes and tokens are stored as SHA-256 digests only;
//! a revoked device keeps its row, so that the marks it took still name it.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;

use crate::access::MARKING_ROLES;
use crate::audit::{self, Action, Actor, EntityType, FieldChange};
use crate::crypto::{crockford, random_bytes, random_token, sha256_base64};
use crate::db::schema::{devices, pairing_failures, users};
use crate::db::{self, DbConnection};
use crate::id::Id;
use crate::paging::{PageRequest, Paged};
use crate::users::User;
use crate::vocab::Role;

/// How long a pairing code works.
pub const PAIRING_CODE_TTL: Duration = Duration::minutes(10);
/// How many letters a pairing code has: 40 random bits, so that even a
/// thousand live codes leave a guess one chance in a billion.
const PAIRING_CODE_CHARS: u32 = 8;
/// Wrong codes allowed from one client address in [`PAIRING_GUESS_WINDOW`]:
/// enough for a trainer's typing mistakes, far too few to guess a code.
const PAIRING_GUESSES_PER_ADDRESS: i64 = 10;
const PAIRING_GUESS_WINDOW: Duration = Duration::minutes(10);
/// `last_seen_at` is written at most this often per device, so that a
/// busy tablet does not turn every read into a write.
const LAST_SEEN_EVERY: Duration = Duration::minutes(1);
/// What a device token starts with, which tells it from an access token
/// (a JWT) before anything is looked up.
pub const TOKEN_PREFIX: &str = "lhd_";

/// A device as it is shown: never its code or token.
#[derive(Clone, Debug, Queryable, Selectable, Serialize)]
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
    let device = Device {
        id: Id::new(),
        user_id: owner,
        name,
        created_at: now,
        pairing_expires_at: Some(now + PAIRING_CODE_TTL),
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
    Ok(NewPairing { device, pairing_code })
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
    let guesser = sha256_base64(format!("pairing:{}", address.unwrap_or("-")));
    let since = now - PAIRING_GUESS_WINDOW;
    diesel::delete(pairing_failures::table.filter(pairing_failures::failed_at.le(since)))
        .execute(conn)?;
    let failures: Vec<NaiveDateTime> = pairing_failures::table
        .filter(pairing_failures::subject_hash.eq(&guesser))
        .select(pairing_failures::failed_at)
        .order(pairing_failures::failed_at.asc())
        .load(conn)?;
    if failures.len() as i64 >= PAIRING_GUESSES_PER_ADDRESS {
        let retry = (failures[0] + PAIRING_GUESS_WINDOW - now).num_seconds().max(1);
        return Ok(Pairing::Throttled(retry as u64));
    }
    let token = format!("{TOKEN_PREFIX}{}", random_token());
    let waiting = devices::pairing_code_hash
        .eq(code_hash(code))
        .and(devices::pairing_expires_at.gt(now))
        .and(devices::revoked_at.is_null());
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
                pairing_failures::subject_hash.eq(&guesser),
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

/// The person a device token acts for, and the device, while the device is
/// paired and not revoked and its person is active and still marks
/// attendance (a trainer or an admin); `None` otherwise. Notes when the
/// device was last seen, at most once a minute.
pub fn authenticate(conn: &mut DbConnection, token: &str) -> QueryResult<Option<(User, Id)>> {
    let found: Option<(Id, Option<NaiveDateTime>, User)> = devices::table
        .inner_join(users::table)
        .filter(devices::token_hash.eq(token_hash(token)))
        .filter(devices::revoked_at.is_null())
        .filter(users::active.eq(true))
        .filter(users::role.eq_any(MARKING_ROLES))
        .select((devices::id, devices::last_seen_at, users::all_columns))
        .first(conn)
        .optional()?;
    let Some((device_id, last_seen_at, user)) = found else { return Ok(None) };
    let now = db::now();
    if last_seen_at.is_none_or(|seen| seen <= now - LAST_SEEN_EVERY) {
        diesel::update(devices::table.find(device_id))
            .set(devices::last_seen_at.eq(now))
            .execute(conn)?;
    }
    Ok(Some((user, device_id)))
}

/// A page of devices, oldest first: `owner`'s, or everyone's for `None`.
pub fn list(
    conn: &mut DbConnection,
    owner: Option<Id>,
    page: &PageRequest,
) -> QueryResult<Vec<Device>> {
    let mut query = devices::table.select(Device::as_select()).into_boxed().page(devices::id, page);
    if let Some(owner) = owner {
        query = query.filter(devices::user_id.eq(owner));
    }
    query.load(conn)
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
    if device.revoked_at.is_some() {
        return Ok(device.clone());
    }
    let now = db::now();
    diesel::update(devices::table.find(device.id))
        .set((
            devices::revoked_at.eq(now),
            devices::token_hash.eq(None::<String>),
            devices::pairing_code_hash.eq(None::<String>),
            devices::pairing_expires_at.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)?;
    audit::record(conn, actor, Action::Revoke, EntityType::Device, device.id, Vec::new())?;
    Ok(Device { revoked_at: Some(now), pairing_expires_at: None, ..device.clone() })
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

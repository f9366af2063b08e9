//! Login throttling, kept in the database so that several API servers share
//! it. Failures are counted per account (the email) and per client address
//! within a sliding window; subjects are stored only as SHA-256 digests.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::TimeDelta;
use diesel::dsl::{count_star, min};
use diesel::prelude::*;
use sha2::{Digest, Sha256};

use crate::config::LoginThrottle;
use crate::db::schema::login_failures;
use crate::db::{self, DbConnection};
use crate::error::AppError;

/// The subjects one login attempt counts against, with their limits.
pub struct Attempt {
    account: String,
    address: Option<String>,
}

impl Attempt {
    /// `email` in its stored (lower-case) form; `address` the client's IP.
    pub fn new(email: &str, address: Option<&str>) -> Self {
        Self {
            account: digest(&format!("account:{email}")),
            address: address.map(|a| digest(&format!("address:{a}"))),
        }
    }

    fn subjects(&self, limits: &LoginThrottle) -> impl Iterator<Item = (&str, i64)> {
        std::iter::once((self.account.as_str(), limits.per_account))
            .chain(self.address.as_deref().map(|a| (a, limits.per_address)))
    }
}

/// Refuses with 429 and the seconds until a slot frees when either subject
/// has reached its limit.
pub fn check(
    conn: &mut DbConnection,
    limits: &LoginThrottle,
    attempt: &Attempt,
) -> Result<(), AppError> {
    let window = TimeDelta::from_std(limits.window).unwrap_or(TimeDelta::MAX);
    let now = db::now();
    for (subject, limit) in attempt.subjects(limits) {
        let (failures, oldest) = login_failures::table
            .filter(login_failures::subject_hash.eq(subject))
            .filter(login_failures::failed_at.gt(now - window))
            .select((count_star(), min(login_failures::failed_at)))
            .first::<(i64, Option<chrono::NaiveDateTime>)>(conn)?;
        if let (true, Some(oldest)) = (failures >= limit, oldest) {
            let wait = (oldest + window - now).num_seconds().max(1);
            return Err(AppError::TooManyRequests {
                retry_after_secs: wait as u64,
            });
        }
    }
    Ok(())
}

/// Counts a failure against both subjects and forgets failures that have
/// left the window, so that the table stays small.
pub fn record_failure(
    conn: &mut DbConnection,
    limits: &LoginThrottle,
    attempt: &Attempt,
) -> QueryResult<()> {
    let now = db::now();
    let window = TimeDelta::from_std(limits.window).unwrap_or(TimeDelta::MAX);
    diesel::delete(login_failures::table.filter(login_failures::failed_at.le(now - window)))
        .execute(conn)?;
    for (subject, _) in attempt.subjects(limits) {
        diesel::insert_into(login_failures::table)
            .values((
                login_failures::id.eq(db::new_id()),
                login_failures::subject_hash.eq(subject),
                login_failures::failed_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// A successful login clears the account's failures (not the address's:
/// one good password must not reset a guessing run over many accounts).
pub fn clear_account(conn: &mut DbConnection, attempt: &Attempt) -> QueryResult<()> {
    diesel::delete(login_failures::table.filter(login_failures::subject_hash.eq(&attempt.account)))
        .execute(conn)
        .map(drop)
}

fn digest(subject: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(subject.as_bytes()))
}

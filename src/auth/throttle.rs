//! Login throttling, kept in the database so that several API servers share
//! it. Failures are counted per account (the email) and per client address
//! within a sliding window; subjects are stored only as SHA-256 digests.
//!
//! An attempt is counted as a failure *before* its password is checked, in
//! the same serialised transaction as the check of the limit, and forgiven
//! when the password turns out right. Counting only after the (slow) hash
//! would let a burst of parallel guesses all pass the check first.

use chrono::TimeDelta;
use diesel::dsl::{count_star, min};
use diesel::prelude::*;

use super::sha256_base64;
use crate::config::LoginThrottle;
use crate::db::schema::login_failures;
use crate::db::{self, DbConnection, LockKey};
use crate::error::AppError;

/// The subjects one login attempt counts against.
pub struct Attempt {
    account: String,
    address: Option<String>,
}

impl Attempt {
    /// `email` in its stored (lower-case) form; `address` the client's IP.
    pub fn new(email: &str, address: Option<&str>) -> Self {
        Self {
            account: sha256_base64(&format!("account:{email}")),
            address: address.map(|a| sha256_base64(&format!("address:{a}"))),
        }
    }

    fn subjects(&self, limits: &LoginThrottle) -> impl Iterator<Item = (&str, i64)> {
        std::iter::once((self.account.as_str(), limits.per_account))
            .chain(self.address.as_deref().map(|a| (a, limits.per_address)))
    }
}

/// An attempt already counted as a failure, until [`forgive`] says otherwise.
pub struct CountedAttempt {
    account: String,
    failure_ids: Vec<String>,
}

/// Refuses with 429 and the seconds until a slot frees when either subject
/// has reached its limit; otherwise counts the attempt as a failure. Call
/// inside a write transaction.
pub fn count_attempt(
    conn: &mut DbConnection,
    limits: &LoginThrottle,
    attempt: &Attempt,
) -> Result<CountedAttempt, AppError> {
    // Checking and counting must not interleave across servers either.
    db::serialize_with_others(conn, LockKey::LoginThrottle)?;
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
            return Err(AppError::TooManyRequests { retry_after_secs: wait as u64 });
        }
    }
    // Failures that have left the window count for nothing: drop them so
    // that the table stays small.
    diesel::delete(login_failures::table.filter(login_failures::failed_at.le(now - window)))
        .execute(conn)?;
    let mut failure_ids = Vec::new();
    for (subject, _) in attempt.subjects(limits) {
        let id = db::new_id();
        diesel::insert_into(login_failures::table)
            .values((
                login_failures::id.eq(&id),
                login_failures::subject_hash.eq(subject),
                login_failures::failed_at.eq(now),
            ))
            .execute(conn)?;
        failure_ids.push(id);
    }
    Ok(CountedAttempt { account: attempt.account.clone(), failure_ids })
}

/// The password was right: the attempt was no failure, and the account's
/// earlier failures are cleared (the address's are not: one good password
/// must not reset a guessing run over many accounts).
pub fn forgive(conn: &mut DbConnection, counted: &CountedAttempt) -> QueryResult<()> {
    let forgiven = login_failures::id
        .eq_any(&counted.failure_ids)
        .or(login_failures::subject_hash.eq(&counted.account));
    diesel::delete(login_failures::table.filter(forgiven)).execute(conn).map(drop)
}

//! Login throttling, kept in the database so that several API servers share
//! it. Failures are counted per account (the email) and per client address
//! within a sliding window; subjects are stored only as SHA-256 digests.
//!
//! An attempt is recorded as *pending* before its password is checked, in
//! the same serialised transaction as the check of the limit, and becomes a
//! failure or disappears once the password is known to be wrong or right.
//! Recording only after the (slow) hash would let a burst of parallel
//! guesses all pass the check first. Pending attempts count towards the
//! limit, but a refusal that only they cause asks to retry within a second,
//! as they resolve that fast: a class logging in at once from one address
//! is slowed, not locked out.

use std::time::Duration;

use chrono::{NaiveDateTime, TimeDelta};
use diesel::prelude::*;

use crate::config::LoginThrottle;
use crate::crypto::sha256_base64;
use crate::db::schema::login_attempts;
use crate::db::{self, DbConnection, LockKey};
use crate::error::AppError;
use crate::id::Id;

/// A pending attempt older than this was abandoned (its server stopped or
/// its client left mid-check) and no longer counts: its outcome reached
/// nobody, so it taught a guesser nothing. Longer than any hash plus its
/// wait for a hashing slot.
const PENDING_GRACE: Duration = Duration::from_secs(60);

/// The subjects one login attempt counts against.
pub struct Attempt {
    account: String,
    address: Option<String>,
}

impl Attempt {
    /// `email` in its stored (lower-case) form; `address` the client's IP.
    pub fn new(email: &str, address: Option<&str>) -> Self {
        Self {
            account: sha256_base64(format!("account:{email}")),
            address: address.map(|a| sha256_base64(format!("address:{a}"))),
        }
    }

    fn subjects(&self, limits: &LoginThrottle) -> impl Iterator<Item = (&str, i64)> {
        std::iter::once((self.account.as_str(), limits.per_account))
            .chain(self.address.as_deref().map(|a| (a, limits.per_address)))
    }
}

/// An attempt recorded as pending, until [`failed`] or [`succeeded`].
pub struct PendingAttempt {
    account: String,
    ids: Vec<Id>,
}

/// Refuses with 429 and a `Retry-After` when either subject has reached its
/// limit; otherwise records the attempt as pending. Call inside a write
/// transaction.
pub fn begin(
    conn: &mut DbConnection,
    limits: &LoginThrottle,
    attempt: &Attempt,
) -> Result<PendingAttempt, AppError> {
    // Checking and recording must not interleave, across servers either.
    db::serialize_with_others(conn, LockKey::LoginThrottle)?;
    let now = db::now();
    let window_start = now - to_delta(limits.window);
    // Attempts that have left the window, or were abandoned, count for
    // nothing: drop them so that the table stays small.
    let abandoned = login_attempts::pending
        .eq(true)
        .and(login_attempts::attempted_at.le(now - to_delta(PENDING_GRACE)));
    let expired = login_attempts::attempted_at.le(window_start).or(abandoned);
    diesel::delete(login_attempts::table.filter(expired)).execute(conn)?;
    for (subject, limit) in attempt.subjects(limits) {
        let recent: Vec<(NaiveDateTime, bool)> = login_attempts::table
            .filter(login_attempts::subject_hash.eq(subject))
            .select((login_attempts::attempted_at, login_attempts::pending))
            .load(conn)?;
        if let Some(retry_after_secs) = refusal(&recent, limit, now, limits.window) {
            return Err(AppError::TooManyRequests { retry_after_secs });
        }
    }
    let mut ids = Vec::new();
    for (subject, _) in attempt.subjects(limits) {
        let id = Id::new();
        diesel::insert_into(login_attempts::table)
            .values((
                login_attempts::id.eq(&id),
                login_attempts::subject_hash.eq(subject),
                login_attempts::attempted_at.eq(now),
                login_attempts::pending.eq(true),
            ))
            .execute(conn)?;
        ids.push(id);
    }
    Ok(PendingAttempt { account: attempt.account.clone(), ids })
}

/// The password was wrong: the attempt is a failure.
pub fn failed(conn: &mut DbConnection, pending: PendingAttempt) -> QueryResult<()> {
    diesel::update(login_attempts::table.filter(login_attempts::id.eq_any(&pending.ids)))
        .set(login_attempts::pending.eq(false))
        .execute(conn)
        .map(drop)
}

/// The password could not be checked (no hashing slot, the account changed
/// meanwhile): the attempt counts for nothing.
pub fn abandon(conn: &mut DbConnection, pending: PendingAttempt) -> QueryResult<()> {
    diesel::delete(login_attempts::table.filter(login_attempts::id.eq_any(&pending.ids)))
        .execute(conn)
        .map(drop)
}

/// The password was right: the attempt was no failure, and the account's
/// earlier failures are cleared (the address's are not: one good password
/// must not reset a guessing run over many accounts).
pub fn succeeded(conn: &mut DbConnection, pending: PendingAttempt) -> QueryResult<()> {
    let account_failures =
        login_attempts::subject_hash.eq(&pending.account).and(login_attempts::pending.eq(false));
    let forgiven = login_attempts::id.eq_any(&pending.ids).or(account_failures);
    diesel::delete(login_attempts::table.filter(forgiven)).execute(conn).map(drop)
}

/// Whether a subject with these attempts in the window (time, pending) must
/// wait, and for how many seconds.
fn refusal(
    recent: &[(NaiveDateTime, bool)],
    limit: i64,
    now: NaiveDateTime,
    window: Duration,
) -> Option<u64> {
    let abandoned_before = now - to_delta(PENDING_GRACE);
    let live = |(at, pending): &&(NaiveDateTime, bool)| !pending || *at > abandoned_before;
    let counted: Vec<&(NaiveDateTime, bool)> = recent.iter().filter(live).collect();
    let failures: Vec<NaiveDateTime> =
        counted.iter().filter(|(_, pending)| !pending).map(|(at, _)| *at).collect();
    if failures.len() as i64 >= limit {
        let oldest = failures.iter().min()?;
        let wait = (*oldest + to_delta(window) - now).num_seconds().max(1);
        return Some(wait as u64);
    }
    (counted.len() as i64 >= limit).then_some(1)
}

fn to_delta(duration: Duration) -> TimeDelta {
    TimeDelta::from_std(duration).unwrap_or(TimeDelta::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    const WINDOW: Duration = Duration::from_secs(15 * 60);

    fn at(now: NaiveDateTime, seconds_ago: i64) -> NaiveDateTime {
        now - TimeDelta::seconds(seconds_ago)
    }

    #[test]
    fn failures_up_to_the_limit_wait_for_the_oldest_to_leave_the_window() {
        let now = db::now();
        let four = [
            (at(now, 600), false),
            (at(now, 30), false),
            (at(now, 20), false),
            (at(now, 10), false),
        ];
        assert_eq!(refusal(&four, 5, now, WINDOW), None);
        let five = [&four[..], &[(at(now, 5), false)]].concat();
        assert_eq!(refusal(&five, 5, now, WINDOW), Some(300));
    }

    #[test]
    fn attempts_still_being_checked_only_ask_for_a_second() {
        let now = db::now();
        let in_flight = vec![(at(now, 1), true); 5];
        assert_eq!(refusal(&in_flight, 5, now, WINDOW), Some(1));
        let mixed = [(at(now, 100), false), (at(now, 1), true)];
        assert_eq!(refusal(&mixed, 2, now, WINDOW), Some(1));
    }

    #[test]
    fn abandoned_pending_attempts_count_for_nothing() {
        let now = db::now();
        let abandoned = vec![(at(now, 120), true); 5];
        assert_eq!(refusal(&abandoned, 5, now, WINDOW), None);
        let with_failures = [&abandoned[..], &[(at(now, 30), false); 4]].concat();
        assert_eq!(refusal(&with_failures, 5, now, WINDOW), None);
    }
}

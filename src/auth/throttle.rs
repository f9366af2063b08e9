//! Login throttling, kept in the database so that several API servers share
//! it. Subjects are stored only as SHA-256 digests. An attacker is stopped
//! without handing them a lock on the people they target:
//!
//! - failures of one account from one client address: past the limit that
//!   pair waits for the window. The owner, from their own address, is not
//!   held up by someone guessing elsewhere;
//! - failures from one address over all accounts, with a limit high enough
//!   that a school's few mistakes behind one address lock no one out;
//! - an account under attack (many failures from anywhere) takes, from
//!   addresses that have failed on it, one attempt every few seconds: a
//!   guesser spread over many addresses is slowed, and its owner still
//!   gets in from an address that has not failed.
//!
//! An attempt is recorded as *pending* before its password is checked, in
//! the same serialised transaction as the check of the limits, and becomes
//! a failure or disappears once the password is known to be wrong or right.
//! Recording only after the (slow) hash would let a burst of parallel
//! guesses all pass the check first. Pending attempts count towards the
//! limits, but a refusal that only they cause asks to retry within a
//! second, as they resolve that fast: a class logging in at once from one
//! address is slowed, not locked out.

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

/// How often an account under attack takes an attempt from an address
/// that has failed on it.
const UNDER_ATTACK_EVERY: Duration = Duration::from_secs(5);

/// The subjects one login attempt counts against.
pub struct Attempt {
    /// The account from this address.
    pair: String,
    account: String,
    address: Option<String>,
}

impl Attempt {
    /// `email` in its stored (lower-case) form; `address` the client's IP.
    pub fn new(email: &str, address: Option<&str>) -> Self {
        Self {
            pair: sha256_base64(format!("pair:{email}|{}", address.unwrap_or("-"))),
            account: sha256_base64(format!("account:{email}")),
            address: address.map(|a| sha256_base64(format!("address:{a}"))),
        }
    }

    /// Each subject, with the failures it may have before it waits for the
    /// window (none for the account, which is slowed instead).
    fn subjects(&self, limits: &LoginThrottle) -> [(Option<&str>, Option<i64>); 3] {
        [
            (Some(&self.pair), Some(limits.per_account_and_address)),
            (self.address.as_deref(), Some(limits.per_address)),
            (Some(&self.account), None),
        ]
    }
}

/// An attempt recorded as pending, until [`failed`] or [`succeeded`].
pub struct PendingAttempt {
    pair: String,
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
    let recent = |conn: &mut DbConnection, subject: &str| {
        login_attempts::table
            .filter(login_attempts::subject_hash.eq(subject))
            .select((login_attempts::attempted_at, login_attempts::pending))
            .load::<(NaiveDateTime, bool)>(conn)
    };
    let mut pair_failed = false;
    for (subject, limit) in attempt.subjects(limits) {
        let Some(subject) = subject else { continue };
        let attempts = recent(conn, subject)?;
        let waiting = match limit {
            Some(limit) => refusal(&attempts, limit, now, limits.window),
            None if pair_failed => slow_down(&attempts, limits.account_under_attack, now),
            None => None,
        };
        if let Some(retry_after_secs) = waiting {
            return Err(AppError::TooManyRequests { retry_after_secs });
        }
        pair_failed |= subject == attempt.pair && attempts.iter().any(|(_, pending)| !pending);
    }
    let mut ids = Vec::new();
    for (subject, _) in attempt.subjects(limits) {
        let Some(subject) = subject else { continue };
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
    Ok(PendingAttempt { pair: attempt.pair.clone(), ids })
}

/// Counts a sign-up from `address`, or refuses it with 429 and a
/// `Retry-After` when that address has made `signups_per_address` within
/// the window: one client cannot fill the database with accounts. Call
/// inside a write transaction, before the password is hashed.
pub fn admit_signup(
    conn: &mut DbConnection,
    limits: &LoginThrottle,
    address: Option<&str>,
) -> Result<(), AppError> {
    let Some(address) = address else { return Ok(()) };
    db::serialize_with_others(conn, LockKey::LoginThrottle)?;
    let subject = sha256_base64(format!("signup:{address}"));
    let now = db::now();
    let window_start = now - to_delta(limits.window);
    let recent: Vec<(NaiveDateTime, bool)> = login_attempts::table
        .filter(login_attempts::subject_hash.eq(&subject))
        .filter(login_attempts::attempted_at.gt(window_start))
        .select((login_attempts::attempted_at, login_attempts::pending))
        .load(conn)?;
    if let Some(retry_after_secs) = refusal(&recent, limits.signups_per_address, now, limits.window)
    {
        return Err(AppError::TooManyRequests { retry_after_secs });
    }
    // Recorded as done (not pending): it counts until it leaves the window.
    diesel::insert_into(login_attempts::table)
        .values((
            login_attempts::id.eq(Id::new()),
            login_attempts::subject_hash.eq(&subject),
            login_attempts::attempted_at.eq(now),
            login_attempts::pending.eq(false),
        ))
        .execute(conn)?;
    Ok(())
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

/// The password was right: the attempt was no failure, and the earlier
/// failures of this account from this address are cleared (the account's
/// from elsewhere, and the address's, are not: one good password must not
/// reset someone else's guessing run).
pub fn succeeded(conn: &mut DbConnection, pending: PendingAttempt) -> QueryResult<()> {
    let pair_failures =
        login_attempts::subject_hash.eq(&pending.pair).and(login_attempts::pending.eq(false));
    let forgiven = login_attempts::id.eq_any(&pending.ids).or(pair_failures);
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

/// Whether an account with these attempts in the window (time, pending)
/// is under attack (`threshold` failures or more) and took an attempt too
/// recently, and how many seconds to wait.
fn slow_down(recent: &[(NaiveDateTime, bool)], threshold: i64, now: NaiveDateTime) -> Option<u64> {
    let failures = recent.iter().filter(|(_, pending)| !pending).count() as i64;
    if failures < threshold {
        return None;
    }
    let latest = recent.iter().map(|(at, _)| *at).max()?;
    let wait = latest + to_delta(UNDER_ATTACK_EVERY) - now;
    (wait > TimeDelta::zero()).then(|| (wait.num_milliseconds() as u64).div_ceil(1000))
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
    fn an_account_under_attack_takes_an_attempt_every_few_seconds() {
        let now = db::now();
        let few = vec![(at(now, 1), false); 3];
        assert_eq!(slow_down(&few, 4, now), None, "not under attack");
        let many = vec![(at(now, 60), false); 4];
        assert_eq!(slow_down(&many, 4, now), None, "no attempt lately");
        let just_now = [&many[..], &[(at(now, 2), true)]].concat();
        assert_eq!(slow_down(&just_now, 4, now), Some(3));
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

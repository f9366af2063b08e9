//! Login sessions and their rotating refresh tokens.
//!
//! A login starts a session and hands out its first refresh token. Each
//! refresh marks the presented token used and hands out the next one. A
//! used token presented again means it was copied: the whole session is
//! revoked, so the thief's copy and the owner's current token both stop.
//! Only a SHA-256 of each token is stored.

use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::crypto::{random_token, sha256_base64};
use crate::db::schema::{login_sessions, refresh_tokens, users};
use crate::db::{self, DbConnection, IsNotDistinctFrom};
use crate::id::Id;
use crate::users::User;
use crate::vocab::Role;

/// What a client receives after login or refresh (before the access token).
pub struct Grant {
    pub user: User,
    pub session_id: Id,
    pub refresh_token: String,
}

/// Starts a login session for `user`.
pub fn start(conn: &mut DbConnection, user: User, ttl: Duration) -> QueryResult<Grant> {
    purge_ended(conn, user.id)?;
    let session_id = Id::new();
    diesel::insert_into(login_sessions::table)
        .values((
            login_sessions::id.eq(&session_id),
            login_sessions::user_id.eq(&user.id),
            login_sessions::created_at.eq(db::now()),
        ))
        .execute(conn)?;
    let refresh_token = issue_refresh_token(conn, session_id, ttl)?;
    Ok(Grant { user, session_id, refresh_token })
}

/// Forgets what a user's ended sessions left behind, so that the tables
/// grow with the people, not with every login: revoked sessions with all
/// their tokens (a token of a forgotten session is refused all the same),
/// and expired tokens of live ones.
fn purge_ended(conn: &mut DbConnection, user_id: Id) -> QueryResult<()> {
    let sessions_of_user = login_sessions::table.filter(login_sessions::user_id.eq(user_id));
    let revoked = sessions_of_user.filter(login_sessions::revoked_at.is_not_null());
    let ended_tokens = refresh_tokens::login_session_id
        .eq_any(revoked.select(login_sessions::id))
        .or(refresh_tokens::login_session_id
            .eq_any(sessions_of_user.select(login_sessions::id))
            .and(refresh_tokens::expires_at.le(db::now())));
    diesel::delete(refresh_tokens::table.filter(ended_tokens)).execute(conn)?;
    diesel::delete(revoked).execute(conn)?;
    Ok(())
}

/// The result of presenting a refresh token. A refusal is a value, not an
/// error, so that the transaction still commits what the refusal did (the
/// revocation of a session whose rotated token came back).
pub enum Rotation {
    Rotated(Grant),
    Refused,
}

#[derive(Queryable)]
struct PresentedToken {
    token_id: Id,
    used_at: Option<NaiveDateTime>,
    expires_at: NaiveDateTime,
    session_id: Id,
    session_revoked_at: Option<NaiveDateTime>,
}

/// Trades a refresh token for the next one. Call inside a write transaction.
pub fn rotate(conn: &mut DbConnection, presented: &str, ttl: Duration) -> QueryResult<Rotation> {
    let found: Option<PresentedToken> = refresh_tokens::table
        .inner_join(login_sessions::table)
        .filter(refresh_tokens::token_hash.eq(sha256_base64(presented)))
        .select((
            refresh_tokens::id,
            refresh_tokens::used_at,
            refresh_tokens::expires_at,
            login_sessions::id,
            login_sessions::revoked_at,
        ))
        .first(conn)
        .optional()?;
    let Some(PresentedToken { token_id, used_at, expires_at, session_id, session_revoked_at }) =
        found
    else {
        return Ok(Rotation::Refused);
    };
    if session_revoked_at.is_some() {
        return Ok(Rotation::Refused);
    }
    // Marking the token used only if nobody did yet makes two concurrent
    // refreshes with one token a reuse, on PostgreSQL as on SQLite.
    let claimed = used_at.is_none()
        && diesel::update(
            refresh_tokens::table.find(&token_id).filter(refresh_tokens::used_at.is_null()),
        )
        .set(refresh_tokens::used_at.eq(db::now()))
        .execute(conn)?
            == 1;
    if !claimed {
        // Even expired, a used token coming back means it was copied.
        revoke(conn, session_id)?;
        return Ok(Rotation::Refused);
    }
    if expires_at <= db::now() {
        return Ok(Rotation::Refused);
    }
    let Some(user) = active_user_of_session(conn, session_id)? else {
        return Ok(Rotation::Refused);
    };
    let refresh_token = issue_refresh_token(conn, session_id, ttl)?;
    Ok(Rotation::Rotated(Grant { user, session_id, refresh_token }))
}

/// Ends the session that `presented` belongs to, if it names one still
/// open, and gives the id of its user.
pub fn revoke_by_token(conn: &mut DbConnection, presented: &str) -> QueryResult<Option<Id>> {
    let session: Option<(Id, Id)> = refresh_tokens::table
        .inner_join(login_sessions::table)
        .filter(refresh_tokens::token_hash.eq(sha256_base64(presented)))
        .filter(login_sessions::revoked_at.is_null())
        .select((login_sessions::id, login_sessions::user_id))
        .first(conn)
        .optional()?;
    match session {
        Some((session_id, user_id)) => revoke(conn, session_id).map(|()| Some(user_id)),
        None => Ok(None),
    }
}

fn revoke(conn: &mut DbConnection, session_id: Id) -> QueryResult<()> {
    diesel::update(
        login_sessions::table.find(session_id).filter(login_sessions::revoked_at.is_null()),
    )
    .set(login_sessions::revoked_at.eq(db::now()))
    .execute(conn)
    .map(drop)
}

/// Ends every session of a user, but `keep` (the caller's own, when a user
/// changes their password).
pub fn revoke_all(conn: &mut DbConnection, user_id: Id, keep: Option<Id>) -> QueryResult<()> {
    let open = login_sessions::table
        .filter(login_sessions::user_id.eq(user_id))
        .filter(login_sessions::revoked_at.is_null());
    let ended = login_sessions::revoked_at.eq(db::now());
    match keep {
        Some(keep) => {
            diesel::update(open.filter(login_sessions::id.ne(keep))).set(ended).execute(conn)?
        }
        None => diesel::update(open).set(ended).execute(conn)?,
    };
    Ok(())
}

/// The user behind a live session: active, and the session not revoked.
pub fn active_user_of_session(
    conn: &mut DbConnection,
    session_id: Id,
) -> QueryResult<Option<User>> {
    live_sessions(session_id).select(users::all_columns).first(conn).optional()
}

/// Whether `user_id` holds the live session `session_id`, as an expression
/// that a read adds to its own statement: the caller is checked in the same
/// round trip as the data (see `auth::SignedIn`).
#[diesel::dsl::auto_type]
pub fn holds_live_session(session_id: Id, user_id: Id) -> _ {
    let live: live_sessions = live_sessions(session_id);
    diesel::dsl::exists(live.filter(users::id.eq(user_id)))
}

/// [`holds_live_session`], and the account still has `role` and `unit`
/// (none is a unit too): for a read whose statement the token's role and
/// unit chose (see `auth::SignedIn::live_as`).
#[diesel::dsl::auto_type]
pub fn holds_live_session_as(session_id: Id, user_id: Id, role: Role, unit: Option<Id>) -> _ {
    let live: live_sessions = live_sessions(session_id);
    let same_unit: IsNotDistinctFrom<
        users::organization_id,
        diesel::dsl::AsExprOf<Option<Id>, diesel::sql_types::Nullable<diesel::sql_types::Text>>,
    > = IsNotDistinctFrom::new(users::organization_id, unit.into_sql());
    diesel::dsl::exists(
        live.filter(users::id.eq(user_id)).filter(users::role.eq(role)).filter(same_unit),
    )
}

/// The one place that says what a live login session is.
#[diesel::dsl::auto_type]
fn live_sessions(session_id: Id) -> _ {
    login_sessions::table
        .inner_join(users::table)
        .filter(login_sessions::id.eq(session_id))
        .filter(login_sessions::revoked_at.is_null())
        .filter(users::active.eq(true))
}

fn issue_refresh_token(
    conn: &mut DbConnection,
    session_id: Id,
    ttl: Duration,
) -> QueryResult<String> {
    let token = random_token();
    let now = db::now();
    diesel::insert_into(refresh_tokens::table)
        .values((
            refresh_tokens::id.eq(Id::new()),
            refresh_tokens::login_session_id.eq(session_id),
            refresh_tokens::token_hash.eq(sha256_base64(&token)),
            refresh_tokens::expires_at.eq(now + ttl),
            refresh_tokens::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(token)
}

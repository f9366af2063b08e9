//! One export at a time per caller, across every server (an export holds a
//! database connection for as long as its client reads). A caller's turn is
//! a row of `export_turns` with a lease: the server running the export
//! renews it ([`ExportTurns::renew`]) and deletes it at the end, and a turn
//! whose server died is free once its lease has run out.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::TimeDelta;
use diesel::prelude::*;

use crate::db::schema::export_turns;
use crate::db::{self, Db, DbConnection};
use crate::id::Id;
use crate::on_own_connection;

/// How long a turn lasts without being renewed.
const LEASE: TimeDelta = TimeDelta::minutes(2);
/// How often the running server renews its turns: a few times a lease, so
/// that a late renewal never lets a turn lapse.
pub const RENEW_EVERY: Duration = Duration::from_secs(30);

/// The turns this server runs now: caller and claim.
#[derive(Clone, Default)]
pub struct ExportTurns(Arc<parking_lot::Mutex<HashMap<Id, Id>>>);

/// A caller's export in progress. [`ExportTurn::end`] frees it on the
/// export's own connection; a turn dropped without that (a refusal after
/// it was taken, a client gone, a failure) is freed on a connection of its
/// own, or else lapses.
pub struct ExportTurn {
    running: ExportTurns,
    db: Db,
    caller: Id,
    claim: Id,
    ended: bool,
}

impl ExportTurns {
    /// The caller's turn, or none while an export of theirs runs on any
    /// server.
    pub fn begin(
        &self,
        db: &Db,
        conn: &mut DbConnection,
        caller: Id,
    ) -> QueryResult<Option<ExportTurn>> {
        let now = db::now();
        let claim = Id::new();
        diesel::delete(export_turns::table.find(caller))
            .filter(export_turns::expires_at.le(now))
            .execute(conn)?;
        let inserted = on_own_connection!(conn, |c| diesel::insert_into(export_turns::table)
            .values((
                export_turns::caller_id.eq(caller),
                export_turns::claim.eq(claim),
                export_turns::expires_at.eq(now + LEASE),
            ))
            .on_conflict_do_nothing()
            .execute(c)?);
        if inserted == 0 {
            return Ok(None);
        }
        self.0.lock().insert(caller, claim);
        Ok(Some(ExportTurn { running: self.clone(), db: db.clone(), caller, claim, ended: false }))
    }

    /// Extends the lease of every turn this server runs; one that fails
    /// is logged and the others are still renewed.
    pub fn renew(&self, conn: &mut DbConnection) {
        let running: Vec<(Id, Id)> = self.0.lock().iter().map(|(a, b)| (*a, *b)).collect();
        let expires_at = db::now() + LEASE;
        for (caller, claim) in running {
            let renewed = diesel::update(export_turns::table.find(caller))
                .filter(export_turns::claim.eq(claim))
                .set(export_turns::expires_at.eq(expires_at))
                .execute(conn);
            if let Err(err) = renewed {
                tracing::warn!(error = %err, "an export turn not renewed");
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.lock().is_empty()
    }

    /// Renews this server's turns every [`RENEW_EVERY`], for as long as
    /// the server runs.
    pub async fn keep_renewing(self, db: Db) {
        let mut ticks = tokio::time::interval(RENEW_EVERY);
        loop {
            ticks.tick().await;
            if self.is_empty() {
                continue;
            }
            let turns = self.clone();
            let renewed = db
                .run(move |conn| {
                    turns.renew(conn);
                    Ok(())
                })
                .await;
            if let Err(err) = renewed {
                tracing::warn!(error = %err, "export turns not renewed");
            }
        }
    }
}

impl ExportTurn {
    /// Frees the caller's turn.
    pub fn end(mut self, conn: &mut DbConnection) {
        self.ended = delete(conn, self.caller, self.claim);
    }
}

/// Deletes a turn; false (it will lapse) when the database fails.
fn delete(conn: &mut DbConnection, caller: Id, claim: Id) -> bool {
    let deleted = diesel::delete(export_turns::table.find(caller))
        .filter(export_turns::claim.eq(claim))
        .execute(conn);
    if let Err(err) = &deleted {
        tracing::warn!(error = %err, "an export turn left to lapse");
    }
    deleted.is_ok()
}

impl Drop for ExportTurn {
    fn drop(&mut self) {
        let (caller, claim) = (self.caller, self.claim);
        {
            let mut running = self.running.0.lock();
            // A later turn of the same caller's is not this one's to drop.
            if running.get(&caller) == Some(&claim) {
                running.remove(&caller);
            }
        }
        if self.ended {
            return;
        }
        let db = self.db.clone();
        let free = move || {
            if let Ok(mut conn) = db.get() {
                delete(&mut conn, caller, claim);
            }
        };
        // Dropped on a runtime (always, in the server): freed off its
        // threads, which must not wait on the database.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn_blocking(free);
        }
    }
}

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

/// A caller's export in progress. [`ExportTurn::end`] frees it; a turn
/// dropped without that (a panic) stops being renewed and lapses.
pub struct ExportTurn {
    running: ExportTurns,
    caller: Id,
    claim: Id,
}

impl ExportTurns {
    /// The caller's turn, or none while an export of theirs runs on any
    /// server.
    pub fn begin(&self, conn: &mut DbConnection, caller: Id) -> QueryResult<Option<ExportTurn>> {
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
        Ok(Some(ExportTurn { running: self.clone(), caller, claim }))
    }

    /// Extends the lease of every turn this server runs.
    pub fn renew(&self, conn: &mut DbConnection) -> QueryResult<()> {
        let running: Vec<(Id, Id)> = self.0.lock().iter().map(|(a, b)| (*a, *b)).collect();
        let expires_at = db::now() + LEASE;
        for (caller, claim) in running {
            diesel::update(export_turns::table.find(caller))
                .filter(export_turns::claim.eq(claim))
                .set(export_turns::expires_at.eq(expires_at))
                .execute(conn)?;
        }
        Ok(())
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
            if let Err(err) = db.run(move |conn| Ok(turns.renew(conn)?)).await {
                tracing::warn!(error = %err, "export turns not renewed");
            }
        }
    }
}

impl ExportTurn {
    /// Frees the caller's turn.
    pub fn end(self, conn: &mut DbConnection) {
        let ended = diesel::delete(export_turns::table.find(self.caller))
            .filter(export_turns::claim.eq(self.claim))
            .execute(conn);
        if let Err(err) = ended {
            tracing::warn!(error = %err, "export turn left to lapse");
        }
    }
}

impl Drop for ExportTurn {
    fn drop(&mut self) {
        self.running.0.lock().remove(&self.caller);
    }
}

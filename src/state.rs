//! What every handler can reach, through `web::Data<AppState>`.

use std::sync::Arc;

use tokio::sync::Semaphore;

use crate::auth::password::Passwords;
use crate::auth::token::AccessTokens;
use crate::config::Config;
use crate::db::Db;
use crate::reports::cache::StatsCache;
use crate::reports::export_turns::ExportTurns;

pub struct AppState {
    pub db: Db,
    pub passwords: Passwords,
    pub tokens: AccessTokens,
    pub config: Config,
    /// How many exports may stream at once (see `reports::api`).
    pub export_slots: Arc<Semaphore>,
    /// The key that `Idempotency-Key` digests requests under.
    pub idempotency_secret: Vec<u8>,
    /// How many slots `export_slots` started with.
    pub export_slots_total: usize,

    /// The exports this server runs: one at a time per caller, on any
    /// server.
    pub export_turns: ExportTurns,
    /// The PostgreSQL database that CSV exports are copied from with
    /// `COPY` (`reports::export::copy_csv`); none on SQLite, or when
    /// PostgreSQL shows times in the configured zone otherwise than lophoc.
    pub export_copy_url: Option<String>,
    /// The statistics asked for lately, while nothing changes.
    pub stats_cache: Arc<StatsCache>,
}

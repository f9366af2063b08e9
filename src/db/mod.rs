//! The database: one connection type over SQLite and PostgreSQL, its pool,
//! migrations, and the helpers that keep every query off the actix workers.

pub mod pg_copy;
pub mod schema;
pub mod settings;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use actix_web::web;
use chrono::{NaiveDateTime, SubsecRound, Utc};
use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::prelude::*;
use diesel::r2d2::{self, ManageConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use scheduled_thread_pool::{OnPoolDropBehavior, ScheduledThreadPool};
use tokio::sync::OwnedSemaphorePermit;

use crate::error::AppError;
use crate::id::Id;

#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgresql(diesel::PgConnection),
    Sqlite(diesel::SqliteConnection),
}

/// Runs `$body` with `$c` bound to the backend's own connection, for the
/// reads that requests make most: `$body` is a query whose type does not
/// depend on the backend (columns selected, not `as_select()`). Through
/// the `DbConnection` wrapper diesel writes a query's whole SQL out again on
/// each of its passes over it (finding the prepared statement, collecting
/// the parameters): for one session, more CPU than all the rest of the
/// request.
#[macro_export]
macro_rules! on_own_connection {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::db::DbConnection::Postgresql($c) => $body,
            $crate::db::DbConnection::Sqlite($c) => $body,
        }
    };
}

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

// `a IS NOT DISTINCT FROM b`: equal, or both null. Spelled alike on both
// backends (SQLite since 3.39; the bundled one is newer).
diesel::infix_operator!(IsNotDistinctFrom, " IS NOT DISTINCT FROM ");

/// Arbitrary constant naming the PostgreSQL advisory lock that serialises
/// migrations when several API servers start at once.
const MIGRATION_LOCK_KEY: i64 = 0x6c6f_7068_6f63;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Where the database is. The backend is decided from the URL's scheme here,
/// never by trying backends in turn: SQLite would accept a mistyped
/// PostgreSQL URL as a file name and silently create that file.
#[derive(Clone)]
pub struct DatabaseUrl {
    backend: Backend,
    target: String,
}

impl DatabaseUrl {
    pub fn parse(url: &str) -> Self {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Self { backend: Backend::Postgres, target: url.to_owned() };
        }
        let path =
            url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")).unwrap_or(url);
        Self { backend: Backend::Sqlite, target: path.to_owned() }
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The file of a SQLite database (none in memory), also when the URL
    /// is SQLite's URI form (`file:lophoc.db?mode=rwc`).
    pub fn sqlite_file(&self) -> Option<&str> {
        let in_memory = self.target == ":memory:" || self.target.contains("mode=memory");
        if self.backend != Backend::Sqlite || in_memory {
            return None;
        }
        match self.target.strip_prefix("file:") {
            Some(uri) => uri.split('?').next().filter(|path| !path.is_empty()),
            None => Some(self.target.as_str()),
        }
    }

    /// The URL of a PostgreSQL database, for a connection outside the pool
    /// (an export's `COPY`, see [`pg_copy`]).
    pub fn postgres_url(&self) -> Option<&str> {
        (self.backend == Backend::Postgres).then_some(self.target.as_str())
    }
}

/// Shows the URL without its password, so that it can be logged.
impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.backend {
            Backend::Sqlite => write!(f, "sqlite://{}", self.target),
            Backend::Postgres => {
                // A password may also come as `?password=`: show no query.
                let without_query = self.target.split('?').next().unwrap_or("");
                let (scheme, rest) = without_query.split_once("://").unwrap_or(("postgres", ""));
                match rest.rsplit_once('@') {
                    Some((_credentials, host)) => write!(f, "{scheme}://***@{host}"),
                    None => write!(f, "{scheme}://{rest}"),
                }
            }
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Makes a SQLite database readable and writable by the server's user
/// only: it holds personal data of minors and, without
/// `LOPHOC_JWT_SECRET`, the secret that signs tokens. A new file is created
/// so before SQLite opens it (SQLite gives its WAL and shared-memory files
/// the database file's mode); a file that others could read, made by an
/// earlier version or by hand, is narrowed, and the log says so.
#[cfg(unix)]
pub fn keep_private(url: &DatabaseUrl) -> std::io::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let Some(path) = url.sqlite_file() else {
        return Ok(());
    };
    std::fs::OpenOptions::new().append(true).create(true).mode(0o600).open(path)?;
    for file in [path.to_owned(), format!("{path}-wal"), format!("{path}-shm")] {
        let Ok(meta) = std::fs::metadata(&file) else { continue };
        if meta.permissions().mode() & 0o077 != 0 {
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))?;
            tracing::warn!(
                file,
                "others could read this database file: it is now the server's only"
            );
        }
    }
    Ok(())
}

/// Copies a live SQLite database to a new file at `target`, consistent as
/// of one moment while the server goes on writing (`VACUUM INTO` reads one
/// snapshot), and readable by this user only. PostgreSQL has `pg_dump`.
pub fn backup(url: &DatabaseUrl, target: &str) -> Result<(), String> {
    let Some(source) = url.sqlite_file() else {
        return Err("lophoc backup copies a SQLite database; back up PostgreSQL with pg_dump \
                    (see the README)"
            .into());
    };
    if !std::path::Path::new(source).is_file() {
        return Err(format!("there is no database at {source}"));
    }
    // A new file only: a backup never overwrites one, and SQLite writes
    // into an empty file made with the right mode.
    let mut new_file = std::fs::OpenOptions::new();
    new_file.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut new_file, 0o600);
    new_file.open(target).map_err(|err| format!("cannot create {target}: {err}"))?;
    let copied = diesel::SqliteConnection::establish(source)
        .map_err(|err| err.to_string())
        .and_then(|mut conn| {
            conn.batch_execute(&format!(
                "PRAGMA busy_timeout = {}",
                SQLITE_BUSY_TIMEOUT.as_millis()
            ))
            .and_then(|()| {
                diesel::sql_query("VACUUM INTO ?")
                    .bind::<diesel::sql_types::Text, _>(target)
                    .execute(&mut conn)
            })
            .map_err(|err| err.to_string())
        });
    copied.map_err(|err| {
        let _ = std::fs::remove_file(target);
        format!("copying {source} to {target} failed: {err}")
    })?;
    Ok(())
}

/// r2d2 manager that opens the backend named by the URL and prepares each
/// new SQLite connection.
pub struct ConnectionManager {
    url: DatabaseUrl,
}

impl ManageConnection for ConnectionManager {
    type Connection = DbConnection;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<DbConnection, r2d2::Error> {
        match self.url.backend {
            Backend::Postgres => diesel::PgConnection::establish(&self.url.target)
                .map(DbConnection::Postgresql)
                .map_err(r2d2::Error::ConnectionError),
            Backend::Sqlite => {
                let mut conn = diesel::SqliteConnection::establish(&self.url.target)
                    .map_err(r2d2::Error::ConnectionError)?;
                // busy_timeout comes first so that switching to WAL already
                // waits for a concurrent opener instead of failing.
                conn.batch_execute(&format!(
                    "PRAGMA busy_timeout = {};
                     PRAGMA journal_mode = WAL;
                     PRAGMA synchronous = NORMAL;
                     PRAGMA foreign_keys = ON;",
                    SQLITE_BUSY_TIMEOUT.as_millis()
                ))
                .map_err(r2d2::Error::QueryError)?;
                Ok(DbConnection::Sqlite(conn))
            }
        }
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), r2d2::Error> {
        conn.batch_execute("SELECT 1").map_err(r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        std::thread::panicking() || r2d2::R2D2Connection::is_broken(conn)
    }
}

type Pool = r2d2::Pool<ConnectionManager>;
type PooledConnection = r2d2::PooledConnection<ConnectionManager>;

/// A connection from the pool, or 503 when none frees up in time.
fn check_out(pool: &Pool, outage: &Outage) -> Result<PooledConnection, AppError> {
    match pool.get_timeout(outage.wait()) {
        Ok(conn) => {
            outage.ended();
            Ok(conn)
        }
        Err(err) => {
            outage.began();
            tracing::error!(error = %err, "no database connection available");
            Err(AppError::ServiceUnavailable { retry_after_secs: 5 })
        }
    }
}

/// The pool's connections: in use, idle, and how many it may hold.
pub struct PoolUse {
    pub in_use: u32,
    pub idle: u32,
    pub max: u32,
}

/// How long a request waits for its turn at the database before its `503`:
/// the time a burst of requests may queue behind each other.
const CONNECTION_WAIT: Duration = Duration::from_secs(10);
/// How long a request that has its turn waits for the pool to give it a
/// connection. A turn means a connection is free or may be opened, so
/// waiting longer means the database does not answer.
const CONNECT_WAIT: Duration = Duration::from_secs(2);
/// Once the database has not answered, requests for this long after try
/// only [`RECHECK_WAIT`]: a burst of them all answers `503` together, not
/// each after the one before it. One that gets through ends the outage.
const OUTAGE_MEMORY: Duration = Duration::from_secs(5);
const RECHECK_WAIT: Duration = Duration::from_millis(250);

/// When the pool last failed to give a connection, while that lasts.
#[derive(Clone, Default)]
struct Outage(Arc<parking_lot::Mutex<Option<std::time::Instant>>>);

impl Outage {
    fn wait(&self) -> Duration {
        match *self.0.lock() {
            Some(since) if since.elapsed() < OUTAGE_MEMORY => RECHECK_WAIT,
            _ => CONNECT_WAIT,
        }
    }

    fn began(&self) {
        *self.0.lock() = Some(std::time::Instant::now());
    }

    fn ended(&self) {
        let mut last = self.0.lock();
        if last.is_some() {
            *last = None;
        }
    }
}

/// The handle that request handlers use: a pool plus the blocking-pool
/// plumbing, so that no diesel call ever runs on an actix worker thread.
#[derive(Clone)]
pub struct Db {
    pool: Pool,
    backend: Backend,
    /// One permit per pooled connection: requests wait for their turn here,
    /// first come first served, and only then take a blocking thread. When
    /// they waited in the pool instead, each held a thread, and the pool
    /// woke them in no order: a few waited many times as long as the rest.
    /// An export's connection ([`Db::connection`]) holds a turn too.
    turns: Arc<tokio::sync::Semaphore>,
    outage: Outage,
}

impl Db {
    pub fn connect(url: &DatabaseUrl, max_connections: u32) -> Result<Self, r2d2::PoolError> {
        // r2d2's own helper threads would outlive a dropped pool until its
        // next 30-second reaping; these leave with it.
        let helpers = ScheduledThreadPool::builder()
            .num_threads(2)
            .thread_name_pattern("lophoc-db-{}")
            .on_drop_behavior(OnPoolDropBehavior::DiscardPendingScheduled)
            .build();
        let pool = r2d2::Pool::builder()
            .max_size(max_connections)
            // No `SELECT 1` before each use: it was a round trip per request.
            // A connection found dead by a request answers it `503` (see
            // `AppError`'s `From<diesel::result::Error>`) and leaves the pool
            // then: diesel marks it broken, which `has_broken` reports.
            .test_on_check_out(false)
            .connection_timeout(CONNECT_WAIT)
            .thread_pool(Arc::new(helpers))
            .build(ConnectionManager { url: url.clone() })?;
        let turns = Arc::new(tokio::sync::Semaphore::new(max_connections as usize));
        Ok(Self { pool, backend: url.backend, turns, outage: Outage::default() })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Runs `work` with a pooled connection on the blocking pool.
    pub async fn run<T, F>(&self, work: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        let turn = self.turn().await?;
        let (pool, outage) = (self.pool.clone(), self.outage.clone());
        // The request's span, so that lines logged by `work` name the request.
        let span = tracing::Span::current();
        web::block(move || {
            let _turn = turn;
            span.in_scope(|| work(&mut *check_out(&pool, &outage)?))
        })
        .await
        .map_err(|err| AppError::internal("blocking task failed", err))?
    }

    /// Waits for a turn at the database ([`Db::turns`]), or `503` when
    /// none comes within [`CONNECTION_WAIT`].
    async fn turn(&self) -> Result<OwnedSemaphorePermit, AppError> {
        let turn = tokio::time::timeout(CONNECTION_WAIT, self.turns.clone().acquire_owned()).await;
        match turn {
            Ok(Ok(turn)) => Ok(turn),
            // The semaphore is never closed: only the wait can end it.
            Ok(Err(_)) | Err(_) => {
                tracing::error!("no database connection available");
                Err(AppError::ServiceUnavailable { retry_after_secs: 5 })
            }
        }
    }

    /// A pooled connection with its turn, taken on the blocking pool, for
    /// work that runs longer than one call (a streamed export) on a thread
    /// of its own. Dropping it gives back both.
    pub async fn connection(&self) -> Result<HeldConnection, AppError> {
        let turn = self.turn().await?;
        let (pool, outage) = (self.pool.clone(), self.outage.clone());
        let conn = web::block(move || check_out(&pool, &outage))
            .await
            .map_err(|err| AppError::internal("blocking task failed", err))??;
        Ok(HeldConnection { conn, _turn: turn })
    }

    /// Runs `work` inside a write transaction (see [`write_transaction`]).
    pub async fn write<T, F>(&self, work: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        self.run(move |conn| write_transaction(conn, work)).await
    }

    /// Runs `work` inside a read-only transaction that sees one snapshot
    /// (see [`snapshot_transaction`]).
    pub async fn snapshot<T, F>(&self, work: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        self.run(move |conn| snapshot_transaction(conn, work)).await
    }

    /// How the pool's connections are used now (for `/metrics`).
    pub fn pool_use(&self) -> PoolUse {
        let state = self.pool.state();
        PoolUse {
            in_use: state.connections - state.idle_connections,
            idle: state.idle_connections,
            max: self.pool.max_size(),
        }
    }

    /// Runs blocking start-up work (migrations, bootstrap) on a connection.
    pub fn get(&self) -> Result<PooledConnection, r2d2::PoolError> {
        self.pool.get()
    }
}

/// A pooled connection held beyond one call, with its turn at the database.
pub struct HeldConnection {
    conn: PooledConnection,
    _turn: OwnedSemaphorePermit,
}

impl std::ops::Deref for HeldConnection {
    type Target = DbConnection;

    fn deref(&self) -> &DbConnection {
        &self.conn
    }
}

impl std::ops::DerefMut for HeldConnection {
    fn deref_mut(&mut self) -> &mut DbConnection {
        &mut self.conn
    }
}

/// Tells whether anything was committed to the database since an earlier
/// look, for figures worth keeping while nothing changes (see
/// `reports::cache`). It reads what the database already keeps, so that no
/// write waits on a shared counter:
///
/// - PostgreSQL: the current snapshot (`xmin:xmax:running ids`). A
///   transaction that writes takes an id, which moves `xmax`, and its end
///   changes the list of running ids: two equal snapshots mean no write
///   began or ended in between, in this database or another of the server.
/// - SQLite: `PRAGMA data_version` of a connection kept for this alone. It
///   changes whenever another connection, of any process, commits; this one
///   never writes.
pub struct CommitWatch {
    sqlite: Option<std::sync::Mutex<diesel::SqliteConnection>>,
}

/// What [`CommitWatch::mark`] saw: equal marks, nothing committed between.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommitMark(String);

#[derive(QueryableByName)]
struct SnapshotRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    snapshot: String,
}

#[derive(QueryableByName)]
struct DataVersionRow {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    data_version: i64,
}

impl CommitWatch {
    pub fn open(url: &DatabaseUrl) -> Result<Self, ConnectionError> {
        let sqlite = match url.backend {
            Backend::Postgres => None,
            Backend::Sqlite => {
                let mut watcher = diesel::SqliteConnection::establish(&url.target)?;
                watcher
                    .batch_execute(&format!(
                        "PRAGMA busy_timeout = {}",
                        SQLITE_BUSY_TIMEOUT.as_millis()
                    ))
                    .map_err(|err| ConnectionError::BadConnection(err.to_string()))?;
                Some(std::sync::Mutex::new(watcher))
            }
        };
        Ok(Self { sqlite })
    }

    /// Where the database stands now; `conn` serves PostgreSQL.
    pub fn mark(&self, conn: &mut DbConnection) -> Result<CommitMark, AppError> {
        let mark = match (&self.sqlite, conn) {
            (Some(watcher), _) => {
                // The connection holds no state a panic could leave broken.
                let mut watcher = watcher.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                let row: DataVersionRow =
                    diesel::sql_query("PRAGMA data_version").get_result(&mut *watcher)?;
                row.data_version.to_string()
            }
            (None, conn) => {
                let row: SnapshotRow =
                    diesel::sql_query("SELECT CAST(pg_current_snapshot() AS TEXT) AS snapshot")
                        .get_result(conn)?;
                row.snapshot
            }
        };
        Ok(CommitMark(mark))
    }
}

/// The turn of this process's SQLite writers (see [`write_transaction`]).
/// One per process, not per file: only tests open several files at once.
/// A write transaction must not open another one on a second connection:
/// it would wait for its own turn.
static SQLITE_WRITER: parking_lot::Mutex<()> = parking_lot::Mutex::new(());

/// How long an SQLite connection waits for another's write lock.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// A transaction for work that reads and then writes. On SQLite it begins
/// IMMEDIATE, taking the write lock up front, so that concurrent writers
/// queue on `busy_timeout` instead of failing with "database is locked"
/// when a deferred read lock cannot be upgraded. PostgreSQL begins as usual.
pub fn write_transaction<T, E, F>(conn: &mut DbConnection, work: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    type Manager = <DbConnection as Connection>::TransactionManager;
    // Inside another write transaction, join it: SQLite cannot nest BEGIN,
    // and a PostgreSQL savepoint would make the backends behave apart.
    let depth = Manager::transaction_manager_status_mut(conn).transaction_depth()?;
    if depth.is_some() {
        return work(conn);
    }
    // SQLite lets one writer in at a time and makes the others poll, asleep
    // for up to 100 ms between tries: under a queue of writers most of the
    // wait was sleep. Writers of this process queue on a lock instead and
    // start as soon as the one before them ends; other processes (a demo
    // load) still meet `busy_timeout`.
    let _turn = match conn {
        DbConnection::Sqlite(inner) => {
            // As long as SQLite itself would wait: past it, the same answer
            // as a busy database (503), not a queue without end behind a
            // writer that another process holds up.
            let turn = SQLITE_WRITER.try_lock_for(SQLITE_BUSY_TIMEOUT).ok_or_else(|| {
                diesel::result::Error::DatabaseError(
                    diesel::result::DatabaseErrorKind::Unknown,
                    Box::new(String::from("database is locked: no turn to write in time")),
                )
            })?;
            AnsiTransactionManager::begin_transaction_sql(inner, "BEGIN IMMEDIATE")?;
            Some(turn)
        }
        DbConnection::Postgresql(_) => {
            Manager::begin_transaction(conn)?;
            None
        }
    };
    match work(conn) {
        Ok(value) => {
            Manager::commit_transaction(conn).map_err(outcome_unknown)?;
            Ok(value)
        }
        Err(err) => {
            if let Err(rollback) = Manager::rollback_transaction(conn) {
                tracing::error!(error = %rollback, "rollback failed");
            }
            Err(err)
        }
    }
}

/// A transaction for reads that must agree with each other, and with the
/// [`change_clock`] read in it: on PostgreSQL REPEATABLE READ, READ
/// ONLY, whose every statement sees the snapshot of its first; on SQLite a
/// deferred transaction, which in WAL mode reads one snapshot from its
/// first read on and writes nothing.
pub fn snapshot_transaction<T, E, F>(conn: &mut DbConnection, work: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    type Manager = <DbConnection as Connection>::TransactionManager;
    match conn {
        DbConnection::Sqlite(inner) => {
            AnsiTransactionManager::begin_transaction_sql(inner, "BEGIN")?
        }
        DbConnection::Postgresql(inner) => AnsiTransactionManager::begin_transaction_sql(
            inner,
            "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
        )?,
    }
    let outcome = work(conn);
    // Nothing was written: rolling back only lets the snapshot go.
    Manager::rollback_transaction(conn)?;
    outcome
}

/// Where the changes stand for the snapshot of the transaction it is read
/// in (see [`snapshot_transaction`]), by the `sync_position` that the
/// roster triggers give each row they stamp.
#[derive(Clone, Copy, Debug)]
pub struct ChangeClock {
    /// Every row stamped below it is committed and seen by the snapshot;
    /// rows written later, or by transactions still running, are stamped
    /// at or above it. On PostgreSQL the oldest transaction the snapshot
    /// counts as running (any database's: a long transaction anywhere in
    /// the cluster holds it back, so that more rows come again, never
    /// fewer); on SQLite one past the counter the triggers bump.
    pub seen_below: i64,
    /// No row is stamped at or above it yet: a position beyond it was
    /// given by another database, or by this one before a restore.
    pub next: i64,
}

pub fn change_clock(conn: &mut DbConnection) -> QueryResult<ChangeClock> {
    #[derive(QueryableByName)]
    struct Clock {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        seen_below: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        next: i64,
    }
    let clock: Clock = match conn {
        DbConnection::Sqlite(inner) => diesel::sql_query(
            "SELECT position + 1 AS seen_below, position + 1 AS next FROM sync_clock",
        )
        .get_result(inner)?,
        DbConnection::Postgresql(inner) => diesel::sql_query(
            "SELECT pg_snapshot_xmin(s)::text::bigint AS seen_below, \
                    pg_snapshot_xmax(s)::text::bigint AS next \
             FROM pg_current_snapshot() AS s",
        )
        .get_result(inner)?,
    };
    Ok(ChangeClock { seen_below: clock.seen_below, next: clock.next })
}

/// A connection lost while committing leaves the outcome unknown: the
/// write may have been saved. That must not answer like a lost connection
/// elsewhere (503, try again), which would invite a second create.
fn outcome_unknown(err: diesel::result::Error) -> diesel::result::Error {
    if !crate::error::is_connection_lost(&err) {
        return err;
    }
    diesel::result::Error::DatabaseError(
        diesel::result::DatabaseErrorKind::Unknown,
        Box::new(format!("the connection was lost while committing: {err}")),
    )
}

/// Brings the schema up to date. On PostgreSQL an advisory lock keeps two
/// servers starting together from migrating at the same time.
pub fn run_migrations(
    conn: &mut DbConnection,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    match conn {
        DbConnection::Sqlite(inner) => {
            inner.run_pending_migrations(SQLITE_MIGRATIONS)?;
        }
        DbConnection::Postgresql(inner) => {
            inner.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})"))?;
            let migrated = inner.run_pending_migrations(POSTGRES_MIGRATIONS).map(|_| ());
            inner.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})"))?;
            migrated?;
        }
    }
    Ok(())
}

/// The current time as stored: UTC, truncated to the microseconds that
/// PostgreSQL keeps, so that both backends give back what was written.
pub fn now() -> NaiveDateTime {
    Utc::now().naive_utc().trunc_subsecs(6)
}

/// Whether a diesel error is a unique-constraint violation (a lost race on
/// an insert that a prior read said was free).
pub fn is_unique_violation(err: &diesel::result::Error) -> bool {
    matches!(
        err,
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)
    )
}

/// Named locks for transactions that must not interleave with each other
/// even where no row lock covers them (a rule over several rows).
#[derive(Clone, Copy, Debug)]
pub enum LockKey {
    /// Changes that could leave no active admin.
    Admins = 1,
    /// Checking and counting login attempts.
    LoginThrottle = 2,
    /// Changes to which unit sits under which, checked for loops.
    UnitTree = 3,
    /// Changes to who is whose guardian, checked for loops.
    Guardians = 4,
    /// Loading the demo data.
    Demo = 5,
    /// Rewriting sessions' local days at start-up.
    LocalDays = 6,
    /// Checking and counting wrong device pairing codes.
    DevicePairing = 7,
}

/// Serialises this transaction with every other one taking the same key.
/// SQLite needs nothing: its IMMEDIATE write transactions already run one
/// at a time. On PostgreSQL a transaction-scoped advisory lock does it.
pub fn serialize_with_others(conn: &mut DbConnection, key: LockKey) -> QueryResult<()> {
    match conn {
        DbConnection::Sqlite(_) => Ok(()),
        DbConnection::Postgresql(inner) => {
            inner.batch_execute(&format!("SELECT pg_advisory_xact_lock({})", key as i64))
        }
    }
}

/// The tables whose rows [`lock_row`] locks.
#[derive(Clone, Copy, Debug)]
pub enum Table {
    Users,
    Organizations,
    Participants,
    Programmes,
    Courses,
    Sessions,
}

impl Table {
    fn name(self) -> &'static str {
        match self {
            Self::Users => "users",
            Self::Organizations => "organizations",
            Self::Participants => "participants",
            Self::Programmes => "programmes",
            Self::Courses => "courses",
            Self::Sessions => "sessions",
        }
    }
}

/// Locks one row of `table` (by `id`) until the transaction ends, so that
/// a read-check-write on it cannot interleave with another writer's: on
/// PostgreSQL with `SELECT … FOR UPDATE`; SQLite needs nothing, its
/// IMMEDIATE write transactions already run one at a time. Call before
/// reading the row that the write is based on.
pub fn lock_row(conn: &mut DbConnection, table: Table, id: Id) -> QueryResult<()> {
    match conn {
        DbConnection::Sqlite(_) => Ok(()),
        DbConnection::Postgresql(inner) => {
            let table = table.name();
            diesel::sql_query(format!("SELECT 1 FROM {table} WHERE id = $1 FOR UPDATE"))
                .bind::<diesel::sql_types::Text, _>(id)
                .execute(inner)
                .map(drop)
        }
    }
}

/// The backend type of [`DbConnection`], for boxed queries built in one
/// place and run on either database.
pub type DbBackend = <DbConnection as Connection>::Backend;

// MultiConnection hands each value to the backend in use, which has its own
// implementation (see `crate::id`).
impl diesel::serialize::ToSql<diesel::sql_types::Text, DbBackend> for Id {
    fn to_sql<'b>(
        &'b self,
        out: &mut diesel::serialize::Output<'b, '_, DbBackend>,
    ) -> diesel::serialize::Result {
        out.set_value((diesel::sql_types::Text, self));
        Ok(diesel::serialize::IsNull::No)
    }
}

/// A list stored in one TEXT column, one item per line. Items never hold a
/// line break: list items are checked with `Validator::text`, which refuses
/// control characters.
pub fn join_lines<T: AsRef<str>>(items: &[T]) -> String {
    items.iter().map(AsRef::as_ref).collect::<Vec<_>>().join("\n")
}

/// The items of a list stored by [`join_lines`].
pub fn split_lines(text: &str) -> Vec<&str> {
    if text.is_empty() { Vec::new() } else { text.split('\n').collect() }
}

#[cfg(test)]
mod tests {
    use super::DatabaseUrl;

    #[test]
    fn a_sqlite_url_names_its_file_in_every_form() {
        let file = |url: &str| DatabaseUrl::parse(url).sqlite_file().map(str::to_owned);
        assert_eq!(file("lophoc.db").as_deref(), Some("lophoc.db"));
        assert_eq!(file("sqlite:///var/lib/lophoc.db").as_deref(), Some("/var/lib/lophoc.db"));
        assert_eq!(file("sqlite:file:/var/lib/x.db?mode=rwc").as_deref(), Some("/var/lib/x.db"));
        assert_eq!(file(":memory:"), None);
        assert_eq!(file("postgres://db/lophoc"), None);
    }
}

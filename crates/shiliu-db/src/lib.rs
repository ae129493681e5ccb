//! Shiliu's database layer: one schema and one query path for `SQLite` and `PostgreSQL`.
//!
//! Queries are written once with Diesel against [`DbConnection`], a `MultiConnection` over both
//! engines; engine-specific SQL lives only in the migrations and in small blocks marked
//! `// engine-specific:`. Every query that lists or fetches scoped data takes a
//! [`scope::Scope`]; every write takes an [`scope::Actor`] and appends to the audit log in the
//! same transaction ([`audit::record`]).

pub mod accounts;
pub mod activities;
pub mod audit;
pub mod batch;
pub mod casework;
pub mod councils;
pub mod dashboard;
pub mod error;
pub mod evaluation;
pub mod ids;
pub mod messages;
pub mod org;
pub mod refdata;
pub mod registry;
pub mod requests;
pub mod schema;
pub mod scope;
pub mod tasks;
#[cfg(feature = "testing")]
pub mod testing;
mod versioned;
mod writer;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

pub use error::DbError;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// A connection to either engine. Build it through [`Db::connect`], never by
/// `Connection::establish` on the enum, which would guess the engine from the URL.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgres(diesel::PgConnection),
    Sqlite(diesel::SqliteConnection),
}

/// Run one Diesel query on the concrete connection, for the few statements outside
/// `MultiBackend`'s common subset (multi-row `INSERT … VALUES`). The query is still written once.
#[macro_export]
macro_rules! on_engine {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::DbConnection::Sqlite($c) => $body,
            $crate::DbConnection::Postgres($c) => $body,
        }
    };
}

/// Write many new rows of one table (`$rows`: a slice of `Insertable` rows), in the caller's
/// transaction: on `PostgreSQL` as one binary `COPY … FROM STDIN`; on `SQLite` as one prepared
/// single-row INSERT a row — a multi-row INSERT inside a transaction first copies every page
/// it touches into a statement journal (in case it fails halfway), which cost a sixth of a
/// bulk load's time (docs/PERFORMANCE.md). Evaluates to `Result<(), DbError>`.
#[macro_export]
macro_rules! insert_many {
    ($conn:expr, $table:expr, $rows:expr) => {{
        use diesel::RunQueryDsl as _;
        let rows = $rows;
        match $conn {
            $crate::DbConnection::Sqlite(c) => rows
                .iter()
                .try_for_each(|row| {
                    diesel::insert_into($table)
                        .values(row)
                        .execute(c)
                        .map(|_| ())
                })
                .map_err($crate::DbError::from),
            // engine-specific: COPY is PostgreSQL's bulk path; the same rows as INSERTs run at
            // a fraction of its rate.
            $crate::DbConnection::Postgres(c) => diesel::copy_from($table)
                .from_insertable(rows)
                .execute(c)
                .map(|_| ())
                .map_err($crate::DbError::from),
        }
    }};
}

/// Run `f` in a transaction (a savepoint, inside another), committed, or with `commit` false
/// rolled back whatever happened (a dry run that exercises every rule a real run would).
fn run_transaction<T, F>(c: &mut DbConnection, f: F, commit: bool) -> Result<T, DbError>
where
    F: FnOnce(&mut DbConnection) -> Result<T, DbError>,
{
    /// Carries the result out of a transaction that must roll back.
    enum Outcome<T> {
        RolledBack(T),
        Failed(DbError),
    }
    impl<T> From<diesel::result::Error> for Outcome<T> {
        fn from(e: diesel::result::Error) -> Self {
            Outcome::Failed(e.into())
        }
    }
    if commit {
        return write_transaction(c, f);
    }
    match write_transaction(c, |c| {
        Err::<(), _>(f(c).map_or_else(Outcome::Failed, Outcome::RolledBack))
    }) {
        Err(Outcome::RolledBack(v)) => Ok(v),
        Err(Outcome::Failed(e)) => Err(e),
        Ok(()) => unreachable!("the closure always returns Err"),
    }
}

/// `conn.transaction(f)`, except that an outermost `SQLite` transaction takes the write lock at
/// its start (`BEGIN IMMEDIATE`), waiting for it if need be. A deferred one that read first
/// would be refused at its first write ("database is locked", at once, not after waiting) if
/// another connection had written since it read: another process (`shiliu user add` beside a
/// running server), or a reader touching a session's last use.
pub(crate) fn write_transaction<T, E, F>(c: &mut DbConnection, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    let DbConnection::Sqlite(s) = c else {
        return c.transaction(f);
    };
    if AnsiTransactionManager::transaction_manager_status_mut(s)
        .transaction_depth()?
        .is_some()
    {
        return c.transaction(f);
    }
    // engine-specific: only SQLite chooses when a transaction takes the write lock.
    AnsiTransactionManager::begin_transaction_sql(s, "BEGIN IMMEDIATE")?;
    let result = f(c);
    let DbConnection::Sqlite(s) = c else {
        unreachable!("the connection's engine does not change");
    };
    match result {
        Ok(v) => {
            AnsiTransactionManager::commit_transaction(s)?;
            Ok(v)
        }
        Err(e) => match AnsiTransactionManager::rollback_transaction(s) {
            Ok(()) | Err(diesel::result::Error::BrokenTransactionManager) => Err(e),
            Err(rollback) => Err(rollback.into()),
        },
    }
}

/// After a bulk load, what autovacuum does in production in its own time: refresh the
/// planner's statistics and, on `PostgreSQL`, set the visibility map and clear the dead rows
/// the load's folds left (this machine's server runs with autovacuum off). Call it outside a
/// transaction: `VACUUM` cannot run in one.
pub fn analyze(conn: &mut DbConnection) -> Result<(), DbError> {
    // engine-specific: SQLite has no dead rows to clear, and its VACUUM rewrites the file.
    match conn {
        DbConnection::Sqlite(c) => diesel::sql_query("ANALYZE").execute(c)?,
        DbConnection::Postgres(c) => diesel::sql_query("VACUUM ANALYZE").execute(c)?,
    };
    Ok(())
}

/// Copy everything the write-ahead log holds back into the database file and empty it, as
/// the checkpoint thread does in its own time (`SQLite`; `PostgreSQL` needs nothing). Call it
/// outside a transaction, after a bulk load, so later reads are measured in the steady state.
pub fn checkpoint(conn: &mut DbConnection) -> Result<(), DbError> {
    writer::checkpoint(conn, "TRUNCATE").map(|_| ())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

impl DbConnection {
    /// Which engine this connection talks to, for the few statements written per engine.
    pub fn engine(&self) -> Engine {
        match self {
            DbConnection::Sqlite(_) => Engine::Sqlite,
            DbConnection::Postgres(_) => Engine::Postgres,
        }
    }
}

impl Engine {
    pub fn as_str(self) -> &'static str {
        match self {
            Engine::Sqlite => "sqlite",
            Engine::Postgres => "postgres",
        }
    }
}

/// A parsed `database_url`: `sqlite://PATH` or `postgres://…` / `postgresql://…`.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl {
    pub engine: Engine,
    /// The file path for `SQLite`, the whole URL for `PostgreSQL`.
    pub target: String,
}

impl std::fmt::Debug for DatabaseUrl {
    // A PostgreSQL URL may carry a password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DatabaseUrl({})", self.redacted())
    }
}

impl DatabaseUrl {
    pub fn parse(url: &str) -> Result<Self, DbError> {
        let url = url.trim();
        if let Some(path) = url.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err(DbError::Connect(
                    "database_url: sqlite:// needs a file path, e.g. sqlite://./data/shiliu.db"
                        .into(),
                ));
            }
            return Ok(Self {
                engine: Engine::Sqlite,
                target: path.to_string(),
            });
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Self {
                engine: Engine::Postgres,
                target: url.to_string(),
            });
        }
        let scheme = url.split("://").next().unwrap_or(url);
        Err(DbError::Connect(format!(
            "database_url: unsupported scheme '{scheme}'; use sqlite://PATH or postgres://USER@HOST/DB"
        )))
    }

    /// The URL with any password replaced, for logs and messages.
    pub fn redacted(&self) -> String {
        match self.engine {
            Engine::Sqlite => format!("sqlite://{}", self.target),
            Engine::Postgres => match (self.target.find("://"), self.target.rfind('@')) {
                (Some(s), Some(at)) if self.target[s + 3..at].contains(':') => {
                    let user_end = self.target[s + 3..at].find(':').map_or(at, |i| s + 3 + i);
                    format!("{}:***{}", &self.target[..user_end], &self.target[at..])
                }
                _ => self.target.clone(),
            },
        }
    }
}

#[derive(Debug)]
pub struct Manager {
    url: DatabaseUrl,
}

impl r2d2::ManageConnection for Manager {
    type Connection = DbConnection;
    type Error = DbError;

    fn connect(&self) -> Result<DbConnection, DbError> {
        match self.url.engine {
            Engine::Sqlite => {
                let mut c = diesel::SqliteConnection::establish(&self.url.target).map_err(|e| {
                    DbError::Connect(format!(
                        "cannot open SQLite database '{}': {e}",
                        self.url.target
                    ))
                })?;
                // WAL lets readers run beside the one writer; busy_timeout covers other processes
                // (e.g. `shiliu user add` while the server runs). Memory-mapped reads share the
                // operating system's cache between connections instead of copying each page
                // into every connection's own cache. The WAL is rewound at 256 MB (writer.rs)
                // and its file cut back to 512 MB, no lower: a file cut shorter than the WAL
                // then grows to costs every write past its end a block newly allocated and
                // zeroed (a sixth of the server's CPU under intake at 64 MB).
                c.batch_execute(
                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; \
                     PRAGMA busy_timeout = 10000; PRAGMA cache_size = -16000; PRAGMA temp_store = MEMORY; \
                     PRAGMA mmap_size = 1073741824; PRAGMA journal_size_limit = 536870912;",
                )
                .map_err(|e| DbError::Connect(format!("cannot use SQLite database '{}': {e}", self.url.target)))?;
                Ok(DbConnection::Sqlite(c))
            }
            Engine::Postgres => {
                let mut c = diesel::PgConnection::establish(&self.url.target).map_err(|e| {
                    let msg = e
                        .to_string()
                        .lines()
                        .next()
                        .unwrap_or_default()
                        .trim()
                        .to_string();
                    DbError::Connect(format!(
                        "cannot connect to PostgreSQL at {}: {msg}",
                        self.url.redacted()
                    ))
                })?;
                c.batch_execute("SET TIME ZONE 'UTC'; SET statement_timeout = '60s';")?;
                Ok(DbConnection::Postgres(c))
            }
        }
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), DbError> {
        conn.batch_execute("SELECT 1").map_err(DbError::from)
    }

    /// A connection is dropped, not pooled again, when its transaction state is broken: a
    /// transaction left open, or, on `PostgreSQL`, a statement that found the server gone
    /// (libpq then reports an unknown transaction state). Checked on return instead of a
    /// `SELECT 1` on every checkout, a round trip per page or write (see `Db::connect`).
    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        use diesel::connection::{AnsiTransactionManager, TransactionManager};
        std::thread::panicking()
            || on_engine!(conn, |c| {
                AnsiTransactionManager::is_broken_transaction_manager(c)
            })
    }
}

/// Whether the database user may set `session_replication_role`, as a pseudo-setting in
/// [`Db::server_settings`]: with it a register import checks its references by set rather than
/// `PostgreSQL` row by row (`registry::bulk`, ADR 0004).
pub const MAY_SET_REPLICATION_ROLE: &str = "may_set_session_replication_role";

/// The database: a pool of connections and, on `SQLite`, the one-writer lock.
#[derive(Clone)]
pub struct Db {
    pool: r2d2::Pool<Manager>,
    engine: Engine,
    /// `SQLite` allows one writer, so it gets one connection of its own behind a lock: taking
    /// the lock before `BEGIN` avoids the `SQLITE_BUSY` that two deferred transactions upgrading
    /// to writers would cause, and a connection that only writes keeps its page cache (a pooled
    /// one would find it reset by every other connection's write).
    writer: Option<Arc<writer::Writer>>,
    /// The request list's keys in memory, this node's (`requests::keys`).
    request_keys: Arc<requests::keys::RequestKeys>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db")
            .field("engine", &self.engine)
            .finish_non_exhaustive()
    }
}

/// Pool statistics for `/metrics`.
#[derive(Debug, Clone, Copy)]
pub struct PoolState {
    pub connections: u32,
    pub idle: u32,
    pub max: u32,
}

impl Db {
    /// Open the database, creating the `SQLite` file's folder if needed. Fails with one clear
    /// line for an unreachable server or an unwritable path.
    pub fn connect(url: &DatabaseUrl, pool_size: u32) -> Result<Self, DbError> {
        if url.engine == Engine::Sqlite {
            let path = PathBuf::from(&url.target);
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|e| {
                    DbError::Connect(format!("cannot create folder '{}': {e}", dir.display()))
                })?;
            }
        }
        let manager = Manager { url: url.clone() };
        // Connect once directly so the real cause is reported, not a pool time-out.
        let first = r2d2::ManageConnection::connect(&manager)?;
        let pool = r2d2::Pool::builder()
            .max_size(pool_size.max(2))
            // No idle floor: r2d2 replenishes it on a background thread, and a process that
            // exits (a CLI command) while that thread is inside libpq can crash on exit.
            .min_idle(Some(0))
            // Connections are not tested on checkout (`has_broken` drops one found broken on
            // return). After a PostgreSQL restart, each idle connection fails the one use
            // that finds it closed; connections idle for a minute are closed anyway.
            .test_on_check_out(false)
            .idle_timeout(Some(Duration::from_mins(1)))
            .connection_timeout(Duration::from_secs(10))
            .build(manager)
            .map_err(|e| DbError::Connect(e.to_string()))?;
        let writer = (url.engine == Engine::Sqlite).then(|| {
            let again = Manager { url: url.clone() };
            Arc::new(writer::Writer::start(first, move || {
                r2d2::ManageConnection::connect(&again)
            }))
        });
        let request_keys = requests::keys::RequestKeys::new(Some(pool.clone()));
        Ok(Self {
            pool,
            engine: url.engine,
            writer,
            request_keys,
        })
    }

    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// The request list's keys in memory, for the list's functions (`requests::listing`).
    pub fn request_keys(&self) -> Arc<requests::keys::RequestKeys> {
        self.request_keys.clone()
    }

    pub fn pool_state(&self) -> PoolState {
        let s = self.pool.state();
        PoolState {
            connections: s.connections,
            idle: s.idle_connections,
            max: self.pool.max_size(),
        }
    }

    /// A pooled connection for synchronous callers (the CLI, tests).
    pub fn conn(&self) -> Result<r2d2::PooledConnection<Manager>, DbError> {
        Ok(self.pool.get()?)
    }

    /// Run read-only work on a blocking thread.
    pub async fn read<T, F>(&self, f: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection) -> Result<T, DbError> + Send + 'static,
    {
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = pool.get()?;
            f(&mut conn)
        })
        .await
        .map_err(|e| DbError::Connect(format!("database task failed: {e}")))?
    }

    /// Run work in one transaction: all of it commits or none of it. On `SQLite` it joins the
    /// writer's next group commit (see `writer`); on `PostgreSQL` it runs on a blocking thread.
    pub async fn write<T, F>(&self, f: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection) -> Result<T, DbError> + Send + 'static,
    {
        self.queue_or_spawn(f, true).await
    }

    async fn queue_or_spawn<T, F>(&self, f: F, commit: bool) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection) -> Result<T, DbError> + Send + 'static,
    {
        let Some(w) = &self.writer else {
            let db = self.clone();
            return tokio::task::spawn_blocking(move || db.in_transaction(f, commit))
                .await
                .map_err(|e| DbError::Connect(format!("database task failed: {e}")))?;
        };
        let (tx, rx) = tokio::sync::oneshot::channel::<Result<T, DbError>>();
        w.submit(Box::new(move |c: &mut DbConnection| {
            let r = run_transaction(c, f, commit);
            Box::new(move |batch: Result<(), String>| {
                let out = match (r, batch) {
                    (Ok(v), Ok(())) => Ok(v),
                    (Err(e), _) => Err(e),
                    (Ok(_), Err(e)) => Err(DbError::Connect(format!("commit failed: {e}"))),
                };
                let _ = tx.send(out);
            })
        }))?;
        rx.await
            .map_err(|_| DbError::Connect("database task failed".into()))?
    }

    /// Run work exactly as [`Db::write`] would, then roll it back whatever happened: a dry run
    /// (an import's "check only") that exercises every rule a real run would.
    pub async fn rehearse<T, F>(&self, f: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection) -> Result<T, DbError> + Send + 'static,
    {
        self.queue_or_spawn(f, false).await
    }

    /// The same as [`Db::write`] for synchronous callers.
    pub fn write_blocking<T, F>(&self, f: F) -> Result<T, DbError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, DbError>,
    {
        self.in_transaction(f, true)
    }

    fn in_transaction<T, F>(&self, f: F, commit: bool) -> Result<T, DbError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, DbError>,
    {
        match &self.writer {
            Some(w) => run_transaction(&mut w.lock(), f, commit),
            None => run_transaction(&mut *self.pool.get()?, f, commit),
        }
    }

    /// Apply pending migrations and bring the shipped reference data up to date. Returns the
    /// versions applied.
    pub fn migrate(&self) -> Result<Vec<String>, DbError> {
        let mut conn = self.pool.get()?;
        let applied = run_migrations(&mut conn)?;
        drop(conn);
        self.write_blocking(refdata::sync)?;
        // PostgreSQL's search index by week: every week with requests, and the next few.
        self.write_blocking(requests::search::ensure_stored_weeks)?;
        // Requests taken in before the search index (or its new shape) existed are indexed
        // once, when it arrives.
        if applied
            .iter()
            .any(|v| REINDEX_SEARCH_AFTER.contains(&v.as_str()))
        {
            self.write_blocking(requests::search::backfill)?;
        }
        // Likewise the statistics' running totals.
        if applied
            .iter()
            .any(|v| RECOUNT_TALLIES_AFTER.contains(&v.as_str()))
        {
            self.write_blocking(requests::stats::rebuild)?;
        }
        if applied
            .iter()
            .any(|v| RECOUNT_REGISTRY_AFTER.contains(&v.as_str()))
        {
            self.write_blocking(registry::tallies::rebuild)?;
        }
        if applied
            .iter()
            .any(|v| RECOUNT_ACTIVITIES_AFTER.contains(&v.as_str()))
        {
            self.write_blocking(activities::tallies::rebuild)?;
        }
        if applied
            .iter()
            .any(|v| RECOUNT_COUNCILS_AFTER.contains(&v.as_str()))
        {
            self.write_blocking(councils::tallies::rebuild)?;
        }
        Ok(applied)
    }

    /// True when every shipped migration has been applied (for `/readyz`).
    pub fn migrations_current(&self) -> Result<bool, DbError> {
        let mut conn = self.pool.get()?;
        let pending = match &mut *conn {
            DbConnection::Sqlite(c) => c.has_pending_migration(SQLITE_MIGRATIONS),
            DbConnection::Postgres(c) => c.has_pending_migration(POSTGRES_MIGRATIONS),
        }
        .map_err(|e| DbError::Migration(e.to_string()))?;
        Ok(!pending)
    }

    /// What in the database server's settings will hurt in production, as sentences for an
    /// operator (`shiliu check-config` prints them, `serve` logs them). `PostgreSQL` with
    /// autovacuum off: the statistics' totals, updated by every fold, bloat without end (the
    /// statistics pages ran 5–10× slower after a few benchmark runs); `SQLite`: none.
    pub fn setting_warnings(&self) -> Result<Vec<String>, DbError> {
        let settings = self.server_settings()?;
        let off = |setting: &str| settings.iter().any(|(n, v)| n == setting && v != "on");
        let mut warnings = Vec::new();
        if off("autovacuum") {
            warnings.push(
                "PostgreSQL's autovacuum is off: tables updated in place (the statistics' totals, \
                 sessions, requests) will bloat and slow down; turn it on (autovacuum = on) or \
                 run VACUUM ANALYZE regularly"
                    .to_string(),
            );
        }
        if off(MAY_SET_REPLICATION_ROLE) {
            let user = settings
                .iter()
                .find(|(n, _)| n == "user")
                .map_or("<user>", |(_, v)| v.as_str());
            warnings.push(format!(
                "the database user may not set session_replication_role: a register import has \
                 PostgreSQL check each row's references one by one, at about two thirds of the \
                 speed; as a superuser: GRANT SET ON PARAMETER session_replication_role TO {user}"
            ));
        }
        Ok(warnings)
    }

    /// The server settings that figures measured on `PostgreSQL` depend on, as (name, value),
    /// with the user connected as (`user`, quoted as SQL needs it) and
    /// [`MAY_SET_REPLICATION_ROLE`]: the benchmarks print them beside their figures,
    /// `setting_warnings` reads them. None on `SQLite`.
    pub fn server_settings(&self) -> Result<Vec<(String, String)>, DbError> {
        #[derive(QueryableByName)]
        struct Setting {
            #[diesel(sql_type = diesel::sql_types::Text)]
            name: String,
            #[diesel(sql_type = diesel::sql_types::Text)]
            value: String,
        }
        let mut conn = self.pool.get()?;
        // engine-specific: PostgreSQL's server settings.
        let DbConnection::Postgres(c) = &mut *conn else {
            return Ok(Vec::new());
        };
        let rows: Vec<Setting> = diesel::sql_query(format!(
            "SELECT name, current_setting(name) AS value FROM pg_settings WHERE name IN \
             ('server_version', 'shared_buffers', 'synchronous_commit', 'wal_compression', \
             'checkpoint_timeout', 'max_wal_size', 'autovacuum') \
             UNION ALL SELECT 'user', quote_ident(current_user) \
             UNION ALL SELECT '{MAY_SET_REPLICATION_ROLE}', CASE WHEN \
             has_parameter_privilege('session_replication_role', 'SET') THEN 'on' ELSE 'off' END \
             ORDER BY name"
        ))
        .load(c)?;
        Ok(rows.into_iter().map(|s| (s.name, s.value)).collect())
    }

    /// An online, consistent copy of a `SQLite` database (for `shiliu backup`).
    pub fn backup_sqlite(&self, dest: &std::path::Path) -> Result<(), DbError> {
        if self.engine != Engine::Sqlite {
            return Err(DbError::Connect(
                "backup: the database is PostgreSQL; use pg_dump (see README)".into(),
            ));
        }
        if dest.exists() {
            return Err(DbError::Connect(format!(
                "backup: '{}' already exists",
                dest.display()
            )));
        }
        let dest = dest
            .to_str()
            .ok_or_else(|| DbError::Connect("backup: the path is not UTF-8".into()))?;
        let mut conn = self.pool.get()?;
        // engine-specific: VACUUM INTO writes a transactionally consistent copy while others work.
        diesel::sql_query("VACUUM INTO ?")
            .bind::<diesel::sql_types::Text, _>(dest)
            .execute(&mut *conn)?;
        Ok(())
    }
}

/// Run `f` in a savepoint of the caller's transaction: if it fails, its writes are undone and
/// the transaction goes on (an import reports a bad row and continues with the next).
pub fn savepoint<T, F>(conn: &mut DbConnection, f: F) -> Result<T, DbError>
where
    F: FnOnce(&mut DbConnection) -> Result<T, DbError>,
{
    conn.transaction(f)
}

/// Migrations after which rows are rebuilt in Rust (SQL cannot segment Chinese or fold the
/// tallies), by version: Diesel reports applied migrations by version only. A test checks every
/// migration named `request_search` or `*_tallies` (requests, registry, activities, councils)
/// is listed.
const REINDEX_SEARCH_AFTER: [&str; 6] = [
    "20261122000007",
    "20261122000012",
    "20261122000014",
    "20261122000026",
    "20261122000028",
    "20261207000038",
];
const RECOUNT_TALLIES_AFTER: [&str; 3] = ["20261122000008", "20261206000035", "20261209000040"];
const RECOUNT_REGISTRY_AFTER: [&str; 1] = ["20261122000020"];
const RECOUNT_ACTIVITIES_AFTER: [&str; 1] = ["20261216000054"];
const RECOUNT_COUNCILS_AFTER: [&str; 1] = ["20261216000055"];

fn run_migrations(conn: &mut DbConnection) -> Result<Vec<String>, DbError> {
    let versions = match conn {
        DbConnection::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS),
        DbConnection::Postgres(c) => c.run_pending_migrations(POSTGRES_MIGRATIONS),
    }
    .map_err(|e| DbError::Migration(e.to_string()))?;
    Ok(versions.iter().map(ToString::to_string).collect())
}

/// The current time as stored: UTC, whole microseconds (`PostgreSQL`'s precision, so a value
/// reads back exactly as it was hashed into the audit chain).
pub fn now() -> chrono::NaiveDateTime {
    let t = chrono::Utc::now().naive_utc();
    t.with_nanosecond(t.nanosecond() / 1000 * 1000).unwrap_or(t)
}

use chrono::Timelike as _;

/// Today's date in China (the calendar every record's dates are in).
pub fn today() -> chrono::NaiveDate {
    shiliu_domain::calendar::local(now()).date()
}

#[cfg(test)]
mod migration_tests {
    /// The version Diesel reports for a migration folder (`2026-11-22-000012_x` → `20261122000012`).
    fn versions_named(part: &str) -> Vec<String> {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite");
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .filter(|n| n.contains(part))
            .map(|n| n.split('_').next().unwrap().replace('-', ""))
            .collect();
        v.sort();
        v
    }

    #[test]
    fn rebuilds_follow_the_migrations_that_need_them() {
        assert_eq!(
            versions_named("request_search"),
            super::REINDEX_SEARCH_AFTER
        );
        assert_eq!(
            versions_named("request_tallies"),
            super::RECOUNT_TALLIES_AFTER
        );
        assert_eq!(
            versions_named("registry_tallies"),
            super::RECOUNT_REGISTRY_AFTER
        );
        assert_eq!(
            versions_named("activity_tallies"),
            super::RECOUNT_ACTIVITIES_AFTER
        );
        assert_eq!(
            versions_named("council_tallies"),
            super::RECOUNT_COUNCILS_AFTER
        );
    }
}

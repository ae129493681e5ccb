//! `SQLite`'s one writer, with group commit. Asynchronous writes queue here; one thread takes
//! whatever is queued (up to `MAX_BATCH`), runs each job in its own savepoint inside one
//! transaction, commits once, and only then tells each job's caller how it went. A job that
//! fails rolls back to its savepoint and leaves the others alone; if the commit fails, every
//! job of the batch fails. Committing once for many writes is what lets intake keep up with
//! a hotline's peak on one machine: each commit appends the touched pages to the WAL, and a
//! batch touches the hot pages (indexes' right edges, the audit head) once.

use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex, Weak, mpsc};

use diesel::connection::SimpleConnection;

use crate::{DbConnection, DbError};

const MAX_BATCH: usize = 64;

/// A batch that holds the writer this long is logged.
const SLOW_BATCH: std::time::Duration = std::time::Duration::from_millis(100);

/// A queued write: runs in the batch's transaction and returns what to do once the batch's
/// commit succeeded (`Ok`) or failed.
pub(crate) type Job =
    Box<dyn FnOnce(&mut DbConnection) -> Box<dyn FnOnce(Result<(), String>) + Send> + Send>;

/// The writer connection (also used directly by synchronous writes, under the same lock) and
/// the queue its thread serves.
pub(crate) struct Writer {
    pub(crate) conn: Arc<Mutex<DbConnection>>,
    queue: Mutex<mpsc::Sender<Job>>,
}

impl Writer {
    /// Start the writer thread on `conn`; `reconnect` replaces the connection after a job
    /// panicked (its transaction state can no longer be trusted).
    pub(crate) fn start(
        conn: DbConnection,
        reconnect: impl Fn() -> Result<DbConnection, DbError> + Send + 'static,
    ) -> Self {
        let mut conn = conn;
        // The writer never checkpoints the WAL itself (copying pages back and syncing the file
        // would stall every queued write); a thread beside it does, once a second.
        let checkpointer = conn
            .batch_execute("PRAGMA wal_autocheckpoint = 0;")
            .ok()
            .and_then(|()| reconnect().ok());
        let conn = Arc::new(Mutex::new(conn));
        if let Some(c) = checkpointer {
            start_checkpoints(c, Arc::downgrade(&conn));
        } else {
            let mut guard = conn
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let _ = guard.batch_execute("PRAGMA wal_autocheckpoint = 1000;");
        }
        let (tx, rx) = mpsc::channel::<Job>();
        let shared = conn.clone();
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || serve(&shared, &rx, &reconnect))
            .expect("start the SQLite writer thread");
        Self {
            conn,
            queue: Mutex::new(tx),
        }
    }

    pub(crate) fn submit(&self, job: Job) -> Result<(), DbError> {
        self.queue
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .send(job)
            .map_err(|_| DbError::Connect("the database writer has stopped".into()))
    }
}

/// Checkpoint the WAL every second without waiting for readers or the writer (`PASSIVE`),
/// for as long as the writer lives; a minute after start and then hourly, refresh the
/// planner's statistics of the tables that changed enough (`PRAGMA optimize`, bounded by
/// `analysis_limit`). Without them `SQLite` read a city's million people through the scope
/// index and sorted them for a page of 50 (2.5 s) instead of walking the primary key.
fn start_checkpoints(mut conn: DbConnection, writer: Weak<Mutex<DbConnection>>) {
    const OPTIMIZE_FIRST: u64 = 60;
    const OPTIMIZE_EVERY: u64 = 3_600;
    let spawned = std::thread::Builder::new()
        .name("sqlite-checkpoint".into())
        .spawn(move || {
            for second in 1_u64.. {
                std::thread::sleep(std::time::Duration::from_secs(1));
                if writer.strong_count() == 0 {
                    return;
                }
                if let Err(e) = conn.batch_execute("PRAGMA wal_checkpoint(PASSIVE);") {
                    tracing::warn!(error = %e, "WAL checkpoint failed");
                }
                if second % OPTIMIZE_EVERY == OPTIMIZE_FIRST
                    && let Err(e) = conn
                        .batch_execute("PRAGMA analysis_limit = 1000; PRAGMA optimize = 0x10002;")
                {
                    tracing::warn!(error = %e, "refreshing the planner's statistics failed");
                }
            }
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "cannot start the WAL checkpoint thread");
    }
}

fn serve(
    conn: &Mutex<DbConnection>,
    rx: &mpsc::Receiver<Job>,
    reconnect: &dyn Fn() -> Result<DbConnection, DbError>,
) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(j) => batch.push(j),
                Err(_) => break,
            }
        }
        let mut guard = conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut deliveries = Vec::with_capacity(batch.len());
        let mut panicked = false;
        let (started, jobs) = (std::time::Instant::now(), batch.len());
        let outcome = crate::write_transaction::<(), DbError, _>(&mut guard, |c| {
            for job in batch {
                let Ok(deliver) = std::panic::catch_unwind(AssertUnwindSafe(|| job(c))) else {
                    // The job's caller sees its channel close; the rest fail with the batch.
                    panicked = true;
                    return Err(DbError::Connect("a write in this batch failed".into()));
                };
                deliveries.push(deliver);
            }
            Ok(())
        });
        let took = started.elapsed();
        if took >= SLOW_BATCH {
            // Every queued write waited this long: worth knowing in production.
            tracing::warn!(ms = took.as_millis(), jobs, "slow write batch");
        }
        if panicked && let Ok(fresh) = reconnect() {
            *guard = fresh;
        }
        drop(guard);
        let result = outcome.map_err(|e| e.to_string());
        for deliver in deliveries {
            deliver(result.clone());
        }
    }
}

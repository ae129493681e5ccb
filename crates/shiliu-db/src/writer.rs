//! `SQLite`'s one writer, with group commit. Asynchronous writes queue here; one thread takes
//! whatever is queued (up to `MAX_BATCH`), runs each job in its own savepoint inside one
//! transaction, commits once, and only then tells each job's caller how it went. A job that
//! fails rolls back to its savepoint and leaves the others alone; if the commit fails, every
//! job of the batch fails. Committing once for many writes is what lets intake keep up with
//! a hotline's peak on one machine: each commit appends the touched pages to the WAL, and a
//! batch touches the hot pages (indexes' right edges, the audit head) once.

use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex, MutexGuard, Weak, mpsc};

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
    conn: Arc<Mutex<DbConnection>>,
    queue: Mutex<mpsc::Sender<Job>>,
    rewind: Arc<RewindRequest>,
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
        let rewind = Arc::new(RewindRequest::default());
        if let Some(c) = checkpointer {
            start_checkpoints(c, Arc::downgrade(&conn), rewind.clone());
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
            .spawn({
                let rewind = rewind.clone();
                move || serve(&shared, &rx, &reconnect, &rewind)
            })
            .expect("start the SQLite writer thread");
        Self {
            conn,
            queue: Mutex::new(tx),
            rewind,
        }
    }

    /// The writer connection, for a synchronous write; a rewind the checkpoint thread asked
    /// for is done first, as between two batches (a bulk load writes only this way).
    pub(crate) fn lock(&self) -> MutexGuard<'_, DbConnection> {
        lock(&self.conn, &self.rewind)
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
/// and ask the writer to rewind it when it is long (see [`Rewind`]), for as long as the writer
/// lives; a minute after start and then hourly, refresh the planner's statistics of the tables
/// that changed enough (`PRAGMA optimize`, bounded by `analysis_limit`). Without them `SQLite`
/// read a city's million people through the scope index and sorted them for a page of 50
/// (2.5 s) instead of walking the primary key.
fn start_checkpoints(
    mut conn: DbConnection,
    writer: Weak<Mutex<DbConnection>>,
    request: Arc<RewindRequest>,
) {
    const OPTIMIZE_FIRST: u64 = 60;
    const OPTIMIZE_EVERY: u64 = 3_600;
    let spawned = std::thread::Builder::new()
        .name("sqlite-checkpoint".into())
        .spawn(move || {
            let mut rewind = Rewind::default();
            for second in 1_u64.. {
                std::thread::sleep(std::time::Duration::from_secs(1));
                if writer.strong_count() == 0 {
                    return;
                }
                if let Some(rewound) = request.outcome() {
                    rewind.done(second, rewound);
                }
                match checkpoint(&mut conn, "PASSIVE") {
                    Ok(wal) if rewind.due(second, wal.log) => request.ask(),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "WAL checkpoint failed"),
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

/// The checkpoint thread's request to rewind the WAL, which the writer thread carries out
/// before its next batch, and how it went.
#[derive(Default)]
struct RewindRequest {
    asked: std::sync::atomic::AtomicBool,
    /// 0: nothing to report; 1: rewound; 2: gave up on a reader.
    outcome: std::sync::atomic::AtomicU8,
}

impl RewindRequest {
    fn ask(&self) {
        self.asked.store(true, std::sync::atomic::Ordering::Release);
    }

    /// For the writer: whether a rewind was asked for (and no longer is).
    fn take(&self) -> bool {
        self.asked.swap(false, std::sync::atomic::Ordering::AcqRel)
    }

    fn report(&self, rewound: bool) {
        self.outcome.store(
            if rewound { 1 } else { 2 },
            std::sync::atomic::Ordering::Release,
        );
    }

    /// For the checkpoint thread: how the last rewind went, once.
    fn outcome(&self) -> Option<bool> {
        match self.outcome.swap(0, std::sync::atomic::Ordering::AcqRel) {
            1 => Some(true),
            2 => Some(false),
            _ => None,
        }
    }
}

/// What `PRAGMA wal_checkpoint` reports.
#[derive(diesel::QueryableByName)]
pub(crate) struct Wal {
    /// 1 when a checkpoint that waits (`RESTART`) gave up on a reader.
    #[diesel(sql_type = diesel::sql_types::Integer)]
    busy: i32,
    /// Frames in the WAL.
    #[diesel(sql_type = diesel::sql_types::Integer)]
    log: i32,
}

/// `PRAGMA wal_checkpoint(mode)` (`SQLite`; nothing on `PostgreSQL`).
pub(crate) fn checkpoint(conn: &mut DbConnection, mode: &str) -> Result<Wal, DbError> {
    use diesel::RunQueryDsl;
    // engine-specific: only SQLite has a WAL; the checkpoint thread only runs for it.
    let DbConnection::Sqlite(c) = conn else {
        return Ok(Wal { busy: 0, log: 0 });
    };
    Ok(diesel::sql_query(format!("PRAGMA wal_checkpoint({mode})")).get_result(c)?)
}

/// When to rewind the WAL. A passive checkpoint copies the WAL's pages back into the database
/// but never rewinds it: `SQLite` starts the WAL over only when a write begins after every
/// frame was copied back and while no reader still reads from it, which under steady reads and
/// writes never happens (the WAL grew to 2 GB in twelve seconds of intake, 11 GB in two
/// minutes, and intake slowed as it grew). So once the WAL is past [`Rewind::FRAMES`], the
/// writer thread rewinds it between two batches, right after a passive checkpoint copied back
/// nearly all of it; a reader that holds on (a long export) makes the attempt give up, and the
/// next waits longer. The checkpoint thread never waits for the writer: a bulk load holds the
/// writer for its whole transaction, and it kept copying the WAL back meanwhile.
#[derive(Default)]
struct Rewind {
    /// The second before which no attempt is made.
    not_before: u64,
    /// Seconds to wait after an attempt that gave up (doubling, up to a minute).
    backoff: u64,
}

impl Rewind {
    /// 256 MB of 4 KB pages. A rewind holds the writer for what the WAL gained since the last
    /// passive checkpoint and one sync of the database file, 100–150 ms under intake whatever
    /// the WAL's length: at 64 MB that was every second or two of intake.
    const FRAMES: i32 = 65_536;

    fn due(&self, second: u64, frames: i32) -> bool {
        frames >= Self::FRAMES && second >= self.not_before
    }

    fn done(&mut self, second: u64, rewound: bool) {
        self.backoff = if rewound {
            0
        } else {
            (self.backoff * 2).clamp(1, 60)
        };
        self.not_before = second + self.backoff;
    }
}

/// On the writer's connection, between batches: copy back what is left of the WAL and have the
/// next write start it over, giving readers a tenth of a second to leave it; true if it did.
fn rewind_wal(conn: &mut DbConnection) -> bool {
    let started = std::time::Instant::now();
    let outcome = conn
        .batch_execute("PRAGMA busy_timeout = 100;")
        .map_err(DbError::from)
        .and_then(|()| checkpoint(conn, "RESTART"));
    let took = started.elapsed();
    if let Err(e) = conn.batch_execute("PRAGMA busy_timeout = 10000;") {
        tracing::warn!(error = %e, "WAL rewind: cannot restore the busy timeout");
    }
    match outcome {
        Ok(wal) if wal.busy == 0 => {
            if took >= SLOW_BATCH {
                tracing::warn!(ms = took.as_millis(), "slow WAL rewind");
            }
            true
        }
        Ok(_) => {
            tracing::info!("WAL rewind gave up on a reader; retrying later");
            false
        }
        Err(e) => {
            tracing::warn!(error = %e, "WAL rewind failed");
            false
        }
    }
}

/// The writer connection, held; a rewind asked for is done first.
fn lock<'a>(conn: &'a Mutex<DbConnection>, rewind: &RewindRequest) -> MutexGuard<'a, DbConnection> {
    // A poisoned lock only means a writer panicked; its transaction rolled back.
    let mut guard = conn
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if rewind.take() {
        rewind.report(rewind_wal(&mut guard));
    }
    guard
}

fn serve(
    conn: &Mutex<DbConnection>,
    rx: &mpsc::Receiver<Job>,
    reconnect: &dyn Fn() -> Result<DbConnection, DbError>,
    rewind: &RewindRequest,
) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(j) => batch.push(j),
                Err(_) => break,
            }
        }
        let mut guard = lock(conn, rewind);
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

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use diesel::Connection as _;
    use diesel::connection::SimpleConnection;

    use super::{Rewind, RewindRequest, checkpoint, rewind_wal};
    use crate::DbConnection;

    fn open(path: &std::path::Path) -> DbConnection {
        let mut c = diesel::SqliteConnection::establish(&path.to_string_lossy()).unwrap();
        c.batch_execute("PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0;")
            .unwrap();
        DbConnection::Sqlite(c)
    }

    fn write(writer: &Mutex<DbConnection>, rows: usize) {
        let mut w = writer.lock().unwrap();
        for _ in 0..rows {
            w.batch_execute("INSERT INTO t VALUES (randomblob(3000));")
                .unwrap();
        }
    }

    #[test]
    fn the_wal_starts_over_once_no_reader_holds_it() {
        let dir = std::env::temp_dir().join(format!("shiliu_wal_{}", crate::ids::new_id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("wal.db");
        let writer = Mutex::new(open(&path));
        writer
            .lock()
            .unwrap()
            .batch_execute("CREATE TABLE t (x BLOB);")
            .unwrap();
        let (mut checkpointer, mut reader) = (open(&path), open(&path));
        let frames = |c: &mut DbConnection| checkpoint(c, "PASSIVE").unwrap().log;

        write(&writer, 200);
        assert!(frames(&mut checkpointer) >= 200);
        assert!(rewind_wal(&mut writer.lock().unwrap()));
        write(&writer, 1);
        assert!(
            frames(&mut checkpointer) < 5,
            "the next write starts the WAL over"
        );

        // A reader in the middle of a transaction over the WAL's frames holds it: the rewind
        // gives up after its tenth of a second, and succeeds once the reader is done.
        write(&writer, 50);
        reader
            .batch_execute("BEGIN; SELECT count(*) FROM t;")
            .unwrap();
        let t = std::time::Instant::now();
        assert!(!rewind_wal(&mut writer.lock().unwrap()));
        assert!(
            t.elapsed() < std::time::Duration::from_secs(2),
            "{:?}",
            t.elapsed()
        );
        reader.batch_execute("COMMIT;").unwrap();
        assert!(rewind_wal(&mut writer.lock().unwrap()));
        write(&writer, 1);
        assert!(frames(&mut checkpointer) < 5);
        drop((writer, checkpointer, reader));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_rewind_that_gave_up_waits_longer_each_time() {
        let mut r = Rewind::default();
        assert!(!r.due(1, Rewind::FRAMES - 1), "a short WAL is left alone");
        assert!(r.due(1, Rewind::FRAMES));
        let mut waits = Vec::new();
        let mut second = 1;
        for _ in 0..8 {
            r.done(second, false);
            waits.push(r.not_before - second);
            assert!(
                !r.due(r.not_before - 1, Rewind::FRAMES),
                "not before the wait is over"
            );
            second = r.not_before;
        }
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 60, 60]);
        r.done(second, true);
        assert!(
            r.due(second, Rewind::FRAMES),
            "after a rewind, the next is due at once"
        );
    }

    #[test]
    fn the_writer_takes_a_request_once_and_its_outcome_is_read_once() {
        let r = RewindRequest::default();
        assert!(!r.take());
        r.ask();
        r.ask();
        assert!(r.take());
        assert!(!r.take(), "asked twice before the writer came: one rewind");
        assert_eq!(r.outcome(), None);
        r.report(false);
        assert_eq!(r.outcome(), Some(false));
        assert_eq!(r.outcome(), None);
        r.report(true);
        assert_eq!(r.outcome(), Some(true));
    }
}

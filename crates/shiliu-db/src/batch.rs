//! Group commit for work that arrives at once from many callers (intake from the API): callers
//! [`Batcher::submit`] an item and wait; a few workers each take what is queued, up to a limit,
//! and hand it to one function that writes the items together in one transaction. Per-item
//! refusals (a bad region, say) come back to their own caller. If the transaction itself
//! fails, each of its items is retried alone, so one item cannot fail its neighbours.
//!
//! Why: on `PostgreSQL` every statement costs a round trip, parsing and planning in a backend
//! that shares the machine's cores with the application; writing 20 requests in one insert
//! instead of 20 costs about what one did. On `SQLite` the one writer holds the lock for less.
//!
//! How large a group: a free worker does not start with the first item it finds while the
//! callers of a group just written are still coming back. Taking a lone straggler at once made
//! every other group a group of one (measured on `PostgreSQL`: half the groups, each paying a
//! whole transaction and its turn at the audit chain's head, which transactions take one after
//! the other). It starts once it holds its share of the callers in sight — queued, in the other
//! workers' groups, and expected back from the groups just finished — or after [`LINGER`].

use std::sync::{Arc, PoisonError};
use std::time::Duration;

use tokio::sync::{Mutex, Notify, mpsc, oneshot};

use crate::{Db, DbConnection, DbError};

/// Writes items together: for each item its result, in order, or an error that fails them all.
pub type Handler<I, O> = fn(&mut DbConnection, &[I]) -> Result<Vec<Result<O, DbError>>, DbError>;

type Queued<I, O> = (I, oneshot::Sender<Result<O, DbError>>);

pub struct Batcher<I, O> {
    queue: mpsc::UnboundedSender<Queued<I, O>>,
}

impl<I, O> std::fmt::Debug for Batcher<I, O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batcher").finish_non_exhaustive()
    }
}

impl<I, O> Batcher<I, O>
where
    I: Send + Sync + 'static,
    O: Send + 'static,
{
    /// Start `workers` workers on the current Tokio runtime, each writing at most `max` items
    /// per transaction. They stop when the batcher is dropped.
    pub fn start(db: &Db, workers: usize, max: usize, handler: Handler<I, O>) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            rx: Mutex::new(rx),
            flow: std::sync::Mutex::new(Flow::default()),
            finished: Notify::new(),
            workers: workers.max(1),
            max: max.max(1),
        });
        for _ in 0..shared.workers {
            tokio::spawn(work(db.clone(), shared.clone(), handler));
        }
        Self { queue: tx }
    }

    /// Queue `item` and wait for its result.
    pub async fn submit(&self, item: I) -> Result<O, DbError> {
        let (tx, rx) = oneshot::channel();
        self.queue
            .send((item, tx))
            .map_err(|_| DbError::Connect("the write queue has stopped".into()))?;
        rx.await
            .map_err(|_| DbError::Connect("database task failed".into()))?
    }
}

/// The longest a gathered item waits for others.
pub const LINGER: Duration = Duration::from_millis(2);

struct Shared<I, O> {
    rx: Mutex<mpsc::UnboundedReceiver<Queued<I, O>>>,
    flow: std::sync::Mutex<Flow>,
    /// A group was written (its callers will be back).
    finished: Notify,
    workers: usize,
    max: usize,
}

impl<I, O> Shared<I, O> {
    fn flow(&self) -> std::sync::MutexGuard<'_, Flow> {
        self.flow.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The items in sight, for deciding when a gathered group is large enough.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Flow {
    /// Items in groups being written.
    pub in_flight: usize,
    /// Items of groups written whose callers have not yet sent another (each arrival counts
    /// one off).
    pub expected: usize,
}

impl Flow {
    /// Whether `gathered` items make a large enough group for one of `workers` workers: its
    /// share of all the items in sight.
    pub fn enough(&self, gathered: usize, workers: usize) -> bool {
        let in_sight = gathered + self.in_flight + self.expected;
        gathered * workers >= in_sight
    }

    pub fn arrived(&mut self, n: usize) {
        self.expected = self.expected.saturating_sub(n);
    }

    pub fn started(&mut self, n: usize) {
        self.in_flight += n;
    }

    pub fn finished(&mut self, n: usize) {
        self.in_flight = self.in_flight.saturating_sub(n);
        self.expected += n;
    }
}

async fn work<I, O>(db: Db, shared: Arc<Shared<I, O>>, handler: Handler<I, O>)
where
    I: Send + Sync + 'static,
    O: Send + 'static,
{
    loop {
        let Some(batch) = gather(&shared).await else {
            return;
        };
        let n = batch.len();
        shared.flow().started(n);
        write(&db, batch, handler).await;
        shared.flow().finished(n);
        shared.finished.notify_one();
    }
}

/// The next group: at least one item, then more until it is large enough (see [`Flow`]),
/// `max` are held, or [`LINGER`] has passed. `None` when the batcher is gone.
async fn gather<I, O>(shared: &Shared<I, O>) -> Option<Vec<Queued<I, O>>> {
    // One worker gathers at a time, so each group takes everything queued so far.
    let mut rx = shared.rx.lock().await;
    let first = rx.recv().await?;
    let mut batch = vec![first];
    shared.flow().arrived(1);
    let deadline = tokio::time::Instant::now() + LINGER;
    loop {
        while batch.len() < shared.max {
            match rx.try_recv() {
                Ok(q) => {
                    batch.push(q);
                    shared.flow().arrived(1);
                }
                Err(_) => break,
            }
        }
        if batch.len() >= shared.max || shared.flow().enough(batch.len(), shared.workers) {
            return Some(batch);
        }
        tokio::select! {
            q = rx.recv() => match q {
                Some(q) => {
                    batch.push(q);
                    shared.flow().arrived(1);
                }
                None => return Some(batch),
            },
            () = shared.finished.notified() => {}
            () = tokio::time::sleep_until(deadline) => {
                // Those expected are not coming (a burst ended): stop waiting for them.
                shared.flow().expected = 0;
                return Some(batch);
            }
        }
    }
}

/// Write a group and answer its callers.
async fn write<I, O>(db: &Db, batch: Vec<Queued<I, O>>, handler: Handler<I, O>)
where
    I: Send + Sync + 'static,
    O: Send + 'static,
{
    let (items, replies): (Vec<I>, Vec<_>) = batch.into_iter().unzip();
    let items = Arc::new(items);
    let together = {
        let items = items.clone();
        db.write(move |c| handler(c, &items)).await
    };
    match together {
        Ok(results) if results.len() == replies.len() => {
            for (reply, r) in replies.into_iter().zip(results) {
                let _ = reply.send(r);
            }
        }
        Err(e) if replies.len() == 1 => {
            if let Some(reply) = replies.into_iter().next() {
                let _ = reply.send(Err(e));
            }
        }
        _ => {
            for (i, reply) in replies.into_iter().enumerate() {
                let items = items.clone();
                let alone = db
                    .write(move |c| handler(c, &items[i..=i]))
                    .await
                    .and_then(|mut r| r.pop().unwrap_or(Err(DbError::NotFound)));
                let _ = reply.send(alone);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Flow;

    #[test]
    fn a_lone_item_on_an_idle_batcher_goes_at_once() {
        assert!(Flow::default().enough(1, 2));
    }

    #[test]
    fn a_straggler_waits_for_the_callers_of_the_group_just_written() {
        // Sixteen callers: fifteen in one group, one straggler queued behind it.
        let mut f = Flow::default();
        f.started(15);
        assert!(!f.enough(1, 2), "half of sixteen in sight");
        f.finished(15);
        assert!(!f.enough(1, 2), "the fifteen are expected back");
        f.arrived(6);
        assert!(!f.enough(7, 2));
        f.arrived(1);
        assert!(f.enough(8, 2), "its share: eight of sixteen");
        // The other worker then gathers the other eight.
        f.started(8);
        f.arrived(8);
        assert!(f.enough(8, 2));
        assert!(!f.enough(7, 2));
    }

    #[test]
    fn one_worker_waits_for_everyone_in_sight() {
        let mut f = Flow::default();
        f.finished(4);
        f.arrived(3);
        assert!(!f.enough(3, 1));
        f.arrived(1);
        assert!(f.enough(4, 1));
    }
}

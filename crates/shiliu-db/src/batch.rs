//! Group commit for work that arrives at once from many callers (intake from the API): callers
//! [`Batcher::submit`] an item and wait; a few workers each take what is queued, up to a limit,
//! and hand it to one function that writes the items together in one transaction. Per-item
//! refusals (a bad region, say) come back to their own caller. If the transaction itself
//! fails, each of its items is retried alone, so one item cannot fail its neighbours.
//!
//! Why: on `PostgreSQL` every statement costs a round trip, parsing and planning in a backend
//! that shares the machine's cores with the application; writing 20 requests in one insert
//! instead of 20 costs about what one did. On `SQLite` the one writer holds the lock for less.

use std::sync::Arc;

use tokio::sync::{Mutex, mpsc, oneshot};

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
        let rx = Arc::new(Mutex::new(rx));
        for _ in 0..workers.max(1) {
            tokio::spawn(work(db.clone(), rx.clone(), max.max(1), handler));
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

async fn work<I, O>(
    db: Db,
    rx: Arc<Mutex<mpsc::UnboundedReceiver<Queued<I, O>>>>,
    max: usize,
    handler: Handler<I, O>,
) where
    I: Send + Sync + 'static,
    O: Send + 'static,
{
    loop {
        let mut batch = Vec::new();
        {
            // One worker gathers at a time, so each batch takes everything queued so far.
            let mut rx = rx.lock().await;
            let Some(first) = rx.recv().await else {
                return;
            };
            batch.push(first);
            while batch.len() < max {
                match rx.try_recv() {
                    Ok(q) => batch.push(q),
                    Err(_) => break,
                }
            }
        }
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
}

//! Sending queues. [`Queue`] is the seam: the in-memory queue lives here, and a
//! persistent queue backed by a storage extension implements the same trait.

use std::collections::VecDeque;
use std::sync::Mutex;

use async_trait::async_trait;
use stratus_core::{ConsumeError, Telemetry};
use tokio::sync::{Notify, oneshot};

use crate::config::Sizer;

/// Why a batch could not be queued.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueueError {
    /// No room for the batch.
    #[error("sending queue is full")]
    Full,
    /// The queue no longer takes data because the exporter is shutting down.
    #[error("sending queue is closed: exporter is shutting down")]
    Closed,
    /// The batch alone is larger than the whole queue.
    #[error("batch of size {size} is larger than the queue capacity {capacity}")]
    TooLarge {
        /// The batch's size in the queue's unit.
        size: usize,
        /// The queue's capacity.
        capacity: usize,
    },
    /// The persistent queue could not write the batch to disk (disk full, I/O error).
    #[error("{0}")]
    Storage(String),
}

/// Tells a caller that waits for its data (`sending_queue::wait_for_result`) how the
/// export ended. Dropping it unfinished tells the caller nothing is known.
pub struct Waiter(oneshot::Sender<Result<(), ConsumeError>>);

/// What the caller of [`Waiter::new`] awaits: the export's result, or an error when
/// the waiter was dropped unfinished (the exporter stopped first).
pub type Outcome = oneshot::Receiver<Result<(), ConsumeError>>;

impl Waiter {
    /// A waiter and the receiver its result arrives on.
    pub fn new() -> (Waiter, Outcome) {
        let (tx, rx) = oneshot::channel();
        (Waiter(tx), rx)
    }

    /// Hands the result to the waiting caller (if it still waits).
    pub fn finish(self, result: Result<(), ConsumeError>) {
        let _ = self.0.send(result);
    }
}

impl std::fmt::Debug for Waiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Waiter")
    }
}

/// A batch taken from a queue, with the token that marks it done.
#[derive(Debug)]
pub struct Entry {
    /// The batch.
    pub data: Telemetry,
    /// Identifies the entry to [`Queue::done`].
    pub token: u64,
    /// The caller waiting for this batch's result, if it waits (`wait_for_result`).
    pub waiter: Option<Waiter>,
}

/// A bounded queue of batches between a pipeline and an exporter's senders.
///
/// An entry handed out by [`Queue::take`] is in flight until [`Queue::done`] is called
/// for it: a persistent queue keeps it on disk until then, so a crash re-delivers it.
#[async_trait]
pub trait Queue: Send + Sync + 'static {
    /// Adds a batch, or refuses it when there is no room. With `block`, waits for room
    /// instead of refusing.
    async fn offer(&self, data: Telemetry, block: bool) -> Result<(), QueueError> {
        self.offer_with(data, None, block).await
    }

    /// Like [`Queue::offer`], and hands `waiter` out with the entry (in this process
    /// only; it does not survive a restart), so whoever finishes the entry can tell the
    /// caller how it ended.
    async fn offer_with(
        &self,
        data: Telemetry,
        waiter: Option<Waiter>,
        block: bool,
    ) -> Result<(), QueueError>;

    /// Waits for the next batch; `None` once the queue is closed and empty.
    async fn take(&self) -> Option<Entry>;

    /// Marks an entry as finished (delivered, or dropped for good).
    async fn done(&self, token: u64);

    /// Current size, in the queue's unit.
    fn size(&self) -> usize;

    /// Capacity, in the queue's unit.
    fn capacity(&self) -> usize;

    /// Stops taking new data; entries already queued can still be taken.
    fn close(&self);

    /// For a queue kept on disk, the entries it holds that are not done (queued or in
    /// flight); they survive a restart. `None` for an in-memory queue.
    fn persistent_records(&self) -> Option<usize> {
        None
    }
}

/// Measures a batch in a sizer's unit.
pub fn measure(sizer: Sizer, data: &Telemetry) -> usize {
    match sizer {
        Sizer::Requests => 1,
        Sizer::Items => data.item_count(),
        Sizer::Bytes => data.payload.encoded_len(),
    }
}

struct State {
    items: VecDeque<(Telemetry, usize, Option<Waiter>)>,
    size: usize,
    closed: bool,
}

/// The in-memory queue: bounded, FIFO, lost on restart.
pub struct MemoryQueue {
    sizer: Sizer,
    capacity: usize,
    state: Mutex<State>,
    not_empty: Notify,
    not_full: Notify,
}

impl MemoryQueue {
    /// A queue holding at most `capacity` units of `sizer`.
    pub fn new(sizer: Sizer, capacity: usize) -> Self {
        MemoryQueue {
            sizer,
            capacity,
            state: Mutex::new(State {
                items: VecDeque::new(),
                size: 0,
                closed: false,
            }),
            not_empty: Notify::new(),
            not_full: Notify::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        match self.state.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }
}

#[async_trait]
impl Queue for MemoryQueue {
    async fn offer_with(
        &self,
        data: Telemetry,
        waiter: Option<Waiter>,
        block: bool,
    ) -> Result<(), QueueError> {
        let size = measure(self.sizer, &data);
        if size > self.capacity {
            return Err(QueueError::TooLarge {
                size,
                capacity: self.capacity,
            });
        }
        loop {
            let wait = self.not_full.notified();
            {
                let mut state = self.lock();
                if state.closed {
                    return Err(QueueError::Closed);
                }
                if state.size + size <= self.capacity {
                    state.size += size;
                    state.items.push_back((data, size, waiter));
                    drop(state);
                    self.not_empty.notify_one();
                    return Ok(());
                }
                if !block {
                    return Err(QueueError::Full);
                }
            }
            wait.await;
        }
    }

    async fn take(&self) -> Option<Entry> {
        loop {
            let wait = self.not_empty.notified();
            {
                let mut state = self.lock();
                if let Some((data, size, waiter)) = state.items.pop_front() {
                    state.size -= size;
                    let more = !state.items.is_empty();
                    drop(state);
                    self.not_full.notify_waiters();
                    if more {
                        self.not_empty.notify_one();
                    }
                    return Some(Entry {
                        data,
                        token: 0,
                        waiter,
                    });
                }
                if state.closed {
                    return None;
                }
            }
            wait.await;
        }
    }

    async fn done(&self, _token: u64) {}

    fn size(&self) -> usize {
        self.lock().size
    }

    fn capacity(&self) -> usize {
        self.capacity
    }

    fn close(&self) {
        self.lock().closed = true;
        self.not_empty.notify_waiters();
        self.not_full.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use stratus_core::pdata::{Payload, trace};

    fn spans(n: usize) -> Telemetry {
        Telemetry::new(Payload::Traces(vec![trace::ResourceSpans {
            scope_spans: vec![trace::ScopeSpans {
                spans: vec![trace::Span::default(); n],
                ..Default::default()
            }],
            ..Default::default()
        }]))
    }

    #[tokio::test]
    async fn bounded_fifo_by_items() {
        let q = MemoryQueue::new(Sizer::Items, 10);
        q.offer(spans(4), false).await.unwrap();
        q.offer(spans(6), false).await.unwrap();
        assert_eq!(q.offer(spans(1), false).await, Err(QueueError::Full));
        assert_eq!(
            q.offer(spans(11), false).await,
            Err(QueueError::TooLarge {
                size: 11,
                capacity: 10
            })
        );
        assert_eq!(q.size(), 10);
        assert_eq!(q.take().await.unwrap().data.item_count(), 4);
        assert_eq!(q.size(), 6);
        q.offer(spans(3), false).await.unwrap();
        q.close();
        assert_eq!(q.offer(spans(1), false).await, Err(QueueError::Closed));
        assert_eq!(q.take().await.unwrap().data.item_count(), 6);
        assert_eq!(q.take().await.unwrap().data.item_count(), 3);
        assert!(q.take().await.is_none());
    }

    /// The offer stays pending, with nothing admitted, however long it waits (paused
    /// time: the hour passes at once), until a take frees room; then it completes.
    #[tokio::test(start_paused = true)]
    async fn blocking_offer_waits_for_room() {
        let q = MemoryQueue::new(Sizer::Requests, 1);
        q.offer(spans(1), false).await.unwrap();
        let mut blocked = std::pin::pin!(q.offer(spans(2), true));
        let waited = tokio::time::timeout(Duration::from_secs(3600), &mut blocked).await;
        assert!(waited.is_err(), "offer completed without room: {waited:?}");
        assert_eq!(q.size(), 1, "the blocked batch was admitted over capacity");
        assert_eq!(q.take().await.unwrap().data.item_count(), 1);
        blocked.await.unwrap();
        assert_eq!(q.size(), 1);
        assert_eq!(q.take().await.unwrap().data.item_count(), 2);
    }
}

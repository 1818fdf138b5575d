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

/// What [`Queue::take_stored`] hands out.
#[derive(Debug)]
pub enum Taken {
    /// A decoded batch, as [`Queue::take`] hands it out.
    Entry(Entry),
    /// A batch as a persistent queue stored it (its OTLP export request).
    Stored(crate::persistent::StoredEntry),
}

/// Room held in a queue for the parts of one batch ([`Queue::reserve`]).
///
/// [`Reserved::commit`] makes the parts takeable, in order. Dropping it uncommitted
/// gives the room back, and a persistent queue forgets what it wrote for it: this is
/// how a fan-out refuses a batch in every exporter when one of them has no room.
pub trait Reserved: Send {
    /// Makes the reserved parts takeable, in the order they were given.
    fn commit(self: Box<Self>);
}

/// One part of a batch being reserved: the data and the caller waiting for its
/// result, if it waits (`wait_for_result`).
pub type Part = (Telemetry, Option<Waiter>);

/// A bounded queue of batches between a pipeline and an exporter's senders.
///
/// An entry handed out by [`Queue::take`] is in flight until [`Queue::done`] is called
/// for it: a persistent queue keeps it on disk until then, so a crash re-delivers it.
#[async_trait]
pub trait Queue: Send + Sync + 'static {
    /// Holds room for every part of one batch at once, or refuses them all and hands
    /// them back. With `block`, waits for room instead of refusing when full.
    ///
    /// A part larger than the whole queue is [`QueueError::TooLarge`]. Parts that fit
    /// one by one but not together are admitted when the queue is empty, so a batch
    /// split into many requests is never refused for good.
    async fn reserve(
        &self,
        parts: Vec<Part>,
        block: bool,
    ) -> Result<Box<dyn Reserved>, (QueueError, Vec<Telemetry>)>;

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
    ) -> Result<(), QueueError> {
        match self.reserve(vec![(data, waiter)], block).await {
            Ok(reserved) => {
                reserved.commit();
                Ok(())
            }
            Err((e, _)) => Err(e),
        }
    }

    /// Waits for the next batch; `None` once the queue is closed and empty.
    async fn take(&self) -> Option<Entry>;

    /// Like [`Queue::take`], for a taker that can send a batch as a persistent queue
    /// stored it: such a queue hands it out undecoded ([`Taken::Stored`]). Default:
    /// [`Queue::take`].
    async fn take_stored(&self) -> Option<Taken> {
        self.take().await.map(Taken::Entry)
    }

    /// Marks an entry as finished (delivered, or dropped for good).
    async fn done(&self, token: u64);

    /// Puts an entry that was taken and could not be delivered (its retries ran out)
    /// back into the queue, to be taken again later. Returns `false` when this queue
    /// does not keep undelivered data (the in-memory queue): the caller then marks the
    /// entry done and counts it as failed.
    async fn requeue(&self, _token: u64) -> bool {
        false
    }

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

    /// Items (spans, data points, log records) queued and not yet taken, by signal
    /// (traces, metrics, logs): what an in-memory queue loses when the process stops.
    fn queued_items(&self) -> [u64; 3] {
        [0; 3]
    }
}

/// Whether `parts` of total size `size` may take room in a queue of `capacity` that
/// holds `used`: when they fit, or when the queue is empty and no single part is
/// larger than the queue (checked before).
pub(crate) fn fits(used: usize, size: usize, capacity: usize) -> bool {
    used + size <= capacity || used == 0
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
    shared: std::sync::Arc<Shared>,
}

/// What a [`MemoryQueue`] shares with the room it reserved.
struct Shared {
    state: Mutex<State>,
    not_empty: Notify,
    not_full: Notify,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        match self.state.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }
}

impl MemoryQueue {
    /// A queue holding at most `capacity` units of `sizer`.
    pub fn new(sizer: Sizer, capacity: usize) -> Self {
        MemoryQueue {
            sizer,
            capacity,
            shared: std::sync::Arc::new(Shared {
                state: Mutex::new(State {
                    items: VecDeque::new(),
                    size: 0,
                    closed: false,
                }),
                not_empty: Notify::new(),
                not_full: Notify::new(),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.shared.lock()
    }
}

/// Room held in a [`MemoryQueue`].
struct MemoryReserved {
    queue: std::sync::Arc<Shared>,
    parts: Vec<(Telemetry, usize, Option<Waiter>)>,
    committed: bool,
}

impl Reserved for MemoryReserved {
    fn commit(mut self: Box<Self>) {
        let parts = std::mem::take(&mut self.parts);
        self.committed = true;
        let mut state = self.queue.lock();
        state.items.extend(parts);
        drop(state);
        self.queue.not_empty.notify_one();
    }
}

impl Drop for MemoryReserved {
    fn drop(&mut self) {
        if self.committed {
            return;
        }
        let size: usize = self.parts.iter().map(|(_, s, _)| s).sum();
        self.queue.lock().size -= size;
        self.queue.not_full.notify_waiters();
    }
}

#[async_trait]
impl Queue for MemoryQueue {
    async fn reserve(
        &self,
        parts: Vec<Part>,
        block: bool,
    ) -> Result<Box<dyn Reserved>, (QueueError, Vec<Telemetry>)> {
        let sized: Vec<_> = parts
            .into_iter()
            .map(|(data, waiter)| {
                let size = measure(self.sizer, &data);
                (data, size, waiter)
            })
            .collect();
        let back = |sized: Vec<(Telemetry, usize, Option<Waiter>)>| {
            sized.into_iter().map(|(d, _, _)| d).collect::<Vec<_>>()
        };
        if let Some(size) = sized
            .iter()
            .map(|(_, s, _)| *s)
            .find(|s| *s > self.capacity)
        {
            let e = QueueError::TooLarge {
                size,
                capacity: self.capacity,
            };
            return Err((e, back(sized)));
        }
        let size: usize = sized.iter().map(|(_, s, _)| s).sum();
        let shared = &self.shared;
        loop {
            let wait = shared.not_full.notified();
            {
                let mut state = shared.lock();
                if state.closed {
                    drop(state);
                    return Err((QueueError::Closed, back(sized)));
                }
                if fits(state.size, size, self.capacity) {
                    state.size += size;
                    drop(state);
                    return Ok(Box::new(MemoryReserved {
                        queue: shared.clone(),
                        parts: sized,
                        committed: false,
                    }));
                }
                if !block {
                    drop(state);
                    return Err((QueueError::Full, back(sized)));
                }
            }
            wait.await;
        }
    }

    async fn take(&self) -> Option<Entry> {
        loop {
            let wait = self.shared.not_empty.notified();
            {
                let mut state = self.lock();
                if let Some((data, size, waiter)) = state.items.pop_front() {
                    state.size -= size;
                    let more = !state.items.is_empty();
                    drop(state);
                    self.shared.not_full.notify_waiters();
                    if more {
                        self.shared.not_empty.notify_one();
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

    fn queued_items(&self) -> [u64; 3] {
        let mut items = [0u64; 3];
        for (data, _, _) in &self.lock().items {
            items[signal_index(data.signal())] += data.item_count() as u64;
        }
        items
    }

    fn close(&self) {
        self.lock().closed = true;
        self.shared.not_empty.notify_waiters();
        self.shared.not_full.notify_waiters();
    }
}

/// Index of a signal in [`Queue::queued_items`].
pub(crate) fn signal_index(signal: stratus_core::Signal) -> usize {
    match signal {
        stratus_core::Signal::Traces => 0,
        stratus_core::Signal::Metrics => 1,
        stratus_core::Signal::Logs => 2,
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
